"""Scenario 1: milliseconds per non-streaming call at zero server latency."""

from __future__ import annotations

import gc
import statistics
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from bench._contenders import OVERHEAD, QUESTION, RESPONSES, TRACING, Contender, SyncCall
from bench._emulator import EmulatorProcess
from bench._profile import profile_calls
from bench._settings import Settings
from bench._sockets import SocketLog
from bench._timing import Stats, paired, rotations


def _split(calls: dict[str, SyncCall], count: int) -> dict[str, dict[str, float]]:
    """Median ms per call of the client's own time and the server's, per contender;
    one call at a time, round-robin, so a busy moment hits every contender alike."""
    log = SocketLog()
    client: dict[str, list[float]] = {key: [] for key in calls}
    server: dict[str, list[float]] = {key: [] for key in calls}
    with log.installed():
        for _, key in rotations(list(calls), count):
            log.clear()
            start = perf_counter()
            calls[key]()
            total = (perf_counter() - start) * 1000
            waited = log.server_ms(start)
            if waited is not None:
                server[key].append(waited)
                client[key].append(total - waited)
    return {
        key: {
            "client_ms": statistics.median(client[key]),
            "server_ms": statistics.median(server[key]),
        }
        for key in calls
        if client[key]
    }


def run(
    settings: Settings,
    profiles_dir: Path | None,
    log: Any,
    contenders: list[Contender] = OVERHEAD,
    *,
    name: str = "overhead",
    title: str = "Per-call overhead, non-streaming, zero server latency",
) -> dict[str, Any]:
    with EmulatorProcess() as endpoint:
        calls: dict[str, SyncCall] = {}
        for contender in contenders:
            calls[contender.key] = contender.build(endpoint)
            for _ in range(settings.overhead_warmup):
                calls[contender.key]()
        per_call: dict[str, list[float]] = {key: [] for key in calls}
        for repeat, key in rotations(list(calls), settings.overhead_repeats):
            call = calls[key]
            gc.collect()
            start = perf_counter()
            for _ in range(settings.overhead_calls):
                call()
            per_call[key].append((perf_counter() - start) * 1000 / settings.overhead_calls)
            if key == next(iter(calls)):
                log(f"  repeat {repeat + 1}/{settings.overhead_repeats}")
        log("  socket timings")
        split = _split(calls, settings.overhead_calls)
        profiles: dict[str, Any] = {}
        for contender in contenders:
            log(f"  profiling {contender.key}")
            dump = profiles_dir / f"{name}-{contender.key}.txt" if profiles_dir else None
            profiles[contender.key] = profile_calls(
                calls[contender.key], settings.profile_calls, dump
            )
    floor = per_call[contenders[0].key]
    rows = []
    for contender in contenders:
        values = per_call[contender.key]
        rows.append(
            {
                "key": contender.key,
                "label": contender.label,
                "kind": contender.kind,
                "ms_per_call": Stats.of(values).as_dict(),
                "ratio_to_floor": paired(values, floor, ratio=True).as_dict(),
                "profile": profiles[contender.key],
                "socket_split": split.get(contender.key),
            }
        )
    return {
        "title": title,
        "server": {"ttft_s": 0.0, "chunk_interval_s": 0.0},
        "repeats": settings.overhead_repeats,
        "calls_per_repeat": settings.overhead_calls,
        "warmup_calls": settings.overhead_warmup,
        "hook_calls_per_repeat": settings.tracing_hook_calls,
        "contenders": rows,
    }


