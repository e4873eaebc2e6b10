"""Search and Extract are billed like answers: they count in `total_cost` and a
`max_cost` cap refuses them before anything is sent."""

from __future__ import annotations

import pytest

from parallel_adapters import BudgetExceededError, ParallelChat, UnprocessableRequestError
from parallel_adapters.testing import ParallelEmulator

CORPUS = "https://corpus.parallel-adapters.example/"


def _chat(emulator: ParallelEmulator, max_cost: float | None = None) -> ParallelChat:
    return ParallelChat(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        max_cost=max_cost,
        requests_per_minute=None,
    )


def test_search_and_extract_count_in_total_cost(emulator: ParallelEmulator) -> None:
    with _chat(emulator) as chat:
        found = chat.search("capital of France", mode="basic")
        read = chat.extract([CORPUS + "france"])
        assert found.cost == pytest.approx(0.005)
        assert read.cost == pytest.approx(0.001)
        assert chat.total_cost == pytest.approx(0.006)


def test_a_cap_refuses_a_search_before_sending(emulator: ParallelEmulator) -> None:
    with _chat(emulator, max_cost=0.004) as chat:
        with pytest.raises(BudgetExceededError, match=r"max_cost \$0\.0040"):
            chat.search("capital of France", mode="advanced")
        assert emulator.requests == []
        assert chat.total_cost == 0


async def test_a_cap_refuses_an_async_extract_before_sending(emulator: ParallelEmulator) -> None:
    with _chat(emulator, max_cost=0.0015) as chat:
        await chat.aextract([CORPUS + "france"])
        assert chat.total_cost == pytest.approx(0.001)
        with pytest.raises(BudgetExceededError, match="nothing was sent"):
            await chat.aextract([CORPUS + "japan"])
        assert len(emulator.requests) == 1


def test_an_error_status_costs_nothing_and_a_retry_is_charged_once(
    emulator: ParallelEmulator,
) -> None:
    with ParallelChat(
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        requests_per_minute=None,
        retry_initial_delay=0.0,
    ) as chat:
        emulator.inject("422")
        with pytest.raises(UnprocessableRequestError, match=r"validation error \(HTTP 422\)"):
            chat.search("capital of France", mode="turbo")
        assert chat.total_cost == 0
        emulator.inject("503")
        chat.search("capital of France", mode="turbo")  # retried once, billed once
        assert len(emulator.requests) == 3
        assert chat.total_cost == pytest.approx(0.001)
