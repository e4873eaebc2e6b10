"""A client-side request limiter, one per (base_url, api_key) in the process.

The documented beta limit is 300 requests a minute per key; every adapter and every
thread in the process draws from the same budget, so one shared limiter per key
is what keeps a process under it. The sliding-window log of pyrate-limiter never
lets more than N requests start in any window, which also keeps us under a
fixed-window server limit.
"""

from __future__ import annotations

import hashlib
import os
import threading

from pyrate_limiter import Duration, Limiter, Rate

__all__ = ["RequestLimiter", "shared_limiter"]

ARRIVAL_SLACK_MS = 500


class RequestLimiter:
    """Blocks (sync) or waits (async) until a request may start."""

    def __init__(self, requests_per_minute: int, *, window_seconds: float = 60.0) -> None:
        self.requests_per_minute = requests_per_minute
        self.window_seconds = window_seconds
        # The same rate over a shorter window allows smaller bursts.
        per_window = max(1, round(requests_per_minute * window_seconds / 60.0))
        window_ms = max(1, int(window_seconds * Duration.SECOND))
        # The server counts arrivals, we count departures. A request that opens a new
        # connection (TCP + TLS) or waits on a busy event loop arrives later than one on a
        # warm connection, and can land in the same server window as a later request. So
        # we count over the window plus ARRIVAL_SLACK_MS: arrival jitter up to that much
        # cannot push a window over the limit. It costs under 1% of a 60 s window.
        self._limiter = Limiter(Rate(per_window, window_ms + ARRIVAL_SLACK_MS), buffer_ms=50)

    def acquire(self) -> None:
        self._limiter.try_acquire("requests", blocking=True)

    async def aacquire(self) -> None:
        await self._limiter.try_acquire_async("requests", blocking=True)

    def __repr__(self) -> str:
        return (
            f"RequestLimiter(requests_per_minute={self.requests_per_minute}, "
            f"window_seconds={self.window_seconds})"
        )


_limiters: dict[tuple[str, str, int, float], RequestLimiter] = {}
_lock = threading.Lock()


def shared_limiter(
    base_url: str, api_key: str, requests_per_minute: int, window_seconds: float = 60.0
) -> RequestLimiter:
    """The process-wide limiter for this endpoint and key (the key is only hashed)."""
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    key = (base_url, digest, requests_per_minute, window_seconds)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RequestLimiter(
                requests_per_minute, window_seconds=window_seconds
            )
        return limiter


def _forget_in_child() -> None:
    """A forked child starts with no limiters and a free lock.

    A lock held by another thread at the fork stays held forever in the child, and the
    copied request log is the parent's spending, not the child's.
    """
    global _lock
    _lock = threading.Lock()
    _limiters.clear()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_in_child)
