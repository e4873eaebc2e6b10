"""The budget in a SQLite file: every process on one host, no server.

pyrate-limiter's `SQLiteBucket` with its file lock does the counting. What it leaves to
its `Limiter`, we do under the same lock: the slot is stamped with the clock read inside
the lock (a stamp read before waiting for the lock, or before sleeping, would date the
entry too early and let it expire too soon), and the shared `Retry-After` hold is read
in the same critical section.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from filelock import Timeout
from pyrate_limiter import Rate, RateItem, SQLiteBucket

from ._errors import RateLimitStoreError
from ._ratestore import ITEM_NAME, Budget

__all__ = ["SQLiteStore"]

# A live process holds the file lock for well under a millisecond; a wait this long means
# the file is stuck (a network file system, a stopped process), and we say so.
LOCK_TIMEOUT = 10.0
# filelock polls a contended lock; its default 50 ms would be most of an acquire.
LOCK_POLL = 0.001


def _now_ms() -> int:
    # Wall time: the one clock every process on the host reads alike.
    return time.time_ns() // 1_000_000


class SQLiteStore:
    shared = True

    def __init__(self, path: str, budget: Budget, budget_id: str, *, name: str) -> None:
        self.name = name
        self._budget = budget
        self._table = f"budget_{budget_id}"
        self._thread_lock = threading.Lock()
        self._next_leak = 0
        try:
            self._bucket = SQLiteBucket.init_from_file(
                [Rate(budget.limit, budget.interval_ms)],
                table=self._table,
                db_path=path,
                use_file_lock=True,
            )
            # A slot is stamped before its commit, and the request goes out after it: a
            # commit that waits on the disk (fsync) makes the request late for its stamp.
            # The log needs no durability (a lost entry after a power cut is harmless).
            self._bucket.conn.execute("PRAGMA synchronous=OFF").close()
            with self._locked():
                self._bucket.conn.execute(
                    f"CREATE TABLE IF NOT EXISTS '{self._table}_hold' "
                    "(id INTEGER PRIMARY KEY, until_ms INTEGER)"
                ).close()
                self._bucket.conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise self._error("cannot be opened", exc) from exc

    def _error(self, what: str, exc: BaseException) -> RateLimitStoreError:
        return RateLimitStoreError(
            f"the rate-limit store {self.name} {what}: {exc}", store=self.name
        )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # The thread lock first: filelock's lock is per thread, and one connection is
        # shared by the threads of this process.
        with self._thread_lock:
            lock: Any = self._bucket.lock  # a filelock.FileLock (use_file_lock=True)
            try:
                lock.acquire(timeout=LOCK_TIMEOUT, poll_interval=LOCK_POLL)
            except Timeout as exc:
                raise self._error(f"stayed locked for {LOCK_TIMEOUT:.0f}s", exc) from exc
            try:
                yield
            finally:
                lock.release()

    def take(self) -> float:
        try:
            with self._locked():
                now = _now_ms()
                held = self._hold_until()
                if held > now:
                    return (held - now) / 1000
                item = RateItem(ITEM_NAME, now)
                if self._bucket.put(item):
                    if now >= self._next_leak:
                        self._bucket.leak(now)
                        self._next_leak = now + self._budget.interval_ms
                    return 0.0
                wait = self._bucket.waiting(item)
                assert isinstance(wait, int)
                return max(1, wait) / 1000
        except (sqlite3.Error, OSError) as exc:
            raise self._error("failed", exc) from exc

    def _hold_until(self) -> int:
        cursor = self._bucket.conn.execute(
            f"SELECT until_ms FROM '{self._table}_hold' WHERE id = 1"
        )
        row = cursor.fetchone()
        cursor.close()
        return int(row[0]) if row else 0

    def hold(self, seconds: float) -> None:
        try:
            with self._locked():
                until = max(self._hold_until(), _now_ms() + int(seconds * 1000))
                self._bucket.conn.execute(
                    f"INSERT OR REPLACE INTO '{self._table}_hold' (id, until_ms) VALUES (1, ?)",
                    (until,),
                ).close()
                self._bucket.conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise self._error("failed", exc) from exc

    def close(self) -> None:
        self._bucket.close()  # type: ignore[no-untyped-call]
