"""What each answer cost, what a client has spent, and the cap it may not go over.

Against the emulator: "nothing was sent" is read from the emulator's own request log.
"""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core._budget import Budget, billed_after
from parallel_adapters._core._prices import PRICE_PER_1000, PRICES_SOURCE_DATE, call_price
from parallel_adapters.testing import ParallelEmulator

FAST_RETRIES = {"retry_initial_delay": 0.01, "retry_max_delay": 0.02}

PRICES = [
    ("speed", 0.005),
    ("lite", 0.005),
    ("base", 0.010),
    ("core", 0.025),
    ("parallel", 0.05),
    ("parallel-low", 0.01),
    ("parallel-medium", 0.05),
    ("parallel-high", 0.25),
]


def _chat(emulator: ParallelEmulator, **options: Any) -> pa.ParallelChat:
    options = {**FAST_RETRIES, "requests_per_minute": None, **options}
    return pa.ParallelChat(base_url=emulator.base_url, api_key="test-key", **options)


@pytest.mark.parametrize(("model", "dollars"), PRICES)
def test_each_model_answer_carries_its_published_price(
    emulator: ParallelEmulator, model: str, dollars: float
) -> None:
    chat = _chat(emulator, model=model)
    completion = chat("What does Parallel Web Systems do?")
    assert completion.cost == pytest.approx(dollars)
    assert chat.total_cost == pytest.approx(dollars)


@pytest.mark.parametrize(("model", "dollars"), PRICES)
def test_each_model_streamed_answer_carries_its_price(
    emulator: ParallelEmulator, model: str, dollars: float
) -> None:
    chat = _chat(emulator, model=model)
    stream = chat.stream("What does Parallel Web Systems do?")
    assert stream.collect().cost == pytest.approx(dollars)
    assert chat.total_cost == pytest.approx(dollars)


def test_the_configured_effort_prices_the_responses_model(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="parallel", reasoning_effort="high")
    assert chat("What is DSPy?").cost == pytest.approx(0.25)
    assert chat("What is DSPy?", reasoning_effort="low").cost == pytest.approx(0.01)
    assert chat.total_cost == pytest.approx(0.26)


def test_call_price_is_keyed_by_api_model_and_effort() -> None:
    assert call_price("chat", "core") == pytest.approx(0.025)
    assert call_price("responses", "parallel", "high") == pytest.approx(0.25)
    assert call_price("responses", "parallel") == pytest.approx(0.05)  # server default
    assert call_price("chat", "no-such-model") is None
    assert call_price("no-such-api", "base") is None


def test_async_answers_count_too(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="base")

    async def main() -> list[pa.Completion]:
        whole = await chat.acomplete("What is DSPy?")
        streamed = await chat.astream("What is DSPy?").collect()
        return [whole, streamed]

    answers = asyncio.run(main())
    assert [a.cost for a in answers] == [pytest.approx(0.01)] * 2
    assert chat.total_cost == pytest.approx(0.02)


# -- the cap ------------------------------------------------------------------------------


def test_the_cap_refuses_before_sending(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="core", max_cost=0.06)
    chat("What is DSPy?")
    chat("What is DSPy?")
    sent = len(emulator.requests)
    with pytest.raises(pa.BudgetExceededError, match=r"max_cost \$0\.0600.*\$0\.0500 spent") as e:
        chat("What is DSPy?")
    assert len(emulator.requests) == sent == 2
    assert isinstance(e.value, pa.ParallelError)
    assert (e.value.max_cost, e.value.spent, e.value.price) == (0.06, 0.05, 0.025)
    assert chat.total_cost == pytest.approx(0.05)
    # A cheaper model still fits under the cap.
    assert chat("What is DSPy?", model="speed").cost == pytest.approx(0.005)


def test_the_cap_refuses_a_stream_and_an_async_call_before_sending(
    emulator: ParallelEmulator,
) -> None:
    chat = _chat(emulator, model="parallel-high", max_cost=0.2)
    with pytest.raises(pa.BudgetExceededError, match="over max_cost"):
        chat.stream("What is DSPy?").collect()
    with pytest.raises(pa.BudgetExceededError, match="over max_cost"):
        asyncio.run(chat.acomplete("What is DSPy?"))
    with pytest.raises(pa.BudgetExceededError, match="over max_cost"):
        asyncio.run(chat.astream("What is DSPy?").collect())
    assert emulator.requests == []
    assert chat.total_cost == 0


