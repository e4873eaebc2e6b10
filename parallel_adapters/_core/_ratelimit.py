"""The client-side request limiter: one budget per (store, base_url, hashed key).

The documented beta limit is 300 requests a minute per key. Every adapter and thread
in a process draws from one limiter per key; with `rate_limit_store` naming a SQLite
file or a Redis server, every process that names the same store draws from one budget
(`_ratestore`). The budget is a sliding-window log, which never lets more than N requests
start in any window, so it also keeps us under a fixed-window server limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import threading
import weakref

from ._ratestore import MEMORY, Budget, BudgetStore, open_store
from ._sending import pause

__all__ = ["RequestLimiter", "budget_for", "shared_limiter"]

logger = logging.getLogger("parallel_adapters")

# The server counts arrivals, we count departures. A request that opens a new connection
# (TCP + TLS), waits on a busy event loop or queues at a busy server arrives later than
# one on a warm connection, and can land in the same server window as a later request.
# So each window is counted a slack longer than it is: arrival jitter up to that much
# cannot push a server window over its limit. The slack is a share of the window, at most
# ARRIVAL_SLACK_MAX_MS: under 1% of the API's 60 s window, 15% of a short one. A fixed
# 500 ms cost 40% of a 1 s window's budget. On a 1 s window on a busy 2-CPU machine, a
# 10% slack still drew a 429 now and then (a cold event loop's first burst arrives up to
# 110 ms late); 15% drew none in 12 runs, at 86.5-87% of the rate (bench scenario 4).
ARRIVAL_SLACK_SHARE = 0.15
ARRIVAL_SLACK_MAX_MS = 500
# Sleep this much past the moment a slot frees, so the retry does not land just before it.
WAKE_BUFFER_S = 0.002


def budget_for(requests_per_minute: int, window_seconds: float) -> Budget:
    """At most `requests_per_minute`, in bursts of at most the window's share.

    The burst is the whole number of requests the window holds (at least 1), and the
    interval is the time that many requests take at the rate, plus the arrival slack: so
    the rate is never exceeded on any window. (Rounding the burst up let 10 a minute on a
    1 s window run at 40 a minute.)
    """
    limit = max(1, math.floor(requests_per_minute * window_seconds / 60.0 + 1e-9))
    span_ms = limit * 60_000.0 / requests_per_minute
    slack_ms = min(ARRIVAL_SLACK_MAX_MS, ARRIVAL_SLACK_SHARE * span_ms)
    return Budget(limit=limit, interval_ms=max(1, math.ceil(span_ms + slack_ms)))


class RequestLimiter:
    """Blocks (sync) or waits (async) until a request may start.

    Callers of one limiter queue in turn (a lock per thread world, one per event loop),
    so a slot freeing wakes one caller, not all of them.
    """

    def __init__(
        self,
        requests_per_minute: int,
        *,
        window_seconds: float = 60.0,
        store: str = MEMORY,
        budget_id: str = "local",
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.window_seconds = window_seconds
        self.budget = budget_for(requests_per_minute, window_seconds)
        self._store: BudgetStore = open_store(store, self.budget, budget_id)
        self._sync_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._locks_lock = threading.Lock()

    @property
    def store(self) -> str:
        """The store's URL, any password masked."""
        return self._store.name

    def _log_wait(self, seconds: float) -> None:
        logger.info(
            "rate limit: waiting %.2fs for a request slot (%d per %.2fs, store %s)",
            seconds,
            self.budget.limit,
            self.budget.interval_ms / 1000,
            self._store.name,
        )

    def _bounded(self, wait: float, max_hold: float | None) -> float:
        """No wait longer than a window plus the longest hold the caller accepts: the
        stores undo a clock step, and this is the bound should anything else go wrong."""
        if max_hold is None:
            return wait
        # A slot frees within one interval (plus the stores' rounding, a millisecond).
        bound = self.budget.interval_ms / 1000 + max_hold + 0.01
        if wait > bound:
            logger.warning(
                "rate limit: the store %s asked for a wait of %.2fs, more than a window "
                "plus max_retry_after; waiting %.2fs",
                self._store.name,
                wait,
                bound,
            )
            return bound
        return wait

    def acquire(self, max_hold: float | None = None) -> None:
        """Wait for a slot. `max_hold`: the longest shared hold (`Retry-After`) to honour."""
        with self._sync_lock:
            logged = False
            while True:
                wait = self._bounded(self._store.take(max_hold), max_hold)
                if wait <= 0:
                    return
                if not logged:
                    self._log_wait(wait)
                    logged = True
                pause(wait + WAKE_BUFFER_S)  # ended early by a batch's Ctrl-C

    def _loop_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._locks_lock:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = asyncio.Lock()
            return lock

    async def _atake(self, max_hold: float | None) -> float:
        if self._store.shared:
            # A shared store may wait on the network or a file lock: not on the loop.
            return await asyncio.to_thread(self._store.take, max_hold)
        return self._store.take(max_hold)

    async def aacquire(self, max_hold: float | None = None) -> None:
        async with self._loop_lock():
            logged = False
            while True:
                wait = self._bounded(await self._atake(max_hold), max_hold)
                if wait <= 0:
                    return
                if not logged:
                    self._log_wait(wait)
                    logged = True
                await asyncio.sleep(wait + WAKE_BUFFER_S)

    def hold(self, seconds: float) -> None:
        """Hold back every caller of this budget, in every process sharing it."""
        self._store.hold(seconds)

    async def ahold(self, seconds: float) -> None:
        if self._store.shared:
            await asyncio.to_thread(self._store.hold, seconds)
        else:
            self._store.hold(seconds)

    def close(self) -> None:
        self._store.close()

    def __repr__(self) -> str:
        return (
            f"RequestLimiter(requests_per_minute={self.requests_per_minute}, "
            f"window_seconds={self.window_seconds}, store={self._store.name!r})"
        )


_limiters: dict[tuple[str, str, str, int, float, str], RequestLimiter] = {}
_lock = threading.Lock()


def shared_limiter(
    base_url: str,
    api_key: str,
    requests_per_minute: int,
    window_seconds: float = 60.0,
    store: str = MEMORY,
    api: str = "chat",
) -> RequestLimiter:
    """The process-wide limiter for this store, endpoint, key (only hashed) and API.

    `api` names the budget: the Chat and Responses APIs share `"chat"`; the Search and
    Extract APIs, whose documented limits differ, count apart (`"search"`, `"extract"`).

    Raises `RateLimitStoreError` if the store cannot be opened.
    """
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    key = (store, base_url, digest, requests_per_minute, window_seconds, api)
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            # What the store sees: a hash of the endpoint and of the key's hash.
            seed = f"{base_url}\n{digest}" + ("" if api == "chat" else f"\n{api}")
            budget_id = hashlib.sha256(seed.encode()).hexdigest()[:32]
            limiter = _limiters[key] = RequestLimiter(
                requests_per_minute,
                window_seconds=window_seconds,
                store=store,
                budget_id=budget_id,
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
