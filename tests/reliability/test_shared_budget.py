"""Many processes, one key, one budget: `rate_limit_store` against the emulator's limit.

Real worker processes (`bench/_budget_worker.py`, half on threads, half on asyncio) share a key
against a server that allows LIMIT requests per WINDOW seconds, each configured with that
same limit, as a deployment would be. Through SQLite and through a real Redis, the server
refuses nothing and the budget is used to at least 90%; with `memory` (each process
believing it has the whole budget) the server does refuse, which shows the test can fail.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from parallel_adapters import testing

from .conftest import SENTINEL_KEY, measure, record

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMIT, WINDOW = 50, 10.0  # the server's limit, and each worker's
PROCESSES, EACH = 4, 25


def _spawn(emulator: testing.ParallelEmulator, store: str, index: int, each: int) -> Any:
    cfg = {
        "base_url": emulator.base_url,
        "store": store,
        "rpm": int(LIMIT * 60 / WINDOW),
        "window": WINDOW,
        "requests": each,
        "concurrency": 4,
        "mode": "async" if index % 2 else "sync",
        "index": index,
    }
    env = {
        **os.environ,
        "PARALLEL_API_KEY": SENTINEL_KEY,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bench._budget_worker", json.dumps(cfg)],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _start(emulator: testing.ParallelEmulator, processes: list[Any]) -> None:
    for process in processes:
        line = process.stdout.readline()
        assert line.strip() == "ready", f"a worker failed to start: {line!r}"
    emulator.reset()  # forget the warm-up requests
    emulator.rate_limit = (LIMIT, WINDOW)
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()


def _finish(process: Any) -> dict[str, Any]:
    out, _ = process.communicate(timeout=120)
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary


def _server_view(emulator: testing.ParallelEmulator) -> tuple[list[int | None], float]:
    """Statuses, and the share of the limit used: LIMIT over the mean time between
    request i and request i - LIMIT at the server (100% = each arrives the moment the
    sliding window allows it)."""
    entries = [e for e in emulator.requests if e.path.endswith("/chat/completions")]
    arrivals = sorted(e.time for e in entries if e.status == 200)
    spans = [arrivals[i] - arrivals[i - LIMIT] for i in range(LIMIT, len(arrivals))]
    share = WINDOW / statistics.fmean(spans) if spans else 0.0
    return [e.status for e in entries], share


def _run(
    emulator: testing.ParallelEmulator, store: str
) -> tuple[list[dict[str, Any]], list[int | None], float]:
    emulator.rate_limit = (LIMIT, WINDOW)
    processes = [_spawn(emulator, store, i, EACH) for i in range(PROCESSES)]
    _start(emulator, processes)
    summaries = [_finish(p) for p in processes]
    statuses, share = _server_view(emulator)
    return summaries, statuses, share


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_processes_sharing_a_store_get_no_429_and_use_the_budget(
    emulator: testing.ParallelEmulator, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    store = (
        f"sqlite://{tmp_path / 'budget.db'}"
        if kind == "sqlite"
        else _fresh_redis(request.getfixturevalue("redis_url"))
    )
    summaries, statuses, share = _run(emulator, store)
    record(f"shared_budget.{kind}.429s", statuses.count(429))
    measure(f"shared_budget_{kind}_share", share)
    print(f"{kind}: {statuses.count(429)} x 429, share of the budget {share:.1%}")
    assert [s["errors"] for s in summaries] == [[]] * PROCESSES
    assert statuses.count(429) == 0
    assert statuses.count(200) == PROCESSES * EACH
    assert share >= 0.90


def test_the_control_with_memory_sees_429s(emulator: testing.ParallelEmulator) -> None:
    summaries, statuses, _ = _run(emulator, "memory")
    print(f"memory: {statuses.count(429)} x 429 of {len(statuses)}")
    assert statuses.count(429) > 0
    assert sum(s["errors"].count("RateLimitError") for s in summaries) == statuses.count(429)


def _fresh_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_a_worker_killed_mid_run_leaks_nothing(
    emulator: testing.ParallelEmulator, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    store = (
        f"sqlite://{tmp_path / 'budget.db'}"
        if kind == "sqlite"
        else _fresh_redis(request.getfixturevalue("redis_url"))
    )
    emulator.rate_limit = (LIMIT, WINDOW)
    processes = [_spawn(emulator, store, i, EACH) for i in range(3)]
    _start(emulator, processes)
    deadline = time.monotonic() + 30
    while len(emulator.requests) < LIMIT + 2:  # the victim is in its second window
        assert time.monotonic() < deadline, "the workers never got going"
        time.sleep(0.01)
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    survivors = [_finish(p) for p in processes[1:]]
    statuses, _ = _server_view(emulator)
    assert [s["errors"] for s in survivors] == [[], []]
    assert [s["ok"] for s in survivors] == [EACH, EACH]
    assert statuses.count(429) == 0
