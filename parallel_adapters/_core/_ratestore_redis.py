"""The budget in Redis: any number of processes on any number of hosts.

pyrate-limiter 4.5's `RedisBucket` is racy as shipped, in two ways:
- its script counts entries from the window start up to the *caller's* clock reading
  (`ZCOUNT key start now`), so a process that read its clock a moment later but wrote
  first is not counted, and both take the last slot;
- its `Limiter`'s blocking path stamps an entry with the time read before it slept, so
  the entry is dated too early and leaves the window too soon.
Together they let 41-46 requests through a 40-request window in multi-process runs.

`SharedRedisBucket` keeps the bucket and replaces its script: the script reads the Redis
server's clock (`TIME`) itself, counts every entry in the window whatever its stamp, and
stamps the new entry with that same reading, all in one atomic step. One clock for every
host also means hosts whose clocks disagree still share one window. The script also
trims entries older than the window and reads the shared `Retry-After` hold.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import redis
from pyrate_limiter import Rate, RateItem, RedisBucket

from ._errors import RateLimitStoreError
from ._ratestore import Budget

__all__ = ["RedisStore", "SharedRedisBucket"]

# Fail fast rather than hang when the server is down or unreachable.
SOCKET_TIMEOUT = 2.0
KEY_PREFIX = "parallel-adapters:budget:"

_NOW = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: the log (a sorted set), the hold. ARGV: limit, interval (ms), a unique member.
# Returns 0 when a slot was taken, else the milliseconds to wait.
TAKE_SCRIPT = (
    _NOW
    + """
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
if hold > now then return hold - now end
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - interval))
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
    local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    return math.max(1, tonumber(blocking[2]) + interval - now + 1)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], interval + 1000)
return 0
"""
)

# KEYS: the hold. ARGV: milliseconds. Keeps the later of the current and the new hold.
HOLD_SCRIPT = (
    _NOW
    + """
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 0
"""
)


class SharedRedisBucket(RedisBucket):
    """pyrate-limiter's `RedisBucket` with the race-free script above (sync client only)."""

    def __init__(self, client: redis.Redis, budget: Budget, bucket_key: str) -> None:
        self._take = client.register_script(TAKE_SCRIPT)
        super().__init__([Rate(budget.limit, budget.interval_ms)], client, bucket_key, "")
        self.script_hash = self._take.sha
        self.budget = budget
        self.hold_key = f"{bucket_key}:hold"
        self._waits = threading.local()

    @classmethod
    def create(cls, client: redis.Redis, budget: Budget, bucket_key: str) -> SharedRedisBucket:
        return cls(client, budget, bucket_key)

    def take_ms(self) -> int:
        """0 if a slot was taken, else the milliseconds until one may be free."""
        member = uuid.uuid4().hex
        reply: Any = self._take(
            keys=[self.bucket_key, self.hold_key],
            args=[self.budget.limit, self.budget.interval_ms, member],
        )
        return int(reply)

    # The AbstractBucket contract, for code that drives it like any pyrate-limiter bucket.
    # The item's own timestamp is ignored on purpose: see the module docstring.
    def put(self, item: RateItem) -> bool:
        wait = self.take_ms()
        self._waits.last = wait
        self.failing_rate = None if wait == 0 else self.rates[0]
        return wait == 0

    def waiting(self, item: RateItem) -> int:
        return int(getattr(self._waits, "last", 0))


class RedisStore:
    shared = True

    def __init__(self, url: str, budget: Budget, budget_id: str, *, name: str) -> None:
        self.name = name
        try:
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=SOCKET_TIMEOUT,
                # A dropped connection is retried by redis-py's own policy; a down
                # server must surface quickly, so no retry on top.
                retry_on_timeout=False,
            )
            self._bucket = SharedRedisBucket(self._client, budget, KEY_PREFIX + budget_id)
            self._hold = self._client.register_script(HOLD_SCRIPT)
        except redis.RedisError as exc:
            raise self._error("cannot be opened", exc) from exc

    def _error(self, what: str, exc: BaseException) -> RateLimitStoreError:
        # redis-py's messages name host and port, never the password.
        return RateLimitStoreError(
            f"the rate-limit store {self.name} {what}: {exc}", store=self.name
        )

    def take(self) -> float:
        try:
            wait = self._bucket.take_ms()
        except redis.RedisError as exc:
            raise self._error("is unreachable or failed", exc) from exc
        return 0.0 if wait <= 0 else wait / 1000

    def hold(self, seconds: float) -> None:
        ms = max(1, int(seconds * 1000))
        try:
            self._hold(keys=[self._bucket.hold_key], args=[ms])
        except redis.RedisError as exc:
            raise self._error("is unreachable or failed", exc) from exc

    def close(self) -> None:
        self._client.close()
