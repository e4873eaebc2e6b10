"""Scenario 3: async requests per second with a fixed number in flight."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from bench._contenders import THROUGHPUT, AsyncBuilder, AsyncCall
from bench._emulator import EmulatorProcess, Endpoint
from bench._settings import Settings
from bench._timing import Stats, paired, rotations


async def _drive(call: AsyncCall, total: int, concurrency: int) -> None:
    """`concurrency` workers taking requests until `total` have been sent."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _one_run(
    build: AsyncBuilder, endpoint: Endpoint, total: int, concurrency: int
) -> tuple[float, float]:
    """(requests per second, client CPU milliseconds per request) for one fresh event loop."""
    async with build(endpoint) as call:
        # Untimed: builds the loop's clients and opens the connection pool.
        await _drive(call, 2 * concurrency, concurrency)
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        await _drive(call, total, concurrency)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return total / wall, cpu * 1000 / total


def _level(
    endpoint: Endpoint, total: int, concurrency: int, repeats: int, log: Any
) -> list[dict[str, Any]]:
    rps: dict[str, list[float]] = {c.key: [] for c in THROUGHPUT}
    cpu: dict[str, list[float]] = {c.key: [] for c in THROUGHPUT}
    builders = {c.key: c.build for c in THROUGHPUT}
    for build in builders.values():  # warm-up: imports, first connections
        asyncio.run(_one_run(build, endpoint, 2 * concurrency, concurrency))
    for repeat, key in rotations(list(builders), repeats):
        per_second, cpu_ms = asyncio.run(_one_run(builders[key], endpoint, total, concurrency))
        rps[key].append(per_second)
        cpu[key].append(cpu_ms)
        if key == THROUGHPUT[0].key:
            log(f"  {concurrency} in flight, repeat {repeat + 1}/{repeats}: {per_second:.0f} req/s")
    floor = rps[THROUGHPUT[0].key]
    return [
        {
            "key": c.key,
            "label": c.label,
            "kind": c.kind,
            "requests_per_second": Stats.of(rps[c.key]).as_dict(),
            "ratio_to_floor": paired(rps[c.key], floor, ratio=True).as_dict(),
            "client_cpu_ms_per_request": Stats.of(cpu[c.key]).as_dict(),
        }
        for c in THROUGHPUT
    ]


def run(settings: Settings, log: Any) -> dict[str, Any]:
    total = settings.throughput_requests
    with EmulatorProcess(ttft=settings.throughput_latency) as endpoint:
        main = _level(
            endpoint, total, settings.throughput_concurrency, settings.throughput_repeats, log
        )
        low, low_total = settings.throughput_low_concurrency, settings.throughput_low_requests
        secondary = (
            _level(endpoint, low_total, low, settings.throughput_low_repeats, log) if low else []
        )
    data: dict[str, Any] = {
        "title": "Async throughput",
        "server": {"latency_s": settings.throughput_latency},
        "requests": total,
        "concurrency": settings.throughput_concurrency,
        "repeats": settings.throughput_repeats,
        "contenders": main,
    }
    if secondary:
        data["low_concurrency"] = {
            "concurrency": low,
            "requests": low_total,
            "repeats": settings.throughput_low_repeats,
            "contenders": secondary,
        }
    return data
