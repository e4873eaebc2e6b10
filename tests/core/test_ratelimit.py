"""The client-side limiter: shared per (base_url, key), never more than N per window."""

from __future__ import annotations

import asyncio
import threading
import time

from parallel_adapters.core._ratelimit import RequestLimiter, shared_limiter


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
