"""The latency model: time to first token, gaps between chunks, and concurrency."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
import openai
import pytest

from parallel_adapters.testing import LatencyModel, ParallelEmulator

from .support import ask, body


def _warm_up(client: openai.OpenAI) -> None:
    # The SDK's first request in a process pays for lazy imports; keep that out of timings.
    client.chat.completions.create(model="speed", messages=ask())


def test_fixed_latency_shapes_a_stream(client: openai.OpenAI, emulator: ParallelEmulator) -> None:
    _warm_up(client)
    emulator.latency = LatencyModel.fixed(ttft=0.2, chunk_interval=0.02)
    started = time.monotonic()
    arrivals = []
    for _ in client.chat.completions.create(model="speed", messages=ask(), stream=True):
        arrivals.append(time.monotonic() - started)

    assert 0.2 <= arrivals[0] < 0.5
    gaps = sorted(b - a for a, b in itertools.pairwise(arrivals))
    # Chunks are spaced, not sent in one burst (the median tolerates a few reads that a busy
    # machine coalesced).
    assert gaps[len(gaps) // 2] >= 0.015
    assert arrivals[-1] >= 0.2 + 0.02 * (len(arrivals) - 1) * 0.9


def test_non_streaming_answer_waits_for_the_whole_generation(
    client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    _warm_up(client)
    emulator.latency = LatencyModel.fixed(ttft=0.1, chunk_interval=0.01)
    started = time.monotonic()
    completion = client.chat.completions.create(model="speed", messages=ask())
    elapsed = time.monotonic() - started
    pieces = len((completion.choices[0].message.content or "").split())
    assert elapsed >= 0.1 + 0.01 * (pieces - 1)


def test_per_model_latency(client: openai.OpenAI, emulator: ParallelEmulator) -> None:
    _warm_up(client)
    emulator.latency = LatencyModel(ttft={"core": 0.3})
    started = time.monotonic()
    client.chat.completions.create(model="speed", messages=ask())
    fast = time.monotonic() - started
    client.chat.completions.create(model="core", messages=ask())
    slow = time.monotonic() - started - fast
    assert fast < 0.2 <= 0.3 <= slow


async def test_waiting_requests_do_not_queue_behind_each_other(
    emulator: ParallelEmulator,
) -> None:
    emulator.latency = LatencyModel.fixed(ttft=0.3)
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(
        base_url=emulator.base_url,
        headers={"authorization": "Bearer test-key"},
        limits=limits,
        timeout=10,
    ) as http:
        started = time.monotonic()
        responses = await asyncio.gather(
            *(http.post("/chat/completions", json=body()) for _ in range(64))
        )
        elapsed = time.monotonic() - started
    assert {r.status_code for r in responses} == {200}
    # Serialised, 64 x 0.3 s would take 19 s; the bound leaves room for a loaded CI machine.
    assert elapsed < 6.0


def test_realistic_preset_uses_the_documented_times() -> None:
    realistic = LatencyModel.realistic()
    documented = {"speed": (2.5, 3.5), "lite": (10, 60), "base": (15, 100), "core": (60, 300)}
    for model, (low, high) in documented.items():
        waits = {realistic.first_token(model, seed) for seed in range(0, 100_000, 997)}
        assert low <= min(waits) and max(waits) <= high
        assert max(waits) - min(waits) > (high - low) / 2  # spread over the range
    assert realistic.first_token("lite", 42) == realistic.first_token("lite", 42)


def test_stop_cuts_off_slow_answers() -> None:
    emulator = ParallelEmulator(latency="realistic").start()
    with (
        openai.OpenAI(
            base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=0.2
        ) as sdk,
        pytest.raises(openai.APITimeoutError),
    ):
        sdk.chat.completions.create(model="core", messages=ask())  # 60 s or more
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 1.0


def test_latency_presets_by_name(emulator: ParallelEmulator) -> None:
    emulator.latency = "realistic"
    assert emulator.latency.first_token("speed", 0) >= 2.5
    emulator.latency = "fast"
    assert emulator.latency == LatencyModel.fast()
    with pytest.raises(ValueError, match="latency"):
        LatencyModel.of("slow")  # type: ignore[arg-type]
