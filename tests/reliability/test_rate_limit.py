"""The client-side limiter keeps a burst under a server enforcing the same limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

import parallel_adapters as pa
from parallel_adapters import testing

from .conftest import measure, record

BURST = 600
PER_SECOND = 120  # the server's limit, and the client's: 7,200 a minute over 1 s windows


def _statuses(emulator: testing.ParallelEmulator) -> list[int | None]:
    return [e.status for e in emulator.requests if e.path.endswith("/chat/completions")]


def test_a_burst_of_600_with_the_limiter_on_gets_no_429(
    emulator: testing.ParallelEmulator, make_chat: Callable[..., pa.ParallelChat]
) -> None:
    emulator.rate_limit = (PER_SECOND, 1.0)
    chat = make_chat(max_retries=0, requests_per_minute=PER_SECOND * 60, rate_limit_window=1.0)
    start = time.perf_counter()
    results = asyncio.run(
        chat.amap([f"burst {i}" for i in range(BURST)], concurrency=16, return_exceptions=True)
    )
    elapsed = time.perf_counter() - start
    statuses = _statuses(emulator)
    record("load.rate_limited_burst", BURST)
    record("load.rate_limited_429s", statuses.count(429))
    measure("rate_limited_burst_seconds", elapsed)
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(statuses) == BURST
    assert statuses.count(429) == 0
    # The limit was really binding: 600 at 120/s cannot finish in much under 4 s.
    assert elapsed >= BURST / PER_SECOND - 1.2


def test_without_the_limiter_the_same_server_does_answer_429(
    emulator: testing.ParallelEmulator, make_chat: Callable[..., pa.ParallelChat]
) -> None:
    # The control for the test above: the server's limit is real and a burst trips it.
    emulator.rate_limit = (30, 1.0)
    chat = make_chat(max_retries=0, requests_per_minute=None)
    results = chat.map([f"burst {i}" for i in range(120)], concurrency=16, return_exceptions=True)
    limited = [r for r in results if isinstance(r, pa.RateLimitError)]
    assert limited, "the server's limit was never reached"
    assert all(r.retry_after is not None and r.retry_after > 0 for r in limited)
    assert _statuses(emulator).count(429) == len(limited)


@pytest.mark.parametrize("concurrency", [8])
def test_the_limiter_also_holds_for_threads(
    emulator: testing.ParallelEmulator,
    make_chat: Callable[..., pa.ParallelChat],
    concurrency: int,
) -> None:
    emulator.rate_limit = (40, 0.5)
    chat = make_chat(max_retries=0, requests_per_minute=40 * 120, rate_limit_window=0.5)
    results = chat.map(
        [f"t {i}" for i in range(200)], concurrency=concurrency, return_exceptions=True
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    assert _statuses(emulator).count(429) == 0
