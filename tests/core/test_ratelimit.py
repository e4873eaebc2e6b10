"""The client-side limiter: shared per (base_url, key), never more than N per window."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from parallel_adapters._core._ratelimit import RequestLimiter, budget_for, shared_limiter


def test_one_limiter_per_endpoint_and_key() -> None:
    a = shared_limiter("https://api.parallel.ai", "key-a", 300)
    assert shared_limiter("https://api.parallel.ai", "key-a", 300) is a
    assert shared_limiter("https://api.parallel.ai", "key-b", 300) is not a
    assert shared_limiter("http://127.0.0.1:1", "key-a", 300) is not a
    assert "key-a" not in repr(a)


def test_sync_acquire_waits_for_the_window_once_the_budget_is_spent() -> None:
    limiter = RequestLimiter(600, window_seconds=0.5)  # 5 per half second
    start = time.perf_counter()
    for _ in range(5):
        limiter.acquire()
    assert time.perf_counter() - start < 0.2
    limiter.acquire()
    assert time.perf_counter() - start >= 0.45


def test_threads_share_the_budget() -> None:
    limiter = RequestLimiter(1200, window_seconds=0.5)  # 10 per half second
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.perf_counter())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    # In any half-second window at most 10 of the 20 acquisitions happened.
    for i in range(len(stamps) - 10):
        assert stamps[i + 10] - stamps[i] >= 0.49


def test_async_acquire_does_not_block_the_loop() -> None:
    limiter = RequestLimiter(480, window_seconds=0.5)  # 4 per half second
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> float:
        task = asyncio.create_task(ticker())
        start = time.perf_counter()
        for _ in range(5):
            await limiter.aacquire()
        elapsed = time.perf_counter() - start
        task.cancel()
        return elapsed

    elapsed = asyncio.run(main())
    assert elapsed >= 0.45
    assert ticks >= 20  # the loop kept running while the fifth request waited


# -- the rate holds whatever the window (issue 12, item 12) ----------------------------


@pytest.mark.parametrize(
    ("per_minute", "window"),
    [(10, 1.0), (300, 1.0), (300, 60.0), (7, 0.5), (100, 1.0), (7200, 1.0), (59, 2.0)],
)
def test_the_budget_never_exceeds_the_rate_and_keeps_most_of_it(
    per_minute: int, window: float
) -> None:
    budget = budget_for(per_minute, window)
    allowed_per_minute = budget.limit * 60_000 / budget.interval_ms
    assert allowed_per_minute <= per_minute
    # The arrival slack is all that is given up: 15% of a burst's span, at most 500 ms.
    span_ms = budget.limit * 60_000 / per_minute
    slack_ms = min(500, 0.15 * span_ms)
    assert allowed_per_minute >= per_minute * span_ms / (span_ms + slack_ms + 1)  # ceil
    assert budget.interval_ms > span_ms  # there is a slack on every window
    if span_ms >= 10_000:
        assert allowed_per_minute >= per_minute * 0.95
    # Bursts never exceed the window's share (at least one request).
    assert budget.limit <= max(1, per_minute * window / 60)


def test_the_slack_is_proportional_to_the_window() -> None:
    # A fixed 500 ms slack left 62% of 300 a minute on a 1 s window (issue 22).
    one_second = budget_for(300, 1.0)
    assert one_second.limit == 5
    assert one_second.limit * 60_000 / one_second.interval_ms >= 300 * 0.85
    sixty = budget_for(300, 60.0)
    assert sixty.limit * 60_000 / sixty.interval_ms >= 300 * 0.99


def test_ten_a_minute_on_a_one_second_window_is_one_every_six_seconds() -> None:
    budget = budget_for(10, 1.0)
    assert budget.limit == 1
    assert 6_000 <= budget.interval_ms <= 6_500


# -- the wait is logged once per wait (issue 11, section 5) -----------------------------


def test_a_wait_is_logged_once_with_its_seconds(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RequestLimiter(600, window_seconds=0.2)  # 2 per 0.23 s (0.2 s + 15% slack)
    with caplog.at_level(logging.INFO, logger="parallel_adapters"):
        limiter.acquire()
        limiter.acquire()
        assert not caplog.records  # no wait, nothing said
        limiter.acquire()
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert "rate limit: waiting" in record.getMessage()
    seconds = float(record.getMessage().split("waiting ")[1].split("s")[0])
    assert 0.2 <= seconds <= 0.24


def test_an_async_wait_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RequestLimiter(600, window_seconds=0.2)

    async def main() -> None:
        for _ in range(3):
            await limiter.aacquire()

    with caplog.at_level(logging.INFO, logger="parallel_adapters"):
        asyncio.run(main())
    assert len([r for r in caplog.records if "rate limit: waiting" in r.getMessage()]) == 1


def test_a_hold_stops_every_caller_for_its_length() -> None:
    limiter = RequestLimiter(6000, window_seconds=1.0)
    limiter.hold(0.3)
    start = time.perf_counter()
    limiter.acquire()
    assert time.perf_counter() - start >= 0.29
