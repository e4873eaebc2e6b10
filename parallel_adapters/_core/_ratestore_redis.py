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

The Redis server's clock can still go back (an NTP step, a restored VM). A stamp from the
future would hold every slot for as long as the step, so the script compares the newest
stamp (and when the hold was set) with `TIME`, re-dates them all by the step when they
are ahead, and reports it; the store logs it.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from typing import Any

import redis
from pyrate_limiter import Rate, RateItem, RedisBucket

from ._errors import RateLimitStoreError
from ._ratestore import Budget

__all__ = ["RedisStore", "SharedRedisBucket"]

logger = logging.getLogger("parallel_adapters")

# Fail fast rather than hang when the server is down or unreachable.
SOCKET_TIMEOUT = 2.0
KEY_PREFIX = "parallel-adapters:budget:"

_NOW = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: the log, the hold, when the hold was set. Re-dates everything by the step when the
# newest stamp is ahead of the clock (the clock went back), and sets `step` (ms).
_UNDO_CLOCK_STEP = """
local step = 0
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local latest = tonumber(redis.call('GET', KEYS[3]) or '0')
if newest[2] and tonumber(newest[2]) > latest then latest = tonumber(newest[2]) end
if latest > now then
    step = latest - now
    local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #all, 2 do
        redis.call('ZADD', KEYS[1], tonumber(all[i + 1]) - step, all[i])
    end
    local until_ms = tonumber(redis.call('GET', KEYS[2]) or '0')
    if until_ms - step > now then
        redis.call('SET', KEYS[2], until_ms - step, 'PX', until_ms - step - now)
        redis.call('SET', KEYS[3], latest - step, 'PX', until_ms - step - now)
    else
        redis.call('DEL', KEYS[2], KEYS[3])
    end
end
"""

# KEYS: the log (a sorted set), the hold, when it was set. ARGV: limit, interval (ms), a
# unique member, the caller's cap on a hold (ms, -1 for none). Returns {wait, step}: wait
# is 0 when a slot was taken, else the milliseconds to wait; step is the clock step undone.
TAKE_SCRIPT = (
    _NOW
    + _UNDO_CLOCK_STEP
    + """
local hold = tonumber(redis.call('GET', KEYS[2]) or '0')
local cap = tonumber(ARGV[4])
local set_at = tonumber(redis.call('GET', KEYS[3]) or '0')
if cap >= 0 and set_at > 0 and set_at + cap < hold then hold = set_at + cap end
if hold > now then return {hold - now, step} end
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - interval))
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
    local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
    return {math.max(1, tonumber(blocking[2]) + interval - now + 1), step}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], interval + 1000)
return {0, step}
"""
)

# KEYS: the hold, when it was set. ARGV: milliseconds. Keeps the later of the current and
# the new hold.
HOLD_SCRIPT = (
    _NOW
    + """
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > current then
    redis.call('SET', KEYS[1], now + ms, 'PX', ms)
    redis.call('SET', KEYS[2], now, 'PX', ms)
end
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
        self.hold_set_key = f"{bucket_key}:hold-set"
        self.clock_step_ms = 0
        """The last clock step (ms) a take undid; 0 when the clock did not go back."""
        self._waits = threading.local()

    @classmethod
    def create(cls, client: redis.Redis, budget: Budget, bucket_key: str) -> SharedRedisBucket:
        return cls(client, budget, bucket_key)

    def take_ms(self, max_hold_ms: int = -1) -> int:
        """0 if a slot was taken, else the milliseconds until one may be free."""
        member = uuid.uuid4().hex
        reply: Any = self._take(
            keys=[self.bucket_key, self.hold_key, self.hold_set_key],
            args=[self.budget.limit, self.budget.interval_ms, member, max_hold_ms],
        )
        wait, self.clock_step_ms = int(reply[0]), int(reply[1])
        return wait

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

    def take(self, max_hold: float | None = None) -> float:
        cap = -1 if max_hold is None else math.ceil(max_hold * 1000)
        try:
            wait = self._bucket.take_ms(cap)
        except redis.RedisError as exc:
            raise self._error("is unreachable or failed", exc) from exc
        if self._bucket.clock_step_ms > 0:
            logger.warning(
                "rate-limit store %s: the Redis clock is %.3fs behind the newest stamp "
                "there (it was set back); re-dated the budget's stamps to it",
                self.name,
                self._bucket.clock_step_ms / 1000,
            )
        return 0.0 if wait <= 0 else wait / 1000

    def hold(self, seconds: float) -> None:
        ms = max(1, int(seconds * 1000))
        try:
            self._hold(keys=[self._bucket.hold_key, self._bucket.hold_set_key], args=[ms])
        except redis.RedisError as exc:
            raise self._error("is unreachable or failed", exc) from exc

    def close(self) -> None:
        self._client.close()
