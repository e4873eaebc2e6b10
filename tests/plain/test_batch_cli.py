"""`parallel-adapters batch`: validation, cost cap, failures, resume, SIGKILL and SIGINT.

Request counts come from the emulator's log. The kill and interrupt tests run the batch as
a subprocess against the emulator in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from parallel_adapters._cli import main
from parallel_adapters.testing import LatencyModel, ParallelEmulator

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")


def _sent(emulator: ParallelEmulator) -> int:
    return sum(1 for e in emulator.requests if e.path.endswith("/chat/completions"))


def _input(tmp_path: Path, lines: list[Any], name: str = "in.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def _questions(n: int) -> list[dict[str, Any]]:
    return [{"id": f"q{i}", "prompt": f"Question {i}: what is HTTP?"} for i in range(n)]


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _batch(emulator: ParallelEmulator, source: Path, output: Path, *extra: str) -> int:
    args = ["batch", str(source), "-o", str(output), "--base-url", emulator.base_url]
    return main([*args, "--requests-per-minute", "100000", "--no-progress", *extra])


# -- before anything is sent -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"prompt": ""}', "'prompt' must be a non-empty string"),
        ("not json", "not JSON"),
        ('["a list"]', "must be a JSON object"),
        ('{"prompt": "x", "messages": []}', "exactly one of"),
        ('{"prompt": "x", "colour": "red"}', "unknown key"),
        ('{"prompt": "x", "id": 1.5}', "id must be a string or an integer"),
        ('{"id": "q0", "prompt": "again"}', "already used on line 1"),
        ('{"messages": [{"role": "wizard", "content": "x"}]}', "in.jsonl:3"),
    ],
)
def test_a_bad_line_is_refused_with_its_number_before_anything_is_sent(
    emulator: ParallelEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad: str,
    message: str,
) -> None:
    source = _input(tmp_path, [*_questions(2), bad])
    output = tmp_path / "out.jsonl"
    assert _batch(emulator, source, output) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "in.jsonl:3" in err
    assert _sent(emulator) == 0
    assert not output.exists()


def test_the_cost_is_printed_and_max_cost_below_it_sends_nothing(
    emulator: ParallelEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, _questions(10))
    output = tmp_path / "out.jsonl"
    assert _batch(emulator, source, output, "--model", "base", "--max-cost", "0.09") == 2
    err = capsys.readouterr().err
    assert "10 calls (10 base): estimated $0.10" in err
    assert "refusing to start" in err
    assert _sent(emulator) == 0
    assert not output.exists()
    assert _batch(emulator, source, output, "--model", "base", "--max-cost", "0.10") == 0
    assert _sent(emulator) == 10


def test_effort_picks_the_responses_model_and_its_price(
    emulator: ParallelEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, _questions(2))
    output = tmp_path / "out.jsonl"
    assert _batch(emulator, source, output, "--effort", "high", "--max-cost", "0.4") == 2
    err = capsys.readouterr().err
    assert "2 parallel-high" in err
    assert "$0.50" in err
    assert _batch(emulator, source, output, "--effort", "high", "--model", "base") == 2
    assert "--effort is for the Responses API" in capsys.readouterr().err
    assert _batch(emulator, source, output, "--effort", "extreme") == 2
    assert _sent(emulator) == 0


def test_an_unpriced_model_cannot_pass_a_cost_cap(
    emulator: ParallelEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, [{"prompt": "x", "model": "mystery"}])
    assert _batch(emulator, source, tmp_path / "o.jsonl", "--max-cost", "100") == 2
    # Every known model has a price, so an unpriced one is an unknown one: refused as such.
    assert "unknown model 'mystery'" in capsys.readouterr().err
    assert _sent(emulator) == 0


# -- failures, resume, schema ----------------------------------------------------------------


def test_one_422_fails_its_item_the_others_land_and_a_rerun_finishes(
    emulator: ParallelEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, _questions(10))
    output = tmp_path / "out.jsonl"
    emulator.inject("422")
    assert _batch(emulator, source, output, "--concurrency", "3") == 1
    err = capsys.readouterr().err
    assert "1 failed" in err
    assert "resume" in err
    records = _records(output)
    failed = [r for r in records if "error" in r]
    assert len(records) == 10
    assert len(failed) == 1
    assert failed[0]["error"]["status_code"] == 422
    assert failed[0]["error"]["type"] == "UnprocessableRequestError"
    answered = [r for r in records if "text" in r]
    assert {"id", "text", "citations", "basis", "interaction_id", "model"} <= set(answered[0])

    assert _batch(emulator, source, output) == 0
    assert _sent(emulator) == 11
    records = _records(output)
    assert sorted(r["id"] for r in records) == sorted(f"q{i}" for i in range(10))
    assert all("text" in r for r in records)
    assert "9 already answered" in capsys.readouterr().err


def test_ids_default_to_line_numbers_and_per_line_models(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    source = _input(
        tmp_path,
        [
            {"prompt": "What is HTTP?"},
            "",
            {"messages": [{"role": "user", "content": "BM25?"}], "model": "base"},
        ],
    )
    output = tmp_path / "out.jsonl"
    assert _batch(emulator, source, output) == 0
    by_id = {r["id"]: r for r in _records(output)}
    assert set(by_id) == {1, 3}
    assert by_id[1]["model"] == "speed"
    assert by_id[3]["model"] == "base"


def test_a_schema_adds_parsed(emulator: ParallelEmulator, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "summary": {"type": "string"}},
        "required": ["name", "summary"],
    }
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema))
    source = _input(tmp_path, _questions(2))
    output = tmp_path / "out.jsonl"
    assert _batch(emulator, source, output, "--model", "base", "--schema", str(schema_file)) == 0
    for record in _records(output):
        assert set(record["parsed"]) == {"name", "summary"}
        assert json.loads(record["text"]) == record["parsed"]
    assert emulator.requests[0].json["response_format"]["type"] == "json_schema"


def test_a_torn_last_line_is_repaired_and_its_item_asked_again(
    emulator: ParallelEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _input(tmp_path, _questions(4))
    output = tmp_path / "out.jsonl"
    assert _batch(emulator, source, output) == 0
    lines = output.read_text().splitlines(keepends=True)
    # A crash mid-write: the last line is cut halfway.
    output.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    emulator.reset()
    assert _batch(emulator, source, output) == 0
    assert "torn last line" in capsys.readouterr().err
    assert _sent(emulator) == 1
    records = _records(output)
    assert sorted(r["id"] for r in records) == ["q0", "q1", "q2", "q3"]


def test_a_429_storm_slows_the_batch_down_and_does_not_fail_it(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    emulator.rate_limit = (5, 0.3)
    source = _input(tmp_path, _questions(20))
    output = tmp_path / "out.jsonl"
    # The client-side limiter is off: the server refuses most of the burst.
    code = main(
        ["batch", str(source), "-o", str(output), "--base-url", emulator.base_url,
         "--concurrency", "8", "--no-progress", "--requests-per-minute", "100000"]
    )  # fmt: skip
    assert code == 0
    statuses = [e.status for e in emulator.requests]
    assert statuses.count(429) > 0
    assert statuses.count(200) == 20
    assert len(_records(output)) == 20


# -- crashes and Ctrl-C, as a subprocess -------------------------------------------------------


def _spawn(emulator: ParallelEmulator, source: Path, output: Path, *extra: str) -> Any:
    env = {**os.environ, "PARALLEL_API_KEY": "test-key", "PYTHONPATH": str(REPO)}
    command = [
        sys.executable, "-m", "parallel_adapters._cli", "batch", str(source), "-o", str(output),
        "--base-url", emulator.base_url, "--requests-per-minute", "100000", "--no-progress",
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_lines(output: Path, count: int, process: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if output.exists() and output.read_bytes().count(b"\n") >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"the batch ended early: {process.communicate()}")
        time.sleep(0.01)
    raise AssertionError("the batch made no progress")


def _parse_every_line(output: Path) -> list[dict[str, Any]]:
    data = output.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.decode().splitlines()]


def test_sigkill_part_way_then_rerun_answers_every_id_exactly_once(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    total, concurrency = 120, 4
    emulator.latency = LatencyModel.fixed(ttft=0.05)
    source = _input(tmp_path, _questions(total))
    output = tmp_path / "out.jsonl"
    process = _spawn(emulator, source, output, "--concurrency", str(concurrency))
    _wait_for_lines(output, 30, process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    answered = len([r for r in _parse_every_line(output) if "text" in r])
    sent_before = _sent(emulator)
    missing = total - answered
    assert 30 <= answered < total

    process = _spawn(emulator, source, output, "--concurrency", str(concurrency))
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    new = _sent(emulator) - sent_before
    records = _parse_every_line(output)
    ids = [r["id"] for r in records if "text" in r]
    assert sorted(ids) == sorted(f"q{i}" for i in range(total))  # exactly once each
    assert len(records) == total
    assert new <= missing + concurrency
    assert new == missing  # the rerun itself asks nothing twice
    assert _sent(emulator) <= total + concurrency  # paid twice: at most what was in flight
    print(
        f"\nkill-and-resume: {total} items, concurrency {concurrency}: {answered} answered "
        f"before SIGKILL, {sent_before - answered} in flight lost, rerun sent {new} "
        f"(missing {missing}), total {_sent(emulator)} requests for {total} answers"
    )


def test_sigint_stops_sending_waits_for_what_is_in_flight_and_says_how_to_resume(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    total, concurrency = 40, 4
    emulator.latency = LatencyModel.fixed(ttft=0.3)
    source = _input(tmp_path, _questions(total))
    output = tmp_path / "out.jsonl"
    process = _spawn(emulator, source, output, "--concurrency", str(concurrency))
    _wait_for_lines(output, 4, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "resume" in err
    assert "parallel-adapters batch" in err
    records = _records(output)
    # Every request that went out was waited for and written: nothing paid for was lost.
    assert len(records) == _sent(emulator) < total
    assert all("text" in r for r in records)

    process = _spawn(emulator, source, output, "--concurrency", str(concurrency))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert _sent(emulator) == total
    assert sorted(r["id"] for r in _records(output)) == sorted(f"q{i}" for i in range(total))
