"""Async calls on the async engine, and token streaming through dspy.streamify."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import dspy
import pytest
from dspy.streaming import StreamListener, StreamResponse

import parallel_adapters
from parallel_adapters.dspy import ParallelEngine, ParallelLM, collect_basis, research_of

from .questions import DEV_QUESTIONS, QUESTION

pytestmark = [pytest.mark.vcr, pytest.mark.filterwarnings("error::DeprecationWarning")]

STREAM_QUESTION = DEV_QUESTIONS[0]


def _no_sync_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ParallelEngine, request: Any) -> Any:
        raise AssertionError("the sync engine was used on an async path")

    monkeypatch.setattr(ParallelEngine, "complete", refuse)
    monkeypatch.setattr(ParallelEngine, "stream", refuse)


def test_acall_uses_the_async_engine_on_each_event_loop(
    make_lm: Callable[..., ParallelLM], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_sync_engine(monkeypatch)
    lm = make_lm("base")
    program = dspy.Predict("question -> answer")

    async def ask(question: str) -> Any:
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            return await program.acall(question=question)

    # Two event loops, one after the other: an async client bound to the first
    # loop would fail on the second with "Event loop is closed".
    first = asyncio.run(ask(DEV_QUESTIONS[1]))
    second = asyncio.run(ask(DEV_QUESTIONS[2]))
    assert first.answer and second.answer and first.answer != second.answer
    assert research_of(lm.history[-1]["response"]).citations


def test_async_lm_call_returns_citations(
    make_lm: Callable[..., ParallelLM], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_sync_engine(monkeypatch)
    lm = make_lm("base")
    outputs = asyncio.run(lm.acall(QUESTION))
    assert outputs[0]["citations"]
    assert lm.history[-1]["response"].provider_data["basis"]


async def _stream(program: Any, **inputs: Any) -> list[Any]:
    return [value async for value in program(**inputs)]


@pytest.mark.parametrize("profile", ["documented", "openai"])
@pytest.mark.parametrize("is_async_program", [False, True], ids=["sync", "async"])
def test_streamify_yields_token_chunks_then_the_prediction(
    make_lm: Callable[..., ParallelLM], is_async_program: bool, profile: str
) -> None:
    lm = make_lm("base")
    streaming = dspy.streamify(
        dspy.Predict("question -> answer"),
        stream_listeners=[StreamListener(signature_field_name="answer")],
        is_async_program=is_async_program,
    )
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        values = asyncio.run(_stream(streaming, question=STREAM_QUESTION))

    chunks = [v for v in values if isinstance(v, StreamResponse)]
    assert len(chunks) > 1, "real tokens, not one whole-answer chunk"
    assert isinstance(values[-1], dspy.Prediction)
    assert all(isinstance(v, StreamResponse) for v in values[:-1])
    prediction = values[-1]
    # JSONAdapter's listener streams the JSON string value, quotes included.
    assert "".join(c.chunk for c in chunks).strip().strip('"') == prediction.answer
    # The basis travels on the stream's end event into history.
    response = lm.history[-1]["response"]
    assert research_of(response).citations
    assert response.provider_data["interaction_id"]
    assert len(calls) == 1 and calls[0].citations == research_of(response).citations
    outputs = lm.history[-1]["outputs"][0]
    assert outputs["citations"]
    usage = lm.history[-1]["usage"]
    if profile == "openai":
        assert usage["completion_tokens"] > 0
    else:
        assert usage == {}


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_streamify_with_chat_adapter_yields_token_chunks_in_one_request(
    make_lm: Callable[..., ParallelLM], http_requests: Callable[[], int]
) -> None:
    lm = make_lm("base")
    streaming = dspy.streamify(
        dspy.ChainOfThought("question -> answer"),
        stream_listeners=[StreamListener(signature_field_name="answer")],
        is_async_program=False,
    )
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()), collect_basis() as calls:
        values = asyncio.run(_stream(streaming, question=STREAM_QUESTION))

    chunks = [v for v in values if isinstance(v, StreamResponse)]
    assert len(chunks) > 1, "real tokens, not one whole-answer chunk"
    assert all(c.signature_field_name == "answer" for c in chunks)
    prediction = values[-1]
    assert isinstance(prediction, dspy.Prediction)
    # ChatAdapter's listener streams the section's text, markers excluded.
    assert "".join(c.chunk for c in chunks).strip() == prediction.answer
    assert prediction.reasoning
    assert http_requests() == 1, "the sections parse: no JSONAdapter fallback"
    research = research_of(lm.history[-1]["response"])
    assert [b.field for b in research.basis] == ["reasoning", "answer"]
    assert research.citations and calls[0].citations == research.citations
    # A streamed answer is priced like a whole one, in history and in the collector.
    assert lm.history[-1]["cost"] == pytest.approx(0.01)
    assert calls.total_cost == pytest.approx(0.01)


@pytest.mark.emulator_only
def test_stream_broken_midway_raises_with_partial_text_and_no_retry(
    make_lm: Callable[..., ParallelLM], http_requests: Callable[[], int]
) -> None:
    lm = make_lm(
        "base",
        max_retries=3,
        extra_headers={"x-emulator-fault": "error-mid-stream;after_chunks=3"},
    )
    streaming = dspy.streamify(
        dspy.Predict("question -> answer"),
        stream_listeners=[StreamListener(signature_field_name="answer")],
    )
    with (
        dspy.context(lm=lm, adapter=dspy.JSONAdapter()),
        pytest.raises(parallel_adapters.StreamError) as caught,
    ):
        asyncio.run(_stream(streaming, question=STREAM_QUESTION))
    assert isinstance(caught.value, dspy.LMError)
    assert caught.value.partial_text
    assert http_requests() == 1, "no retry once text has been streamed"
