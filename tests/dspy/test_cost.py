"""What each ParallelLM call cost, in DSPy's history and for a whole program run.

Against the live emulator (its request log tells what was sent); DSPy's cache is the
private in-memory one of conftest.
"""

from __future__ import annotations

import asyncio
from typing import Any

import dspy
import pytest

import parallel_adapters as pa
from parallel_adapters.dspy import ParallelLM, collect_basis
from parallel_adapters.testing import ParallelEmulator

QUESTION = "What does Parallel Web Systems do?"


def _lm(emulator: ParallelEmulator, model: str, **options: Any) -> ParallelLM:
    return ParallelLM(
        model,
        api_key="test-key",
        base_url=emulator.base_url,
        requests_per_minute=None,
        **options,
    )


@pytest.mark.parametrize(
    ("model", "dollars"),
    [("speed", 0.005), ("base", 0.01), ("core", 0.025), ("parallel-high", 0.25)],
)
def test_each_history_entry_has_the_call_cost(
    emulator: ParallelEmulator, model: str, dollars: float
) -> None:
    lm = _lm(emulator, model, cache=False)
    lm(QUESTION)
    entry = lm.history[-1]
    assert entry["cost"] == pytest.approx(dollars)
    assert entry["cache_hit"] is False
    assert entry["cost_details"]["kind"] == "per_request"


def test_a_cache_hit_is_marked_and_costs_nothing(emulator: ParallelEmulator) -> None:
    lm = _lm(emulator, "base", cache=True)
    first = lm(QUESTION)
    second = lm(QUESTION)
    assert second == first
    assert len(emulator.requests) == 1
    live, hit = lm.history[-2:]
    assert (live["cost"], live["cache_hit"]) == (pytest.approx(0.01), False)
    assert (hit["cost"], hit["cache_hit"]) == (0.0, True)


def test_async_calls_are_priced_too(emulator: ParallelEmulator) -> None:
    lm = _lm(emulator, "lite", cache=False)
    asyncio.run(lm.acall(QUESTION))
    assert lm.history[-1]["cost"] == pytest.approx(0.005)


class _Answer(dspy.Signature):  # type: ignore[misc]
    """Answer the question."""

    question: str = dspy.InputField()
    answer: str = dspy.OutputField()


def test_one_program_run_across_dspy_parallel_threads(emulator: ParallelEmulator) -> None:
    lm = _lm(emulator, "base", cache=True)
    program = dspy.Predict(_Answer)
    questions = [f"{QUESTION} ({n})" for n in range(4)]
    with dspy.context(lm=lm, track_usage=True), collect_basis() as calls:
        runner = dspy.Parallel(num_threads=4)
        runner([(program, {"question": q}) for q in questions])
        program(question=questions[0])  # a cache hit: costs nothing
    assert len(emulator.requests) == 4
    assert len(calls) == 5
    assert sum(call.cache_hit for call in calls) == 1
    assert calls.total_cost == pytest.approx(0.04)


def test_track_usage_reports_tokens_not_dollars(emulator: ParallelEmulator) -> None:
    lm = _lm(emulator, "base", cache=False)
    with dspy.context(lm=lm, track_usage=True), collect_basis() as calls:
        prediction = dspy.Predict(_Answer)(question=QUESTION)
    # Parallel's documented answers carry no token counts: DSPy's tracker stays empty,
    # and the run's dollars come from the collector.
    assert prediction.get_lm_usage() == {}
    assert calls.total_cost == pytest.approx(0.01)


def test_the_cap_is_a_dspy_billing_error_raised_before_sending(
    emulator: ParallelEmulator,
) -> None:
    lm = _lm(emulator, "core", cache=False, max_cost=0.03)
    lm(QUESTION)
    with pytest.raises(dspy.LMBillingError, match="over max_cost") as caught:
        lm(QUESTION)
    assert isinstance(caught.value, pa.BudgetExceededError)
    assert len(emulator.requests) == 1
    assert lm.engine.client.total_cost == pytest.approx(0.025)


def test_one_span_per_lm_call_and_none_for_a_cache_hit(
    emulator: ParallelEmulator, exporter: Any
) -> None:
    lm = _lm(emulator, "core", cache=True)
    with dspy.context(lm=lm):
        dspy.Predict(_Answer)(question=QUESTION)
        dspy.Predict(_Answer)(question=QUESTION)  # DSPy's cache: nothing sent
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat core"
    assert span.attributes is not None
    assert span.attributes["parallel.cost_usd"] == pytest.approx(0.025)
    assert len(emulator.requests) == 1
