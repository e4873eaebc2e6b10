"""Fixtures for the reliability suite: a sentinel-keyed emulator, adapter factories,
resource accounting and the figures that `python -m tests.reliability.report` publishes.

Every request goes to a local emulator whose only accepted key is `SENTINEL_KEY`, so the
secret scans look for a key that really authenticated. Request counts come from the
emulator's log; "nothing left behind" is checked on this process's open file descriptors
(client and server share the process, so both ends of a leaked connection would show).

Set RELIABILITY_REPORT=path.json to have the run write its figures there.
"""

from __future__ import annotations

import gc
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import testing

SENTINEL_KEY = "sk-SENTINEL-0xDEADBEEF-never-print-me"
FAST = {
    "retry_initial_delay": 0.01,
    "retry_max_delay": 0.02,
    "requests_per_minute": None,
}
QUESTION = "What is DSPy?"

# Filled while the suite runs; written out at the end when RELIABILITY_REPORT is set.
FIGURES: Counter[str] = Counter()
MEASURES: dict[str, float] = {}
_STARTED = time.monotonic()


def record(name: str, amount: int = 1) -> None:
    FIGURES[name] += amount


def measure(name: str, value: float) -> None:
    MEASURES[name] = round(value, 2)


def open_fds(collect: bool = True) -> int:
    if collect:
        gc.collect()
    return len(os.listdir("/proc/self/fd"))


def settle_fds(baseline: int, timeout: float = 5.0) -> int:
    """Open fds once the server side has noticed closed connections (or the timeout).

    A full collection is slow with LlamaIndex and DSPy loaded, so it only runs when the
    plain count is above the baseline (an unreferenced client may still hold sockets).
    """
    deadline = time.monotonic() + timeout
    count = open_fds(collect=False)
    while count > baseline:
        count = open_fds()
        if count <= baseline or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return count


def chat_requests(emulator: testing.ParallelEmulator) -> int:
    return sum(1 for entry in emulator.requests if entry.path.endswith("/chat/completions"))


@pytest.fixture(scope="session")
def reliability_emulator() -> Iterator[testing.ParallelEmulator]:
    with testing.ParallelEmulator(api_key=SENTINEL_KEY) as emulator:
        yield emulator


@pytest.fixture
def emulator(reliability_emulator: testing.ParallelEmulator) -> Iterator[testing.ParallelEmulator]:
    """The suite's emulator, reset; its chat requests are added to the figures."""
    emu = reliability_emulator
    emu.reset()
    emu.profile = "documented"
    emu.latency = "fast"
    emu.rate_limit = None
    emu.stall_seconds = 0.6
    yield emu
    record("requests_sent", chat_requests(emu))


@pytest.fixture
def make_chat(emulator: testing.ParallelEmulator) -> Iterator[Callable[..., pa.ParallelChat]]:
    """`make_chat(**options)`: a ParallelChat on the emulator, closed after the test."""
    made: list[pa.ParallelChat] = []

    def make(**options: Any) -> pa.ParallelChat:
        chat = pa.ParallelChat(
            base_url=emulator.base_url, api_key=SENTINEL_KEY, **{**FAST, **options}
        )
        made.append(chat)
        return chat

    yield make
    for chat in made:
        chat.close()


@pytest.fixture(autouse=True)
def _no_pending_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite passes its key explicitly; a developer's real key must never be picked up.
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    monkeypatch.delenv("PARALLEL_BASE_URL", raising=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("RELIABILITY_REPORT")
    if not target:
        return
    figures: dict[str, Any] = {
        "faults_tried": FIGURES["faults_tried"],
        "requests_sent": FIGURES["requests_sent"],
        "answers_expected": FIGURES["answers_expected"],
        "answers_lost": FIGURES["answers_lost"],
        "keys_leaked": FIGURES["keys_leaked"],
        "secret_surfaces_scanned": FIGURES["secret_surfaces_scanned"],
        "bad_inputs_tried": FIGURES["bad_inputs_tried"],
        "bad_inputs_rejected": FIGURES["bad_inputs_rejected"],
        "load": {
            **{k[5:]: v for k, v in FIGURES.items() if k.startswith("load.")},
            **MEASURES,
        },
        "tests_failed": session.testsfailed,
        "tests_collected": session.testscollected,
        "exit_status": int(exitstatus),
        "seconds": round(time.monotonic() - _STARTED, 1),
    }
    Path(target).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
