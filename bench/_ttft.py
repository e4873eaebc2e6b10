"""Scenario 2: time to the first streamed delta, emulator at a fixed TTFT."""

from __future__ import annotations

import gc
import statistics
from typing import Any

from bench._contenders import STREAMING, TTFTCall
from bench._emulator import EmulatorProcess
from bench._settings import Settings
from bench._sockets import SocketLog
from bench._timing import Stats, paired, rotations


def _ttft_ms(call: TTFTCall) -> float:
    start, first = call()
    if not first:
        raise RuntimeError("the stream had no text")
    return (first - start) * 1000


def _split(calls: dict[str, TTFTCall], count: int) -> dict[str, dict[str, float]]:
    """Median ms before the request leaves, until the server's headers, and after the
    first text arrives, per contender; one call at a time, round-robin."""
    log = SocketLog()
    parts: dict[str, list[tuple[float, float, float]]] = {key: [] for key in calls}
    with log.installed():
        for _, key in rotations(list(calls), count):
            log.clear()
            start, first = calls[key]()
            split = log.split(start, first)
            if split is not None:
                parts[key].append(split)
    out: dict[str, dict[str, float]] = {}
    for key, values in parts.items():
        if values:
            before, server, after = zip(*values, strict=True)
            out[key] = {
                "before_send_ms": statistics.median(before),
                "server_headers_ms": statistics.median(server),
                "after_receive_ms": statistics.median(after),
            }
    return out


def run(settings: Settings, log: Any) -> dict[str, Any]:
    server = EmulatorProcess(ttft=settings.ttft_seconds, chunk_interval=settings.chunk_interval)
    with server as endpoint:
        calls: dict[str, TTFTCall] = {}
        for contender in STREAMING:
            calls[contender.key] = contender.build(endpoint)
            for _ in range(settings.ttft_warmup):
                _ttft_ms(calls[contender.key])
        ttft: dict[str, list[float]] = {key: [] for key in calls}
        for repeat, key in rotations(list(calls), settings.ttft_repeats):
            gc.collect()
            ttft[key].append(
                statistics.median(_ttft_ms(calls[key]) for _ in range(settings.ttft_calls))
            )
            if key == next(iter(calls)):
                log(f"  repeat {repeat + 1}/{settings.ttft_repeats}")
        log("  socket timings")
        split = _split(calls, settings.ttft_repeats)
    floor = ttft[STREAMING[0].key]
    rows = [
        {
            "key": c.key,
            "label": c.label,
            "kind": c.kind,
            "ttft_ms": Stats.of(ttft[c.key]).as_dict(),
            "added_ms": paired(ttft[c.key], floor, ratio=False).as_dict(),
            "socket_split": split.get(c.key),
        }
        for c in STREAMING
    ]
    return {
        "title": "Time to first token, streaming",
        "server": {"ttft_s": settings.ttft_seconds, "chunk_interval_s": settings.chunk_interval},
        "repeats": settings.ttft_repeats,
        "calls_per_repeat": settings.ttft_calls,
        "warmup_calls": settings.ttft_warmup,
        "contenders": rows,
    }
