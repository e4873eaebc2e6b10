"""Per-key request limits: N requests per sliding window, as the real API's 300/min."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RATE_LIMIT_MESSAGE = "Too many requests: quota temporarily exceeded"


@dataclass(frozen=True)
class RateLimit:
    """`requests` per `window` seconds for each API key (tests use short windows)."""

    requests: int
    """Requests allowed per window for each key."""
    window: float = 60.0
    """The sliding window, in seconds."""

    def __post_init__(self) -> None:
        if self.requests < 1 or self.window <= 0:
            raise ValueError("a rate limit needs requests >= 1 and a positive window")

    @classmethod
    def of(cls, value: RateLimit | tuple[int, float] | None) -> RateLimit | None:
        """`value` itself, or a `RateLimit` from a `(requests, window)` pair; None stays None."""
        if value is None or isinstance(value, RateLimit):
            return value
        requests, window = value
        return cls(int(requests), float(window))


class SlidingWindowLimiter:
    """A sliding log: exact, and for a handful of keys the memory is a few deques."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Count a request; None if allowed, else the seconds until one would be."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.limit.window:
                hits.popleft()
            if len(hits) >= self.limit.requests:
                return max(hits[0] + self.limit.window - now, 0.001)
            hits.append(now)
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def retry_after_headers(seconds: float) -> dict[str, str]:
    """`Retry-After` in whole seconds (the standard) and `retry-after-ms` (what the OpenAI SDK
    reads first), so fast test windows do not turn into one-second waits."""
    return {
        "retry-after": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(max(1, math.ceil(seconds * 1000))),
    }
