"""`rate_limit_store`: one budget in a SQLite file or a Redis server, shared by every limiter
(every process) that names it. Instances of `RequestLimiter` stand in for processes here;
tests/reliability/test_shared_budget.py runs real processes against the emulator."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

import parallel_adapters as pa
from parallel_adapters import testing
from parallel_adapters._core import ParallelConfig
from parallel_adapters._core._ratelimit import RequestLimiter, shared_limiter
from parallel_adapters._core._ratestore_redis import KEY_PREFIX

SECRET = "sk-store-test-secret-0123456789"


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield redis_url
    client.close()


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'budget.db'}"
    url: str = request.getfixturevalue("redis_store")
    return url


def _pair(store: str, budget_id: str = "pair") -> tuple[RequestLimiter, RequestLimiter]:
    # 18 a minute over 10 s: 3 per window. Two limiters, as two processes would hold.
    make = lambda: RequestLimiter(18, window_seconds=10, store=store, budget_id=budget_id)  # noqa: E731
    return make(), make()


def test_two_limiters_on_one_store_share_one_budget(store: str) -> None:
    a, b = _pair(store)
    assert [a._store.take(), b._store.take(), a._store.take()] == [0.0, 0.0, 0.0]
    assert b._store.take() > 9
    assert a._store.take() > 9


def test_a_hold_from_one_limiter_stops_the_other(store: str) -> None:
    a, b = _pair(store, "hold")
    a.hold(30)
    assert b._store.take() > 29


def test_async_callers_share_the_budget(store: str) -> None:
    a, b = _pair(store, "async")

    async def main() -> None:
        await a.aacquire()
        await b.aacquire()
        await a.aacquire()

    asyncio.run(main())
    assert b._store.take() > 9


def test_other_budgets_are_separate(store: str) -> None:
    a, _ = _pair(store, "one")
    c, _ = _pair(store, "two")
    for _ in range(3):
        a._store.take()
    assert c._store.take() == 0.0


def test_the_key_never_reaches_the_store(tmp_path: Path, redis_store: str) -> None:
    db = tmp_path / "budget.db"
    for url in (f"sqlite://{db}", redis_store):
        limiter = shared_limiter("http://127.0.0.1:9", SECRET, 600, 1.0, url)
        limiter.acquire()
        limiter.hold(0.01)
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert SECRET.encode() not in data
        assert digest.encode() not in data
    client = redis.Redis.from_url(redis_store)
    keys = client.keys("*")
    assert keys
    for key in keys:
        dumped = key + (client.dump(key) or b"")
        assert SECRET.encode() not in dumped
        assert digest.encode() not in dumped


# -- a store that cannot be used: a typed error naming it, no hang ----------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_redis_raises_a_typed_error_naming_it() -> None:
    url = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    limiter = RequestLimiter(60, store=url, budget_id="down")
    with pytest.raises(pa.RateLimitStoreError) as caught:
        limiter.acquire()
    assert caught.value.store == url.replace("hunter2", "***")
    assert caught.value.store in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_an_unusable_sqlite_file_raises_a_typed_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    url = f"sqlite://{tmp_path / 'a-file' / 'budget.db'}"
    with pytest.raises(pa.RateLimitStoreError) as caught:
        RequestLimiter(60, store=url, budget_id="bad")
    assert caught.value.store == url
    assert url in str(caught.value)


def test_a_down_store_fails_the_request_before_anything_is_sent(
    emulator: testing.ParallelEmulator,
) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with (
        pa.ParallelChat(
            base_url=emulator.base_url, api_key="test-key", rate_limit_store=url
        ) as chat,
        pytest.raises(pa.RateLimitStoreError, match=url),
    ):
        chat("hello")

    async def main() -> None:
        async with pa.ParallelChat(
            base_url=emulator.base_url, api_key="test-key", rate_limit_store=url
        ) as achat:
            await achat.acomplete("hello")

    with pytest.raises(pa.RateLimitStoreError):
        asyncio.run(main())
    assert emulator.requests == []


def test_a_missing_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, redis_store: str
) -> None:
    monkeypatch.delitem(sys.modules, "parallel_adapters._core._ratestore_redis", raising=False)
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(pa.RateLimitStoreError, match=r"parallel-adapters\[redis\]"):
        RequestLimiter(60, store=redis_store, budget_id="nopkg")


# -- the option -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "sqlite://budget.db",
        "sqlite:///",
        "sqlite:relative.db",
        "redis://",
        "redis://host:notaport/0",
        "redis://host:6379/zero",
        "postgres://host/db",
        "memcached",
    ],
)
def test_a_bad_store_is_refused_before_any_request(bad: str) -> None:
    with pytest.raises(pa.InputError, match="rate_limit_store"):
        ParallelConfig.from_options(rate_limit_store=bad)


def test_the_store_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_RATE_LIMIT_STORE", "redis://cache:6379/2")
    assert ParallelConfig.from_options().rate_limit_store == "redis://cache:6379/2"
    assert ParallelConfig.from_options(rate_limit_store="memory").rate_limit_store == "memory"
    monkeypatch.delenv("PARALLEL_RATE_LIMIT_STORE")
    assert ParallelConfig.from_options().rate_limit_store == "memory"


def test_a_store_password_is_never_shown() -> None:
    config = ParallelConfig.from_options(rate_limit_store="redis://:hunter2@cache:6379/0")
    assert "hunter2" not in str(config.public_dict())
    with pytest.raises(pa.InputError) as caught:
        ParallelConfig.from_options(rate_limit_store="redis://:hunter2@cache:bad/0")
    assert "hunter2" not in str(caught.value)


def test_a_process_killed_holding_the_sqlite_lock_leaks_nothing(tmp_path: Path) -> None:
    db = tmp_path / "budget.db"
    limiter = RequestLimiter(60, store=f"sqlite://{db}", budget_id="killed")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, filelock\n"
            "filelock.FileLock(sys.argv[1]).acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
            f"{db}.lock",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "locked"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    # The kernel dropped the dead process's lock: the next take goes through.
    assert limiter._store.take() == 0.0


# -- clocks: stamps from a future clock (the clock went back) ---------------------------


HOUR_MS = 3_600_000


def _future_stamps(store: str, budget_id: str) -> None:
    """Fill the budget (3 per 10 s) and set a 5 s hold, all stamped an hour ahead of the
    store's clock: what a clock set back by an hour leaves behind."""
    if store.startswith("sqlite"):
        db = sqlite3.connect(store.removeprefix("sqlite://"))
        ahead = time.time_ns() // 1_000_000 + HOUR_MS
        table = f"budget_{budget_id}"
        db.executemany(
            f"INSERT INTO '{table}' (name, item_timestamp) VALUES ('request', ?)",
            [(ahead - 2,), (ahead - 1,), (ahead,)],
        )
        db.executemany(
            f"INSERT OR REPLACE INTO '{table}_hold' (id, until_ms) VALUES (?, ?)",
            [(1, ahead + 5000), (2, ahead)],
        )
        db.commit()
        db.close()
        return
    client = redis.Redis.from_url(store)
    seconds, micros = client.time()
    ahead = seconds * 1000 + micros // 1000 + HOUR_MS
    key = KEY_PREFIX + budget_id
    client.zadd(key, {"a": ahead - 2, "b": ahead - 1, "c": ahead})
    client.set(f"{key}:hold", ahead + 5000)
    client.set(f"{key}:hold-set", ahead)
    client.close()


def test_stamps_from_a_future_clock_are_redated_and_logged(
    store: str, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = _pair(store, "clock")
    assert a._store.take() == 0.0  # the store and its tables exist
    _future_stamps(store, "clock")
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        wait = b._store.take()
    # Re-dated by the step: the 5 s hold is 5 s again, not an hour and 5 s.
    assert 4.0 < wait <= 5.0
    assert "behind the newest stamp there (it was set back); re-dated" in caplog.text
    assert re.search(r"clock is 3(599|600)\.\d+s behind", caplog.text)
    # The hold is bounded by the caller's cap, counted from when it was set.
    assert b._store.take(1.0) <= 1.0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        # Once re-dated, the budget is full for at most one window: no wait is longer.
        assert a._store.take(0.0) <= 10.5
    assert "set back" not in caplog.text  # detected once, not on every take


def test_a_limiter_never_waits_longer_than_a_window_plus_the_hold_cap(store: str) -> None:
    a, b = _pair(store, "bounded")
    assert a._store.take() == 0.0
    _future_stamps(store, "bounded")
    for limiter in (a, b):
        assert limiter._store.take(2.0) <= 10.5 + 2.0
