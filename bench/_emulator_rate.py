"""Scenario 8: how fast the emulator answers one request at a time, as users run it.

The raw `openai` SDK sends sequential requests to `ParallelEmulator` (a thread of the
client's own process, as a test suite uses it) and to `parallel-adapters emulator` (the
console command, a separate process). Every test suite built on the emulator pays its
per-request time, so it is measured here rather than only the bench's own server.

A third server, `bench._bare_server` (a fixed reply, no framework), is the reference: the
rate the same client reaches when the server costs next to nothing.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._contenders import MODEL, QUESTION
from bench._emulator import API_KEY, ROOT, Endpoint
from bench._proc import free_port, stop
from bench._settings import Settings
from bench._timing import Stats, rotations

TARGET_PER_SECOND = 1000.0
_STARTUP_TIMEOUT = 30.0


@contextmanager
def in_thread() -> Iterator[Endpoint]:
    from parallel_adapters.testing import ParallelEmulator

    with ParallelEmulator(api_key=API_KEY) as emulator:
        yield Endpoint(emulator.base_url, API_KEY)


def _console_command() -> list[str]:
    script = Path(sys.executable).with_name("parallel-adapters")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "parallel_adapters._cli"]


@contextmanager
def in_process() -> Iterator[Endpoint]:
    """`parallel-adapters emulator --port N --api-key KEY` in its own process."""
    port = free_port()
    command = [*_console_command(), "emulator", "--port", str(port), "--api-key", API_KEY]
    with _running(command, port) as endpoint:
        yield endpoint


@contextmanager
def bare() -> Iterator[Endpoint]:
    """`python -m bench._bare_server N`: a fixed reply, the client's own ceiling."""
    port = free_port()
    with _running([sys.executable, "-m", "bench._bare_server", str(port)], port) as endpoint:
        yield endpoint


@contextmanager
def _running(command: list[str], port: int) -> Iterator[Endpoint]:
    import socket

    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"`{' '.join(command)}` exited early")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command}: no server in time") from None
                time.sleep(0.05)
        yield Endpoint(f"http://127.0.0.1:{port}", API_KEY)
    finally:
        stop(process)


SERVERS: list[tuple[str, str, Callable[[], Any]]] = [
    ("thread", "`ParallelEmulator()`, a thread of the client's process", in_thread),
    ("process", "`parallel-adapters emulator`, a separate process", in_process),
    ("bare", "reference: a fixed reply from a bare asyncio server, a separate process", bare),
]
REFERENCE = "bare"  # not a target: the client's ceiling the emulator is read against


def _client(endpoint: Endpoint) -> Callable[[], object]:
    import openai

    sdk = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key, max_retries=0)
    messages: Any = [{"role": "user", "content": QUESTION}]

    def call() -> object:
        choice = sdk.chat.completions.create(model=MODEL, messages=messages).choices[0]
        if not choice.message.content:
            raise RuntimeError("the emulator returned no text")
        return choice

    return call


def _rate(call: Callable[[], object], count: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - start)


def run(settings: Settings, log: Any) -> dict[str, Any]:
    rates: dict[str, list[float]] = {key: [] for key, _, _ in SERVERS}
    with contextlib.ExitStack() as stack:
        calls = {key: _client(stack.enter_context(start())) for key, _, start in SERVERS}
        for call in calls.values():
            for _ in range(settings.emulator_warmup):
                call()
        for repeat, key in rotations(list(calls), settings.emulator_repeats):
            rates[key].append(_rate(calls[key], settings.emulator_calls))
            if key == SERVERS[0][0]:
                log(f"  repeat {repeat + 1}/{settings.emulator_repeats}")
    rows = [
        {
            "key": key,
            "label": label,
            "requests_per_s": Stats.of(rates[key]).as_dict(),
            "ms_per_request": Stats.of([1000.0 / r for r in rates[key]]).as_dict(),
        }
        for key, label, _ in SERVERS
    ]
    return {
        "title": "The emulator's sequential rate",
        "method": "the raw `openai` SDK (`OpenAI(max_retries=0)`, model `speed`, the bench's "
        f"question) sends {settings.emulator_calls} requests one after another per repeat, "
        f"{settings.emulator_repeats} repeats interleaved, after {settings.emulator_warmup} "
        "warm-up calls; default emulator settings (profile `documented`, latency `fast`)",
        "repeats": settings.emulator_repeats,
        "calls_per_repeat": settings.emulator_calls,
        "target_per_s": TARGET_PER_SECOND,
        "reference": REFERENCE,
        "servers": rows,
    }
