"""`parallel-adapters batch` and `map(journal=)` on a hostile day: a server asking to come
back tomorrow, an input file edited between runs, numbers that are not budgets, a store
that dies, a disk that fills up, line separators inside JSON strings.

The CLI runs as a subprocess against the emulator in this process (or a real redis-server),
so a hang fails the test through `communicate(timeout=...)` instead of stalling the suite.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters.testing import EmulatorRequest, LatencyModel, ParallelEmulator

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
    assert sorted(prompts) == ["What is \u0085 DSPy?", "What is \u2028 HTTP?", "What is \u2029 BM25?"]


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