def _hook_us(calls: dict[str, SyncCall], repeats: int, count: int) -> dict[str, list[float]]:
    """Microseconds per call of what tracing wraps around a call, without the HTTP: the
    kit's bookkeeping (`Transport.begin`, then `succeed` with a real answer), per mode."""
    import parallel_adapters

    chat = parallel_adapters.default_chat()
    request = chat.request(QUESTION)
    answer = chat.send(request)
    transport = chat._transport
    values: dict[str, list[float]] = {key: [] for key in calls}
    for _, key in rotations(list(calls), repeats):
        use_mode = calls[key].use_mode  # type: ignore[attr-defined]
        gc.collect()
        elapsed = 0.0
        for _ in range(count // 500):
            use_mode()  # bounds the in-memory exporter between batches
            start = perf_counter()
            for _ in range(500):
                transport.begin(request).succeed(answer)
            elapsed += perf_counter() - start
        values[key].append(elapsed * 1e6 / (count // 500 * 500))
    return values


def run_responses(settings: Settings, profiles_dir: Path | None, log: Any) -> dict[str, Any]:
    """Scenario 6: scenario 1's method on the Responses API (`POST /v1/responses`)."""
    return run(
        settings,
        profiles_dir,
        log,
        RESPONSES,
        name="responses",
        title="Per-call overhead on the Responses API, non-streaming, zero server latency",
    )


def run_tracing(settings: Settings, profiles_dir: Path | None, log: Any) -> dict[str, Any]:
    """Scenario 10: what tracing adds to `complete()`, as a ratio to the same call with the
    kit's span hook off, in one run with the contenders interleaved.

    Microseconds drown in a shared machine's wall-clock noise, so besides wall time each
    repeat also takes the client process's CPU time (`time.process_time`: the emulator
    is another process, so the server's time is not in it). Targets are judged on CPU
    time; wall time is reported beside it.
    """
    with EmulatorProcess() as endpoint:
        calls: dict[str, SyncCall] = {}
        for contender in TRACING:
            calls[contender.key] = contender.build(endpoint)
            for _ in range(settings.overhead_warmup):
                calls[contender.key]()
        wall: dict[str, list[float]] = {key: [] for key in calls}
        cpu: dict[str, list[float]] = {key: [] for key in calls}
        repeats = settings.tracing_repeats
        for repeat, key in rotations(list(calls), repeats):
            call = calls[key]
            gc.collect()
            start, start_cpu = perf_counter(), process_time()
            for _ in range(settings.overhead_calls):
                call()
            count = settings.overhead_calls
            wall[key].append((perf_counter() - start) * 1000 / count)
            cpu[key].append((process_time() - start_cpu) * 1000 / count)
            if key == next(iter(calls)):
                log(f"  repeat {repeat + 1}/{repeats}")
        log("  the span hook alone")
        hook = _hook_us(calls, settings.tracing_repeats, settings.tracing_hook_calls)
    floor_key = TRACING[0].key
    rows = []
    for contender in TRACING:
        key = contender.key
        rows.append(
            {
                "key": key,
                "label": contender.label,
                "kind": contender.kind,
                "ms_per_call": Stats.of(wall[key]).as_dict(),
                "cpu_ms_per_call": Stats.of(cpu[key]).as_dict(),
                "ratio_to_floor": paired(wall[key], wall[floor_key], ratio=True).as_dict(),
                "cpu_ratio_to_floor": paired(cpu[key], cpu[floor_key], ratio=True).as_dict(),
                # Microseconds of client CPU added per call, paired with the floor's repeat.
                "cpu_added_us": paired(cpu[key], cpu[floor_key], ratio=False)
                .scaled(1000.0)
                .as_dict(),
                "hook_us_per_call": Stats.of(hook[key]).as_dict(),
                "added_us": paired(hook[key], hook[floor_key], ratio=False).as_dict(),
            }
        )
    return {
        "title": "What OpenTelemetry tracing adds to `complete()`, zero server latency",
        "server": {"ttft_s": 0.0, "chunk_interval_s": 0.0},
        "repeats": repeats,
        "calls_per_repeat": settings.overhead_calls,
        "warmup_calls": settings.overhead_warmup,
        "hook_calls_per_repeat": settings.tracing_hook_calls,
        "contenders": rows,
    }


def _hook_us(calls: dict[str, SyncCall], repeats: int, count: int) -> dict[str, list[float]]:
    """Microseconds per call of what tracing wraps around a call, without the HTTP: the
    kit's bookkeeping (`Transport.begin`, then `succeed` with a real answer), per mode."""
    import parallel_adapters

    chat = parallel_adapters.default_chat()
    request = chat.request(QUESTION)
    answer = chat.send(request)
    transport = chat._transport
    values: dict[str, list[float]] = {key: [] for key in calls}
    for _, key in rotations(list(calls), repeats):
        use_mode = calls[key].use_mode  # type: ignore[attr-defined]
        gc.collect()
        elapsed = 0.0
        for _ in range(count // 500):
            use_mode()  # bounds the in-memory exporter between batches
            start = perf_counter()
            for _ in range(500):
                transport.begin(request).succeed(answer)
            elapsed += perf_counter() - start
        values[key].append(elapsed * 1e6 / (count // 500 * 500))
    return values
