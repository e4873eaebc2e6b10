"""The request log, for assertions such as "the client retried twice with the same body"."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Never stored: the emulator's log is printed in test failures and must not leak keys.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})


@dataclass
class RequestLogEntry:
    """One request as the emulator received it (credentials removed)."""

    method: str
    """The HTTP method."""
    path: str
    """The request path, e.g. `/chat/completions`."""
    headers: dict[str, str]
    """Lower-cased names; Authorization, x-api-key and cookies are removed."""
    body: bytes
    """The raw request body."""
    json: Any = None
    """The parsed body, or None if it was not JSON."""
    fault: str | None = None
    """The fault applied to this request (its header form), if any."""
    status: int | None = None
    """The status sent, or None if the connection was closed without one."""
    time: float = field(default_factory=time.time)
    """When it arrived (Unix time)."""


class RequestLog:
    """Bounded, so a long-running foreground emulator does not grow without limit."""

    def __init__(self, size: int = 10_000) -> None:
        self._entries: deque[RequestLogEntry] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(
        self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> RequestLogEntry:
        kept: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            if key not in _SECRET_HEADERS:
                kept[key] = f"{kept[key]}, {value}" if key in kept else value
        try:
            parsed = json.loads(body) if body else None
        except (ValueError, RecursionError):  # not JSON, or nested past the parser
            parsed = None
        entry = RequestLogEntry(method, path, kept, body, parsed)
        with self._lock:
            self._entries.append(entry)
        return entry

    def snapshot(self) -> list[RequestLogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
