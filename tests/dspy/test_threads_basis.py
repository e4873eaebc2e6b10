"""Thread-safe Evaluate and Parallel, and collect_basis() across threads, tasks and cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import dspy
import pytest

from parallel_adapters.dspy import ParallelLM, collect_basis, research_of

from .questions import DEV_QUESTIONS

pytestmark = [pytest.mark.vcr, pytest.mark.filterwarnings("error::DeprecationWarning")]


def _devset() -> list[dspy.Example]:
    return [dspy.Example(question=q).with_inputs("question") for q in DEV_QUESTIONS]


def _grounded(example: dspy.Example, prediction: dspy.Prediction, trace: Any = None) -> bool:
    # The answer restates the claim it was asked about: no answer crossed threads.
    return prediction.answer.rstrip(".") == example.question.rstrip("?")


def test_evaluate_with_eight_threads(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    assert len(DEV_QUESTIONS) == 20
    evaluate = dspy.Evaluate(
        devset=_devset(), metric=_grounded, num_threads=8, display_progress=False
    )
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        result = evaluate(dspy.Predict("question -> answer"))
    assert result.score == 100.0
    assert len(result.results) == 20
    assert len(calls) == 20, "every worker thread's call reached the collector"
    assert {call.interaction_id for call in calls} == {
        research_of(entry["response"]).interaction_id for entry in lm.history
    }
    assert all(call.citations for call in calls)


def test_parallel_runs_thread_safely(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    program = dspy.Predict("question -> answer")
    pairs = [(program, {"question": q}) for q in DEV_QUESTIONS[:6]]
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        predictions = dspy.Parallel(num_threads=4, disable_progress_bar=True)(pairs)
    for question, prediction in zip(DEV_QUESTIONS[:6], predictions, strict=True):
        assert prediction.answer.rstrip(".") == question.rstrip("?")
    assert len(calls) == 6


def test_collect_basis_gathers_each_call_of_a_program_run(
    make_lm: Callable[..., ParallelLM],
) -> None:
    class TwoSteps(dspy.Module):
        def __init__(self) -> None:
            super().__init__()
            self.first = dspy.Predict("question -> answer")
            self.second = dspy.Predict("question -> answer")

        def forward(self, question: str, follow_up: str) -> dspy.Prediction:
            self.first(question=question)
            return self.second(question=follow_up)

    lm = make_lm("base")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        with collect_basis() as outer:
            with collect_basis() as inner:
                TwoSteps()(question=DEV_QUESTIONS[3], follow_up=DEV_QUESTIONS[4])
            dspy.Predict("question -> answer")(question=DEV_QUESTIONS[5])
        dspy.Predict("question -> answer")(question=DEV_QUESTIONS[6])
    assert len(inner) == 2
    assert len(outer) == 3, "an outer block also records the inner block's calls"
    assert [call.model for call in outer] == ["parallel/base"] * 3
    assert inner.last is not None and inner.last.basis
    citations = inner.citations
    assert citations and len({c.url for c in citations}) == len(citations)
    assert {s.field for s in outer.sources} == {"answer"}


def test_collect_basis_in_async_tasks(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    program = dspy.Predict("question -> answer")

    async def run() -> tuple[int, int]:
        async def one(question: str) -> int:
            with collect_basis() as own:
                await program.acall(question=question)
            return len(own)

        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
            sizes = await asyncio.gather(*(one(q) for q in DEV_QUESTIONS[7:10]))
        assert sizes == [1, 1, 1], "concurrent tasks never see each other's calls"
        return len(calls), len({c.interaction_id for c in calls})

    assert asyncio.run(run()) == (3, 3)


def test_collect_basis_counts_cache_hits(
    make_lm: Callable[..., ParallelLM], http_requests: Callable[[], int]
) -> None:
    lm = make_lm("base", cache=True)
    program = dspy.Predict("question -> answer")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        program(question=DEV_QUESTIONS[10])
        program(question=DEV_QUESTIONS[10])
    assert http_requests() == 1
    assert len(calls) == 2
    assert calls[0].basis == calls[1].basis and calls[0].citations


def test_collect_basis_with_history_disabled(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    with (
        dspy.context(lm=lm, adapter=dspy.JSONAdapter(), disable_history=True),
        collect_basis() as calls,
    ):
        dspy.Predict("question -> answer")(question=DEV_QUESTIONS[12])
    assert lm.history == []
    assert len(calls) == 1 and calls[0].citations