def test_a_cap_of_exactly_the_spend_lets_the_last_call_through(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="speed", max_cost=0.015)
    for _ in range(3):
        chat("hi")
    with pytest.raises(pa.BudgetExceededError):
        chat("hi")
    assert len(emulator.requests) == 3


def test_threads_racing_for_the_last_dollars_never_exceed_the_cap(
    emulator: ParallelEmulator,
) -> None:
    chat = _chat(emulator, model="base", max_cost=0.05)  # room for exactly 5 calls
    outcomes: list[object] = []
    lock = threading.Lock()

    def ask() -> None:
        try:
            result: object = chat("What is DSPy?")
        except pa.BudgetExceededError as exc:
            result = exc
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = [o for o in outcomes if isinstance(o, pa.Completion)]
    assert len(answered) == 5
    assert len(emulator.requests) == 5
    assert chat.total_cost == pytest.approx(0.05)


def test_async_tasks_racing_never_exceed_the_cap(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="base", max_cost=0.03)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(chat.acomplete("What is DSPy?") for _ in range(10)), return_exceptions=True
        )

    results = asyncio.run(main())
    assert sum(isinstance(r, pa.Completion) for r in results) == 3
    assert sum(isinstance(r, pa.BudgetExceededError) for r in results) == 7
    assert len(emulator.requests) == 3


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.01, "ten"])
def test_a_cap_that_is_not_a_finite_non_negative_number_is_refused(bad: Any) -> None:
    with pytest.raises(pa.InputError, match="max_cost"):
        pa.ParallelChat(api_key="test-key", max_cost=bad)
    with pytest.raises(pa.InputError, match="max_cost"):
        Budget(bad)


@pytest.mark.parametrize("fault", ["400", "422", "envelope-fastapi", "401", "402"])
def test_a_call_refused_by_the_server_costs_nothing(emulator: ParallelEmulator, fault: str) -> None:
    chat = _chat(emulator, model="core", max_cost=0.025)
    emulator.inject(fault)
    with pytest.raises(pa.APIStatusError):
        chat("What is DSPy?")
    assert chat.total_cost == 0
    # The refused call did not eat the budget: the next one still fits.
    assert chat("What is DSPy?").cost == pytest.approx(0.025)


def test_a_retried_call_is_charged_once(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="base", max_retries=2)
    emulator.inject("503")
    emulator.inject("500")
    assert chat("What is DSPy?").cost == pytest.approx(0.01)
    assert len(emulator.requests) == 3
    assert chat.total_cost == pytest.approx(0.01)


def test_a_stream_broken_after_text_counts(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="lite")
    emulator.inject("disconnect-mid-stream;after_chunks=3")
    with pytest.raises(pa.StreamError):
        chat.stream("What is DSPy?").collect()
    assert chat.total_cost == pytest.approx(0.005)


def test_a_stream_closed_early_counts_and_releases_its_hold(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="lite", max_cost=0.01)
    with chat.stream("What is DSPy?") as stream:
        next(iter(stream))
    assert chat.total_cost == pytest.approx(0.005)
    assert chat("What is DSPy?").cost == pytest.approx(0.005)  # the hold was released


def test_what_may_have_been_billed() -> None:
    assert not billed_after(pa.BadRequestError("bad", status_code=400))
    assert not billed_after(pa.ServerError("down", status_code=503))
    assert not billed_after(pa.InputError("bad input"))
    assert billed_after(pa.APITimeoutError("no answer"))
    assert billed_after(pa.StreamError("broke", partial_text="abc"))
    assert billed_after(KeyboardInterrupt())


def test_the_docs_price_table_is_the_code_table() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cost-and-tracing.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)` \| [^|]+ \| \$([\d.]+) \| \$([\d,]+) \|$", page, re.M)
    assert {model: float(each) for model, each, _ in rows} == {
        model: per_1000 / 1000 for model, per_1000 in PRICE_PER_1000.items()
    }
    assert {model: float(per_1000) for model, _, per_1000 in rows} == PRICE_PER_1000
    assert PRICES_SOURCE_DATE in page


def test_an_answer_read_back_from_a_journal_keeps_its_cost_and_is_not_paid_again(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    chat = _chat(emulator, model="base")
    journal = tmp_path / "answers.jsonl"
    (first,) = chat.map([QUESTION_FOR_JOURNAL], journal=journal)
    (again,) = chat.map([QUESTION_FOR_JOURNAL], journal=journal)
    assert first.cost == again.cost == pytest.approx(0.01)
    assert len(emulator.requests) == 1
    assert chat.total_cost == pytest.approx(0.01)


QUESTION_FOR_JOURNAL = "What does Parallel Web Systems do?"
