"""Fault injection: named failures applied to one request each.

A fault comes from the request's `x-emulator-fault` header (it then applies to that request
only and leaves the queue alone) or, failing that, from the front of the emulator's queue
(`emu.inject(...)` / `emu.faults.push(...)`), which is consumed one fault per request. A
queued fault is taken by the next request to an API path (Chat, Responses, Search or
Extract) whatever that request's outcome.

Header syntax: a name, optionally followed by `;key=value` parameters, for example
`429-retry-after;retry_after=0.2` or `disconnect-mid-stream;after_chunks=3`.

Names (see `FAULTS` for one line each); any other status code from 400 to 599 may also be
used as a name ("504") and answers with Parallel's error envelope.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, fields

FAULT_HEADER = "x-emulator-fault"
"""Request header naming a fault for that one request: `x-emulator-fault: 503`."""
_MAX_SECONDS = 86400.0

FAULTS: dict[str, str] = {
    "429": "429 in Parallel's envelope, without Retry-After",
    "429-retry-after": "429 with Retry-After (s) and retry-after-ms; param retry_after (default 1)",
    "500": "500 in Parallel's envelope",
    "502": "502 with an HTML body, as a gateway sends it",
    "503": "503 in Parallel's envelope",
    "envelope-openai": '{"error": {message, type, param, code}}; param status (default 400)',
    "envelope-fastapi": '{"detail": [{loc, msg, type}]}; param status (default 422)',
    "envelope-parallel": '{"type": "error", "error": {ref_id, message}}; status default 402',
    "disconnect-before-first-byte": "close the TCP connection before sending anything",
    "disconnect-mid-stream": "close the connection after after_chunks events (default 2), "
    "or halfway through a JSON body",
    "malformed-json": "a 200 whose JSON body is cut in half, or one SSE event cut in half "
    "(event number after_chunks, default 1)",
    "stall": "send nothing for duration seconds (default: the emulator's stall_seconds), "
    "then answer normally",
    "stall-mid-stream": "stall after after_chunks events (default 1), or halfway through a body",
    "keepalive-comments": "SSE comment lines (': keep-alive') before and between events",
    "no-done": "end the SSE stream without the final data: [DONE] (Chat API; a Responses "
    "stream has none anyway)",
    "error-mid-stream": 'an SSE event {"error": {...}} (Responses API: response.failed) after '
    "after_chunks events (default 1), then the stream ends",
    "failed": 'Responses API: a 200 with status "failed", or a terminal response.failed '
    "event instead of the text when streaming; Chat API: a 500",
}
"""Every fault the emulator can inject, by name, with what it does."""
# Faults that shape a successful response; they have no effect if the request fails anyway,
# and the stream-only ones have none on a non-streaming request.
STREAM_ONLY = frozenset({"keepalive-comments", "no-done", "error-mid-stream"})


@dataclass(frozen=True)
class Fault:
    """One failure to apply to one request. Build one with `Fault("name", ...)` or `parse`."""

    name: str
    """One of the names in `FAULTS`."""
    status: int | None = None
    """The HTTP status of an `envelope-*` fault."""
    retry_after: float | None = None
    """Seconds announced by `429-retry-after`."""
    duration: float | None = None
    """Seconds a `stall`/`stall-mid-stream` lasts."""
    after_chunks: int | None = None
    """How many SSE events go out before a mid-stream fault strikes."""

    def __post_init__(self) -> None:
        if self.name not in FAULTS and not _is_error_status(self.name):
            known = ", ".join(FAULTS)
            raise ValueError(f"unknown fault {self.name!r}; use a status code 400-599 or {known}")
        for name, value in (("retry_after", self.retry_after), ("duration", self.duration)):
            if value is not None and not 0 <= value < _MAX_SECONDS:
                # NaN and infinity included: a wait of either broke the server (500).
                raise ValueError(f"{name} must be a number of seconds from 0 to {_MAX_SECONDS:g}")
        if self.after_chunks is not None and self.after_chunks < 0:
            raise ValueError("after_chunks must not be negative")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError("status must be an error status, 400-599")

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """`"name;key=value;..."`, the `x-emulator-fault` header syntax."""
        name, *params = (part.strip() for part in spec.split(";"))
        values: dict[str, str] = {}
        for param in filter(None, params):
            key, sep, value = param.partition("=")
            if not sep:
                raise ValueError(f"fault parameter {param!r} is not key=value")
            values[key.strip()] = value.strip()
        known = {f.name: f.type for f in fields(cls) if f.name != "name"}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown fault parameter(s) {sorted(unknown)}; use {sorted(known)}")
        try:
            return cls(
                name=name,
                status=int(values["status"]) if "status" in values else None,
                retry_after=float(values["retry_after"]) if "retry_after" in values else None,
                duration=float(values["duration"]) if "duration" in values else None,
                after_chunks=int(values["after_chunks"]) if "after_chunks" in values else None,
            )
        except ValueError as error:
            raise ValueError(f"invalid fault {spec!r}: {error}") from None

    def spec(self) -> str:
        """The header form of this fault (the inverse of `parse`)."""
        params = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name != "name" and getattr(self, f.name) is not None
        ]
        return ";".join([self.name, *params])

    @property
    def error_status(self) -> int | None:
        """The status this fault answers with before any real work, or None."""
        if _is_error_status(self.name):
            return int(self.name)
        if self.name == "429-retry-after":
            return 429
        defaults = {"envelope-openai": 400, "envelope-fastapi": 422, "envelope-parallel": 402}
        if self.name in defaults:
            return self.status or defaults[self.name]
        return None


def _is_error_status(name: str) -> bool:
    return name.isdigit() and len(name) == 3 and 400 <= int(name) <= 599


class FaultQueue:
    """Faults for the next requests, in order. Safe to use from the test's thread."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def push(self, *faults: Fault | str, times: int = 1) -> None:
        """Queue each fault `times` times; strings are parsed with `Fault.parse`."""
        parsed = [f if isinstance(f, Fault) else Fault.parse(f) for f in faults]
        with self._lock:
            for fault in parsed:
                self._queue.extend([fault] * times)

    def pop(self) -> Fault | None:
        """The next fault to apply, removed from the queue; None when it is empty."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> list[Fault]:
        """The queued faults, next first."""
        with self._lock:
            return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def extend(self, faults: Iterable[Fault | str]) -> None:
        """Queue each fault once."""
        self.push(*faults)
