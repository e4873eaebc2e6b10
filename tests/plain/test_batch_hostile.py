"""`parallel-adapters batch` and `map(journal=)` on a hostile day: a server asking to come
back tomorrow, an input file edited between runs, numbers that are not budgets, a store
that dies, a disk that fills up, line separators inside JSON strings.

The CLI runs as a subprocess against the emulator in this process (or a real redis-server),
so a hang fails the test through `communicate(timeout=...)` instead of stalling the suite.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters.testing import EmulatorRequest, LatencyModel, ParallelEmulator

from ..hostile import Exchange, HostileServer, answer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")


def _sent(emulator: ParallelEmulator) -> int:
    return sum(1 for e in emulator.requests if e.path.endswith("/chat/completions"))


def _input(tmp_path: Path, lines: list[Any], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_bytes(text.encode("utf-8"))
    return path


def _questions(n: int) -> list[dict[str, Any]]:
    return [{"id": f"q{i}", "prompt": f"Question {i}: what is HTTP?"} for i in range(n)]


def _records(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    whole = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in whole.decode("utf-8").split("\n") if line]


def _command(
    emulator: ParallelEmulator | str, source: Path, output: Path, *extra: str
) -> list[str]:
    base_url = emulator if isinstance(emulator, str) else emulator.base_url
    return [
        sys.executable, "-m", "parallel_adapters._cli", "batch", str(source), "-o", str(output),
        "--base-url", base_url, "--requests-per-minute", "100000", "--no-progress", *extra,
    ]  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PARALLEL_API_KEY": "test-key", "PYTHONPATH": str(REPO), **extra}
    env.pop("PARALLEL_RATE_LIMIT_STORE", None)
    env.update(extra)
    return env


def _spawn(command: list[str], env: dict[str, str] | None = None, **options: Any) -> Any:
    return subprocess.Popen(
        command,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def _run(command: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    process = _spawn(command, env)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def _wait_for_lines(output: Path, count: int, process: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if output.exists() and output.read_bytes().count(b"\n") >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"the batch ended early: {process.communicate()}")
        time.sleep(0.01)
    raise AssertionError("the batch made no progress")


# -- input ------------------------------------------------------------------------------------


def test_lines_are_split_on_newline_only(emulator: ParallelEmulator, tmp_path: Path) -> None:
    # U+2028, U+2029 and U+0085 are legal, raw, inside a JSON string; an editor shows the
    # file as 3 lines, and the default ids must be those line numbers.
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        b'{"prompt": "What is \xe2\x80\xa8 HTTP?"}\n'
        b'{"prompt": "What is \xe2\x80\xa9 BM25?"}\r\n'
        b'{"prompt": "What is \xc2\x85 DSPy?"}\n'
    )
    output = tmp_path / "out.jsonl"
    code, err = _run(_command(emulator, source, output))
    assert code == 0, err
    assert sorted(r["id"] for r in _records(output)) == [1, 2, 3]
    prompts = [e.json["messages"][-1]["content"] for e in emulator.requests]
    assert sorted(prompts) == [
        "What is \u0085 DSPy?",
        "What is \u2028 HTTP?",
        "What is \u2029 BM25?",
    ]


# -- numbers that are not budgets ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "-1", "NaN", "1e400"])
def test_max_cost_that_is_not_a_budget_is_refused_and_nothing_is_sent(
    emulator: ParallelEmulator, tmp_path: Path, bad: str
) -> None:
    source = _input(tmp_path, [{"prompt": "x", "model": "core"}] * 3)
    output = tmp_path / "out.jsonl"
    code, err = _run(_command(emulator, source, output, f"--max-cost={bad}"))
    assert code == 2, err
    assert "--max-cost" in err
    assert "a finite number of dollars, 0 or more" in err
    assert _sent(emulator) == 0
    assert not output.exists()


@pytest.mark.parametrize(
    "option", ["rate_limit_window", "max_retry_after", "retry_initial_delay", "retry_max_delay"]
)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_a_rate_budget_that_is_not_a_number_is_refused_in_python(
    emulator: ParallelEmulator, option: str, bad: float
) -> None:
    with pytest.raises(pa.InputError, match=option):
        pa.ParallelChat(base_url=emulator.base_url, api_key="test-key", **{option: bad})
    assert _sent(emulator) == 0


@pytest.mark.parametrize("bad", ["nan", "inf", "-1", "0"])
def test_a_rate_or_timeout_that_is_not_a_number_is_refused_by_the_cli(
    emulator: ParallelEmulator, tmp_path: Path, bad: str
) -> None:
    source = _input(tmp_path, _questions(2))
    output = tmp_path / "out.jsonl"
    command = _command(emulator, source, output)
    command[command.index("--requests-per-minute") + 1] = bad
    code, err = _run(command)
    assert code == 2, err
    assert "requests" in err and "per" in err
    code, err = _run(_command(emulator, source, output, f"--timeout={bad}"))
    assert code == 2, err
    assert "timeout" in err
    assert "Traceback" not in err
    assert _sent(emulator) == 0
    assert not output.exists()


# -- the server says "come back tomorrow" -------------------------------------------------------


class ComeBackTomorrow:
    """Answers after a short think, except request number `refuse_at`: a 429 asking to
    wait `retry_after` (the header's text). Records what it did."""

    def __init__(self, retry_after: str, refuse_at: int = 3) -> None:
        self.retry_after, self.refuse_at = retry_after, refuse_at
        self.statuses: list[int] = []
        self._count = itertools.count()

    def __call__(self, exchange: Exchange) -> None:
        if next(self._count) == self.refuse_at:
            self.statuses.append(429)
            body = json.dumps({"error": {"message": "come back tomorrow"}}).encode()
            exchange.respond(
                429, "application/json", body, headers=[("retry-after", self.retry_after)]
            )
            return
        time.sleep(0.2)
        self.statuses.append(200)
        answer(exchange, "An answer.")


@pytest.mark.parametrize("retry_after", ["86400", "inf"])
def test_a_retry_after_over_the_cap_stops_the_batch_in_seconds_and_resumes(
    tmp_path: Path, retry_after: str
) -> None:
    source = _input(tmp_path, _questions(20))
    output = tmp_path / "out.jsonl"
    server = ComeBackTomorrow(retry_after)
    with HostileServer(server) as hostile:
        process = _spawn(_command(hostile.base_url, source, output, "--concurrency", "4"))
        _, err = process.communicate(timeout=30)  # it used to sleep for a day
    assert process.returncode == 1, err
    shown = "86,400s" if retry_after == "86400" else "an unbounded time"
    assert f"the server asked to wait {shown}" in err
    assert "max_retry_after" in err
    assert "resume (skips the answered, retries the rest): parallel-adapters batch" in err
    records = _records(output)
    # Stopped sending; what was in flight finished and was written; nothing was journaled
    # as a failure of a question the server never answered.
    assert server.statuses.count(429) == 1
    assert len(records) == server.statuses.count(200) < 20
    assert all("text" in r for r in records)

    server = ComeBackTomorrow(retry_after, refuse_at=-1)
    with HostileServer(server) as hostile:
        process = _spawn(_command(hostile.base_url, source, output, "--concurrency", "8"))
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert sorted(r["id"] for r in _records(output)) == sorted(f"q{i}" for i in range(20))
    assert server.statuses.count(200) == 20 - len(records)


def test_map_with_a_journal_raises_on_a_retry_after_over_the_cap(tmp_path: Path) -> None:
    journal = tmp_path / "answers.jsonl"
    questions = [f"Question {i}?" for i in range(12)]
    outcome: list[BaseException] = []
    with HostileServer(ComeBackTomorrow("86400")) as hostile:
        chat = pa.ParallelChat(base_url=hostile.base_url, requests_per_minute=100_000)

        def run() -> None:
            try:
                chat.map(questions, journal=journal, concurrency=3)
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=30)
        chat.close()
    assert not worker.is_alive(), "map slept through a Retry-After of a day"
    (error,) = outcome
    assert isinstance(error, pa.BatchError)
    assert isinstance(error.__cause__, pa.RateLimitError)
    assert "86,400s" in str(error)
    assert error.not_started
    written = _records(journal)
    assert all("text" in r for r in written)
    assert len(written) == len(error.succeeded)


