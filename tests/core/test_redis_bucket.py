"""pyrate-limiter 4.5's Redis bucket is racy as shipped; ours counts the whole window.

The stock script counts entries from the window start up to the *caller's* clock reading,
and stores the caller's stamp. Two processes: B reads its clock a moment after A but
writes first; A's count stops before B's entry, so both get the last slot. And a caller
that slept stamps its entry with the time read before sleeping, so the entry expires
early. Ours reads the Redis server's clock inside the script, counts everything in the
window, and stamps at write time.
"""

from __future__ import annotations

import redis
from pyrate_limiter import Rate, RateItem, RedisBucket

from parallel_adapters._core._ratestore import Budget
from parallel_adapters._core._ratestore_redis import SharedRedisBucket


def _client(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return client


def test_the_stock_bucket_misses_a_later_stamp_written_first(redis_url: str) -> None:
    # The control: this is the race, shown without timing.
    client = _client(redis_url)
    bucket = RedisBucket.init([Rate(1, 10_000)], client, "stock")
    assert isinstance(bucket, RedisBucket)
    now = bucket.now()
    assert bucket.put(RateItem("b", now + 1))  # B: read its clock later, wrote first
    assert bucket.put(RateItem("a", now))  # A: also admitted: 2 in a window of 1


def test_ours_counts_the_whole_window(redis_url: str) -> None:
    client = _client(redis_url)
    bucket = SharedRedisBucket.create(client, Budget(1, 10_000), "ours")
    now = bucket.now()
    assert bucket.put(RateItem("b", now + 1))
    assert not bucket.put(RateItem("a", now))
    wait = bucket.waiting(RateItem("a", now))
    assert isinstance(wait, int)
    assert 9_000 < wait <= 10_001


def test_ours_stamps_at_write_time_not_with_the_callers_clock(redis_url: str) -> None:
    client = _client(redis_url)
    bucket = SharedRedisBucket.create(client, Budget(2, 10_000), "stamp")
    stale = bucket.now() - 60_000  # a stamp read long before the write
    assert bucket.put(RateItem("late", stale))
    ((_, score),) = client.zrange(bucket.bucket_key, 0, -1, withscores=True)
    seconds, micros = client.time()
    assert abs(score - (seconds * 1000 + micros // 1000)) < 1_000


def test_the_stock_bucket_keeps_the_callers_stale_stamp(redis_url: str) -> None:
    client = _client(redis_url)
    bucket = RedisBucket.init([Rate(2, 10_000)], client, "stock-stamp")
    assert isinstance(bucket, RedisBucket)
    stale = bucket.now() - 60_000
    assert bucket.put(RateItem("late", stale))
    ((_, score),) = client.zrange("stock-stamp", 0, -1, withscores=True)
    assert score == stale  # already outside its window the moment it was written
