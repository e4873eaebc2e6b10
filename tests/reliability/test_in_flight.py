"""Long research calls mean many requests in flight at once (issue 15).

At 300 requests a minute and 1-5 minutes per `core` call, 300-1,500 requests are in
flight. Scaled down here (300 at once, 1 s answers); the full figure (1,000 at 500 in
flight) is in the bench (`python -m bench._scale`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import openai
import pytest

import parallel_adapters as pa
from parallel_adapters import testing
from parallel_adapters._core import _config

IN_FLIGHT = 300


def test_300_in_flight_with_1s_answers_all_succeed(
    emulator: testing.ParallelEmulator, make_chat: Callable[..., pa.ParallelChat]
) -> None:
    emulator.latency = testing.LatencyModel.fixed(ttft=1.0)
    chat = make_chat(max_retries=0, timeout=60)

    async def main() -> list[Any]:
        try:
            return await chat.amap(
                [f"in flight {i}" for i in range(IN_FLIGHT)],
                concurrency=IN_FLIGHT,
                return_exceptions=True,
            )
        finally:
            await chat.aclose()

    results = asyncio.run(main())
    assert [r for r in results if isinstance(r, Exception)] == []
    arrivals = sorted(e.time for e in emulator.requests if e.path.endswith("/chat/completions"))
    assert len(arrivals) == IN_FLIGHT
    # They really were in flight together: most arrived within one answer's time.
    together = max(
        sum(1 for t in arrivals[i:] if t - arrivals[i] < 1.0) for i in range(len(arrivals))
    )
    assert together >= IN_FLIGHT // 2


@pytest.mark.parametrize("factory", ["DefaultHttpxClient", "DefaultAsyncHttpxClient"])
def test_the_pool_limits_are_set_explicitly(
    monkeypatch: pytest.MonkeyPatch,
    emulator: testing.ParallelEmulator,
    make_chat: Callable[..., pa.ParallelChat],
    factory: str,
) -> None:
    seen: list[Any] = []
    real = getattr(openai, factory)

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs["limits"])
        return real(**kwargs)

    monkeypatch.setattr(openai, factory, spy)
    chat = make_chat(max_retries=0)
    if factory == "DefaultHttpxClient":
        chat("pool")
    else:

        async def main() -> None:
            await chat.acomplete("pool")
            await chat.aclose()

        asyncio.run(main())
    (limits,) = seen
    assert limits.max_connections == _config.MAX_CONNECTIONS >= 1500
    assert limits.max_keepalive_connections == _config.MAX_KEEPALIVE_CONNECTIONS
