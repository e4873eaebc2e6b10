"""Scenario 1: milliseconds per non-streaming call at zero server latency."""

from __future__ import annotations

import gc
import statistics
from pathlib import Path
from time import perf_counter
from typing import Any

from bench._contenders import OVERHEAD, RESPONSES, Contender, SyncCall
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
        "contenders": rows,
    }


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