def test_a_first_ctrl_c_ends_any_wait_at_once(emulator: ParallelEmulator, tmp_path: Path) -> None:
    # A Retry-After under the cap: the client waits it out in its own retry, and holds
    # every other request back for as long. Ctrl-C must not wait for either.
    emulator.latency = LatencyModel.fixed(ttft=0.05)
    emulator.inject("429-retry-after;retry_after=50", times=20)
    source = _input(tmp_path, _questions(10))
    output = tmp_path / "out.jsonl"
    process = _spawn(_command(emulator, source, output, "--concurrency", "2"))
    deadline = time.monotonic() + 20
    while 429 not in [e.status for e in emulator.requests]:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, [e.status for e in emulator.requests]
        time.sleep(0.01)
    time.sleep(0.5)  # now in the 50 s waits
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "resume" in err


# -- failures that are not the question's fault ------------------------------------------------


def test_a_redis_store_killed_mid_run_stops_the_batch_and_a_resume_finishes(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    import redis

    from bench._redis_server import redis_server

    total = 40
    emulator.latency = LatencyModel.fixed(ttft=0.1)
    source = _input(tmp_path, _questions(total))
    output = tmp_path / "out.jsonl"
    with redis_server() as url:
        client = redis.Redis.from_url(url)
        pid = int(client.info("server")["process_id"])
        client.close()
        process = _spawn(
            _command(emulator, source, output, "--concurrency", "4"),
            _env(PARALLEL_RATE_LIMIT_STORE=url),
        )
        _wait_for_lines(output, 8, process)
        os.kill(pid, signal.SIGKILL)  # the store dies mid-run
        _, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    assert "stopped sending: the rate-limit store redis://127.0.0.1:" in err
    assert "resume (skips the answered, retries the rest)" in err
    assert "Traceback" not in err
    records = _records(output)
    # Every answer that arrived was written; no question was journaled as failed.
    assert all("text" in r for r in records)
    assert len(records) == _sent(emulator) < total

    with redis_server() as url:  # a new store; the resume completes the rest
        code, err = _run(
            _command(emulator, source, output, "--concurrency", "4"),
            _env(PARALLEL_RATE_LIMIT_STORE=url),
        )
    assert code == 0, err
    ids = [r["id"] for r in _records(output)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(total))  # every id exactly once
    assert _sent(emulator) == total  # nothing asked twice


def _limit_file_size(limit: int) -> Any:
    def limit_it() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill

    return limit_it


def test_a_full_disk_stops_cleanly_and_a_resume_repairs_the_torn_line(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    emulator.responder = lambda request: "A fixed answer, the same length every time."
    ids = [f"q{i}" for i in range(10, 30)]  # same length too: every line is as long
    source = _input(tmp_path, [{"id": i, "prompt": f"What is {i}?"} for i in ids])
    one = tmp_path / "one.jsonl"
    code, err = _run(_command(emulator, _input(tmp_path, [{"id": "q99", "prompt": "x"}], "1"), one))
    assert code == 0, err
    line = one.stat().st_size
    limit = 5 * line + line // 2  # five lines and half of the sixth fit
    emulator.reset()

    output = tmp_path / "out.jsonl"
    command = _command(emulator, source, output, "--concurrency", "2")
    process = _spawn(command, preexec_fn=_limit_file_size(limit))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 1, err
    assert output.stat().st_size == limit
    assert "Traceback" not in err
    assert "never retrieved" not in err
    # One line naming the file and the error, then the summary and the resume command.
    lines = err[err.index("error:") :].strip().split("\n")
    assert lines[0] == f"error: cannot write to {output}: [Errno 27] File too large"
    assert lines[1].startswith("done: 5 of 20 answered")
    assert "could not be written" in lines[2]
    assert lines[-1].startswith("resume (skips the answered, retries the rest):")
    assert all(line.startswith("cost: spent") for line in lines[3:-1])

    code, err = _run(command)
    assert code == 0, err
    assert "cut off a torn last line" in err
    records = _records(output)
    assert sorted(r["id"] for r in records) == ids  # every id exactly once
    assert all("text" in r for r in records)


# -- an input file edited between runs -----------------------------------------------------------


def _echo(request: EmulatorRequest) -> str:
    return f"The answer to: {request.question}"


def test_a_question_changed_under_its_id_is_refused_then_reasked_on_request(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    emulator.responder = _echo
    output = tmp_path / "out.jsonl"
    source = _input(tmp_path, [{"prompt": "Japan?"}, {"prompt": "France?"}])
    code, err = _run(_command(emulator, source, output))
    assert code == 0, err
    # A blank line inserted at the top: the default ids (line numbers) now name other
    # questions. Id 2 was "France?" and is "Japan?" now; id 3 is new.
    source = _input(tmp_path, ["", {"prompt": "Japan?"}, {"prompt": "France?"}])
    before = output.read_bytes()
    code, err = _run(_command(emulator, source, output))
    assert code == 2, err
    assert "the question changed for 1 id(s) already answered" in err
    assert "line 2 (id 2)" in err
    assert "--reask-changed" in err
    assert "nothing was sent" in err
    assert _sent(emulator) == 2
    assert output.read_bytes() == before

    code, err = _run(_command(emulator, source, output, "--reask-changed"))
    assert code == 0, err
    assert _sent(emulator) == 4  # id 2 asked again, id 3 asked
    by_id = {r["id"]: r["text"] for r in _records(output)}
    assert by_id == {
        1: "The answer to: Japan?",  # still in the file, no longer in the input
        2: "The answer to: Japan?",
        3: "The answer to: France?",
    }
    assert len(_records(output)) == 3  # the old answer of id 2 was superseded
    assert "The answer to: France?" not in {by_id[1], by_id[2]}

    code, err = _run(_command(emulator, source, output))  # nothing changed now
    assert code == 0, err
    assert _sent(emulator) == 4


def test_map_refuses_a_changed_question_unless_told_to_reask(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    emulator.responder = _echo
    journal = tmp_path / "answers.jsonl"
    with pa.ParallelChat(base_url=emulator.base_url, requests_per_minute=None) as chat:
        chat.map(["Japan?", "France?"], journal=journal)
        with pytest.raises(pa.InputError, match=r"ids \[0, 1\].*reask_changed=True"):
            chat.map(["France?", "Japan?"], journal=journal)
        with pytest.raises(pa.InputError, match="reask_changed=True"):
            chat.map(["Japan?", "France?"], journal=journal, model="base")
        assert _sent(emulator) == 2
        answers = chat.map(["France?", "Japan?"], journal=journal, reask_changed=True)
        assert [a.text for a in answers] == ["The answer to: France?", "The answer to: Japan?"]
        again = chat.map(["France?", "Japan?"], journal=journal)
    assert [a.text for a in again] == [a.text for a in answers]
    assert _sent(emulator) == 4
    # One line per id, each with the answer to its own question; the lines' order is the
    # order the two concurrent answers arrived in, which is not fixed.
    by_id = {r["id"]: r["text"] for r in _records(journal)}
    assert len(_records(journal)) == 2
    assert by_id == {0: "The answer to: France?", 1: "The answer to: Japan?"}


def test_a_first_ctrl_c_ends_the_waits_of_map_threads_too(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    emulator.latency = LatencyModel.fixed(ttft=0.05)
    emulator.inject("429-retry-after;retry_after=50", times=20)
    journal = tmp_path / "answers.jsonl"
    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def interrupt_once_waiting() -> None:
        deadline = time.monotonic() + 20
        while 429 not in [e.status for e in emulator.requests]:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(0.5)  # now in the 50 s waits: a retry's, and the others' for a slot
        signal.pthread_kill(main_thread, signal.SIGINT)  # a real Ctrl-C

    threading.Thread(target=interrupt_once_waiting, daemon=True).start()
    chat = pa.ParallelChat(base_url=emulator.base_url, requests_per_minute=100_000)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        chat.map([f"Question {i}?" for i in range(10)], journal=journal, concurrency=2)
    chat.close()
    assert time.monotonic() - start < 20, "Ctrl-C waited out a 50 s Retry-After"
    assert all("text" in r for r in _records(journal))  # nothing journaled as failed
