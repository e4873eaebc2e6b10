"""Load: thousands of requests, none lost, none duplicated, none out of order, no fd left.

Every prompt names one page of a generated corpus ("item code zx17q"), and the emulator
answers from that page alone, so each answer says which prompt it belongs to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import testing

from .conftest import FAST, SENTINEL_KEY, chat_requests, measure, open_fds, record, settle_fds

ASYNC_REQUESTS = 2_000
IN_FLIGHT = 200
MAP_PROMPTS = 500
EVAL_EXAMPLES = 200


def _page(i: int) -> dict[str, str]:
    return {
        "url": f"https://records.example/{i}",
        "title": f"Record {i}",
        "text": f"Item code zx{i}q belongs to entry {i}. It is the record numbered {i}.",
    }


def _prompt(i: int) -> str:
    return f"What is item code zx{i}q?"


def _answers_prompt(text: str, i: int) -> bool:
    return f"zx{i}q" in text or f"entry {i}." in text


@pytest.fixture(scope="module")
def records() -> Iterator[testing.ParallelEmulator]:
    pages = [_page(i) for i in range(ASYNC_REQUESTS)]
    with testing.ParallelEmulator(api_key=SENTINEL_KEY, corpus=pages) as emulator:
        yield emulator


@pytest.fixture
def records_emulator(records: testing.ParallelEmulator) -> Iterator[testing.ParallelEmulator]:
    records.reset()
    yield records
    record("requests_sent", chat_requests(records))


@pytest.fixture
def fd_baseline(records_emulator: testing.ParallelEmulator) -> Iterator[int]:
    baseline = settle_fds(open_fds())
    yield baseline
    assert settle_fds(baseline) <= baseline, "a connection was left open"


def _chat(emulator: testing.ParallelEmulator, **options: Any) -> pa.ParallelChat:
    return pa.ParallelChat(base_url=emulator.base_url, api_key=SENTINEL_KEY, **{**FAST, **options})


def test_2000_async_requests_200_in_flight_each_answered_once_in_order(
    records_emulator: testing.ParallelEmulator, fd_baseline: int
) -> None:
    prompts = [_prompt(i) for i in range(ASYNC_REQUESTS)]
    chat = _chat(records_emulator)

    async def main() -> list[Any]:
        results = await chat.amap(prompts, concurrency=IN_FLIGHT)
        assert asyncio.all_tasks() == {asyncio.current_task()}, "a task was left behind"
        return results

    start = time.perf_counter()
    try:
        results = asyncio.run(main())
    finally:
        chat.close()
    elapsed = time.perf_counter() - start

    lost = sum(
        1
        for i, result in enumerate(results)
        if not (isinstance(result, pa.Completion) and _answers_prompt(result.text, i))
    )
    record("answers_expected", ASYNC_REQUESTS)
    record("answers_lost", lost + ASYNC_REQUESTS - len(results))
    record("load.async_requests", ASYNC_REQUESTS)
    record("load.async_in_flight", IN_FLIGHT)
    measure("async_seconds", elapsed)
    measure("async_requests_per_second", ASYNC_REQUESTS / elapsed)
    assert len(results) == ASYNC_REQUESTS
    assert lost == 0
    assert len({r.interaction_id for r in results}) == ASYNC_REQUESTS, "an answer came twice"
    sent = [entry.json["messages"][-1]["content"] for entry in records_emulator.requests]
    assert sorted(sent) == sorted(prompts), "each prompt reached the server exactly once"


# Sprinkled over the requests in arrival order: a queued fault is taken by whichever
# request comes next, retries included. "keepalive-comments" has no effect on a
# non-streaming request: it is the queue's way of saying "no fault this time".
SPRINKLE = [
    "503",
    "429",
    "envelope-parallel",
    "disconnect-before-first-byte",
    "malformed-json",
    "500",
    "envelope-fastapi",
    "502",
]


def test_map_with_faults_sprinkled_in_accounts_for_every_prompt(
    records_emulator: testing.ParallelEmulator, fd_baseline: int
) -> None:
    for i in range(MAP_PROMPTS):
        records_emulator.inject(
            SPRINKLE[(i // 10) % len(SPRINKLE)] if i % 10 == 0 else "keepalive-comments"
        )
    prompts = [_prompt(i) for i in range(MAP_PROMPTS)]
    start = time.perf_counter()
    with _chat(records_emulator, max_retries=1) as chat:
        results = chat.map(prompts, concurrency=16, return_exceptions=True)
    measure("map_seconds", time.perf_counter() - start)

    answers = [(i, r) for i, r in enumerate(results) if isinstance(r, pa.Completion)]
    errors = [r for r in results if isinstance(r, Exception)]
    record("answers_expected", MAP_PROMPTS)
    record("answers_lost", MAP_PROMPTS - len(answers) - len(errors))
    record("load.map_prompts", MAP_PROMPTS)
    record("load.map_errors", len(errors))
    assert len(results) == MAP_PROMPTS
    assert len(answers) + len(errors) == MAP_PROMPTS
    assert all(_answers_prompt(r.text, i) for i, r in answers), "an answer is out of place"
    assert errors, "the permanent faults (402, 422) cannot all have been retried away"
    assert all(isinstance(e, pa.ParallelError) for e in errors), errors
    # Every failed prompt spent its attempts: at least one request, at most max_retries + 1.
    sent = chat_requests(records_emulator)
    assert MAP_PROMPTS <= sent <= 2 * MAP_PROMPTS


def test_dspy_evaluate_16_threads_over_200_examples(
    records_emulator: testing.ParallelEmulator, fd_baseline: int
) -> None:
    import dspy

    from parallel_adapters.dspy import ParallelLM

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    lm = ParallelLM(
        "speed", cache=False, api_key=SENTINEL_KEY, base_url=records_emulator.base_url, **FAST
    )
    devset = [
        dspy.Example(question=_prompt(i), code=f"zx{i}q").with_inputs("question")
        for i in range(EVAL_EXAMPLES)
    ]

    def names_the_record(example: Any, prediction: Any, trace: Any = None) -> bool:
        return example.code in str(prediction.answer)

    evaluate = dspy.Evaluate(
        devset=devset,
        metric=names_the_record,
        num_threads=16,
        display_progress=False,
        max_errors=EVAL_EXAMPLES,
    )
    start = time.perf_counter()
    try:
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            result = evaluate(dspy.Predict("question -> answer"))
    finally:
        lm.engine.close()
    measure("dspy_evaluate_seconds", time.perf_counter() - start)
    record("answers_expected", EVAL_EXAMPLES)
    scored = [r for r in result.results if r[2]]
    record("answers_lost", EVAL_EXAMPLES - len(scored))
    record("load.dspy_evaluate_examples", EVAL_EXAMPLES)
    assert len(result.results) == EVAL_EXAMPLES
    assert result.score == 100.0
    assert chat_requests(records_emulator) == EVAL_EXAMPLES
