"""Where the request budget is counted: this process, one host (SQLite) or many (Redis).

A store answers one question for every process that shares it, atomically: may a request
start now, and if not, how many seconds until one may. It also keeps a shared hold, so a
429's `Retry-After` seen by one process holds back all of them.

The SQLite and Redis stores live in their own modules and import their packages only
when named, so `memory` (the default) costs nothing extra.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from pyrate_limiter import InMemoryBucket, Rate, RateItem

from ._errors import RateLimitStoreError

__all__ = [
    "Budget",
    "BudgetStore",
    "MemoryStore",
    "check_store_url",
    "open_store",
    "redact_store_url",
]

MEMORY = "memory"
# A budget slot is named by this; every entry of one budget carries the same name.
ITEM_NAME = "request"


@dataclass(frozen=True)
class Budget:
    """`limit` request starts in any `interval_ms`."""

    limit: int
    interval_ms: int


class BudgetStore(Protocol):
    """One budget, counted where every process that shares it can see it."""

    name: str
    """The store's URL with any password masked: safe for logs and errors."""
    shared: bool
    """True when a call may wait on I/O, so async callers run it in a thread."""

    def take(self, max_hold: float | None = None) -> float:
        """Take a slot: 0.0 if taken, else the seconds until one may be free.

        `max_hold`: the caller's cap on a hold (its `max_retry_after`): a hold longer
        than that, counted from when it was set, is over for this caller."""
        ...

    def hold(self, seconds: float) -> None:
        """Let no one take a slot for `seconds` (a server's `Retry-After`)."""
        ...

    def close(self) -> None: ...


def held_until(until_ms: int, set_ms: int, max_hold: float | None) -> int:
    """When a hold set at `set_ms` ends for a caller who waits at most `max_hold` s."""
    if max_hold is None or set_ms <= 0:
        return until_ms
    return min(until_ms, set_ms + math.ceil(max_hold * 1000))


def _wait_ms(value: object) -> int:
    # pyrate-limiter types bucket calls as maybe-awaitable; every bucket used here is sync.
    assert isinstance(value, int)
    return value


class MemoryStore:
    """This process only: pyrate-limiter's in-memory sliding-window log."""

    shared = False

    def __init__(self, budget: Budget) -> None:
        self.name = MEMORY
        self._budget = budget
        self._bucket = InMemoryBucket([Rate(budget.limit, budget.interval_ms)])
        self._lock = threading.Lock()
        self._hold_until = self._hold_set = 0
        self._next_leak = 0

    def take(self, max_hold: float | None = None) -> float:
        with self._lock:
            now = time.monotonic_ns() // 1_000_000
            until = held_until(self._hold_until, self._hold_set, max_hold)
            if until > now:
                return (until - now) / 1000
            item = RateItem(ITEM_NAME, now)
            if self._bucket.put(item):
                if now >= self._next_leak:
                    # Entries older than the window only cost memory; drop them now and then.
                    self._bucket.leak(now)
                    self._next_leak = now + self._budget.interval_ms
                return 0.0
            return max(1, _wait_ms(self._bucket.waiting(item))) / 1000

    def hold(self, seconds: float) -> None:
        with self._lock:
            now = time.monotonic_ns() // 1_000_000
            until = now + math.ceil(seconds * 1000)
            if until > self._hold_until:
                self._hold_until, self._hold_set = until, now

    def close(self) -> None:
        pass


def redact_store_url(url: str) -> str:
    """The URL with its password (if any) masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def check_store_url(value: str) -> str:
    """`memory`, `sqlite:///absolute/path.db` or `redis://host:port/db`; raises ValueError."""
    value = value.strip()
    if value == MEMORY:
        return value
    shown = redact_store_url(value)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"rate_limit_store {shown!r} is not a valid URL: {exc}") from None
    if parts.scheme == "sqlite":
        if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
            # A relative path would be resolved against each worker's own working
            # directory, silently splitting one budget into several.
            raise ValueError(
                f"rate_limit_store {shown!r}: use sqlite:///absolute/path/to/budget.db"
            )
        return value
    if parts.scheme in ("redis", "rediss"):
        if not parts.hostname:
            raise ValueError(f"rate_limit_store {shown!r}: use redis://host:port/db")
        db = parts.path.lstrip("/")
        if db and not db.isdigit():
            raise ValueError(f"rate_limit_store {shown!r}: the database must be a number")
        del port  # read only to validate it
        return value
    raise ValueError(
        f"rate_limit_store {shown!r} is not supported: use 'memory', "
        "'sqlite:///absolute/path/to/budget.db' or 'redis://host:port/db'"
    )


def open_store(url: str, budget: Budget, budget_id: str) -> BudgetStore:
    """The store `url` names, holding the budget `budget_id` (a hash: never the key)."""
    if url == MEMORY:
        return MemoryStore(budget)
    name = redact_store_url(url)
    try:
        if url.startswith("sqlite:"):
            from ._ratestore_sqlite import SQLiteStore

            return SQLiteStore(urlsplit(url).path, budget, budget_id, name=name)
        from ._ratestore_redis import RedisStore

        return RedisStore(url, budget, budget_id, name=name)
    except ImportError as exc:
        extra = "sqlite" if url.startswith("sqlite:") else "redis"
        raise RateLimitStoreError(
            f"the rate-limit store {name} needs the {exc.name or extra} package: "
            f"pip install 'parallel-adapters[{extra}]'",
            store=name,
        ) from None
