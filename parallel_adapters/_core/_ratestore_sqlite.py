"""The budget in a SQLite file: every process on one host, no server.

pyrate-limiter's `SQLiteBucket` with its file lock does the counting. What it leaves to
its `Limiter`, we do under the same lock: the slot is stamped with the clock read inside
the lock (a stamp read before waiting for the lock, or before sleeping, would date the
entry too early and let it expire too soon), and the shared `Retry-After` hold is read
in the same critical section.

Stamps are wall-clock times, the one clock every process on the host reads alike, and
they are written under the lock, so none is ever later than the clock unless the clock
went back (an NTP step, a VM restored). A stamp from the future would hold every slot,
and so every process, for as long as the step: an hour back meant an hour's wait. So
`take` checks the newest stamp, and when it is ahead of the clock, re-dates every stamp
and the hold by that much (keeping their spacing) and logs the step.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from filelock import Timeout
from pyrate_limiter import Rate, RateItem, SQLiteBucket

from ._errors import RateLimitStoreError
from ._ratestore import ITEM_NAME, Budget, held_until

__all__ = ["SQLiteStore"]

logger = logging.getLogger("parallel_adapters")

# A live process holds the file lock for well under a millisecond; a wait this long means
# the file is stuck (a network file system, a stopped process), and we say so.
LOCK_TIMEOUT = 10.0
# filelock polls a contended lock; its default 50 ms would be most of an acquire.
LOCK_POLL = 0.001
# Rows of the hold table: when the hold ends, and when it was set (both wall-clock ms).
HOLD_UNTIL, HOLD_SET = 1, 2


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

    def take(self, max_hold: float | None = None) -> float:
        try:
            with self._locked():
                now = _now_ms()
                self._undo_clock_step(now)
                until, set_ms = self._hold()
                held = held_until(until, set_ms, max_hold)
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

    def _hold(self) -> tuple[int, int]:
        """(until, set): when the shared hold ends and when it was set; 0 if unknown."""
        cursor = self._bucket.conn.execute(f"SELECT id, until_ms FROM '{self._table}_hold'")
        rows = dict(cursor.fetchall())
        cursor.close()
        return int(rows.get(HOLD_UNTIL, 0)), int(rows.get(HOLD_SET, 0))

    def _undo_clock_step(self, now: int) -> None:
        cursor = self._bucket.conn.execute(f"SELECT MAX(item_timestamp) FROM '{self._table}'")
        (newest,) = cursor.fetchone()
        cursor.close()
        latest = max(int(newest or 0), self._hold()[1])
        if latest <= now:
            return
        step = latest - now
        conn = self._bucket.conn
        conn.execute(
            f"UPDATE '{self._table}' SET item_timestamp = item_timestamp - ?", (step,)
        ).close()
        conn.execute(
            f"UPDATE '{self._table}_hold' SET until_ms = until_ms - ? WHERE until_ms > 0",
            (step,),
        ).close()
        conn.commit()
        logger.warning(
            "rate-limit store %s: the clock is %.3fs behind the newest stamp there (it was "
            "set back); re-dated the budget's stamps to this clock",
            self.name,
            step / 1000,
        )

    def hold(self, seconds: float) -> None:
        try:
            with self._locked():
                now = _now_ms()
                self._undo_clock_step(now)
                current, _ = self._hold()
                until = now + int(seconds * 1000)
                if until <= current:
                    return
                self._bucket.conn.executemany(
                    f"INSERT OR REPLACE INTO '{self._table}_hold' (id, until_ms) VALUES (?, ?)",
                    [(HOLD_UNTIL, until), (HOLD_SET, now)],
                ).close()
                self._bucket.conn.commit()
        except (sqlite3.Error, OSError) as exc:
            raise self._error("failed", exc) from exc

    def close(self) -> None:
        self._bucket.close()  # type: ignore[no-untyped-call]
