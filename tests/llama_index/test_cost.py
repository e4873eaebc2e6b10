"""`additional_kwargs["cost"]` on every ParallelLLM answer, and the cap, against the emulator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

import parallel_adapters as pa
from parallel_adapters.llama_index import ParallelLLM
from parallel_adapters.testing import ParallelEmulator

QUESTION = "What does Parallel Web Systems do?"


def _llm(emulator: ParallelEmulator, model: str, **options: Any) -> ParallelLLM:
    return ParallelLLM(
        model=model,
        api_key="test-key",
        base_url=emulator.base_url,
        requests_per_minute=None,
        **options,
    )


@pytest.mark.parametrize(("model", "dollars"), [("base", 0.01), ("parallel-low", 0.01)])
def test_chat_and_completion_responses_carry_the_cost(
    emulator: ParallelEmulator, model: str, dollars: float
) -> None:
    llm = _llm(emulator, model)
    chat = llm.chat([ChatMessage(role="user", content=QUESTION)])
    completion = llm.complete(QUESTION)
    assert chat.additional_kwargs["cost"] == pytest.approx(dollars)
    assert completion.additional_kwargs["cost"] == pytest.approx(dollars)
    assert llm.client.total_cost == pytest.approx(2 * dollars)


def test_the_closing_stream_chunk_carries_the_cost(emulator: ParallelEmulator) -> None:
    llm = _llm(emulator, "core")
    chat_chunks = list(llm.stream_chat([ChatMessage(role="user", content=QUESTION)]))
    completion_chunks = list(llm.stream_complete(QUESTION))
    for chunks in (chat_chunks, completion_chunks):
        assert chunks[-1].additional_kwargs["cost"] == pytest.approx(0.025)
        assert all("cost" not in c.additional_kwargs for c in chunks[:-1])


def test_async_answers_carry_the_cost(emulator: ParallelEmulator) -> None:
    llm = _llm(emulator, "lite")

    async def main() -> tuple[Any, Any]:
        whole = await llm.acomplete(QUESTION)
        chunks = [c async for c in await llm.astream_complete(QUESTION)]
        return whole, chunks[-1]

    whole, last = asyncio.run(main())
    assert whole.additional_kwargs["cost"] == pytest.approx(0.005)
    assert last.additional_kwargs["cost"] == pytest.approx(0.005)


def test_max_cost_refuses_before_sending(emulator: ParallelEmulator) -> None:
    llm = _llm(emulator, "core", max_cost=0.04)
    llm.complete(QUESTION)
    with pytest.raises(pa.BudgetExceededError, match=r"over max_cost \$0\.0400"):
        llm.complete(QUESTION)
    assert len(emulator.requests) == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_a_bad_cap_is_an_input_error_at_construction(bad: float) -> None:
    with pytest.raises(pa.InputError, match="max_cost"):
        ParallelLLM(model="base", api_key="test-key", max_cost=bad)


def test_one_span_per_llm_call_under_the_current_span(
    emulator: ParallelEmulator, exporter: Any
) -> None:
    from opentelemetry import trace

    llm = _llm(emulator, "base")
    with trace.get_tracer_provider().get_tracer("app").start_as_current_span("query") as parent:
        llm.chat([ChatMessage(role="user", content=QUESTION)])
        list(llm.stream_complete(QUESTION))
    spans = [s for s in exporter.get_finished_spans() if s.name == "chat base"]
    assert [s.attributes["gen_ai.request.stream"] for s in spans] == [False, True]
    assert all(s.parent.span_id == parent.get_span_context().span_id for s in spans)
    assert all(s.attributes["parallel.cost_usd"] == pytest.approx(0.01) for s in spans)
