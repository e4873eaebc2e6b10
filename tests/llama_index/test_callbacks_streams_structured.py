"""Defects found by using ParallelLLM inside LlamaIndex's own machinery (issue 11).

Token counting through real callback managers, the basis of lazily streamed query
engines read after the `collect_basis()` block, and `as_structured_llm` responses.
Run against the live emulator (loopback): these are about LlamaIndex's plumbing, not
about request bodies, so no cassettes.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core import Document, Settings, SummaryIndex, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.embeddings import MockEmbedding
from pydantic import BaseModel

from parallel_adapters import testing
from parallel_adapters.llama_index import (
    ParallelLLM,
    basis_of,
    collect_basis,
    interaction_id_of,
)

QUESTION = "What is the capital of France?"
MESSAGES = [ChatMessage(role="user", content=QUESTION)]


class City(BaseModel):
    name: str
    country: str


@pytest.fixture
def make_llm(emulator: testing.ParallelEmulator) -> Callable[..., ParallelLLM]:
    def make(model: str = "base", **options: Any) -> ParallelLLM:
        return ParallelLLM(
            model=model,
            api_key=emulator.api_key,
            base_url=emulator.base_url,
            requests_per_minute=None,
            **options,
        )

    return make


def _drain(result: Any) -> Any:
    """Read a response, a stream or an async stream to its end; the last item."""

    async def adrain(value: Any) -> Any:
        value = await value
        if hasattr(value, "__aiter__"):
            items = [item async for item in value]
            return items[-1]
        return value

    if inspect.iscoroutine(result):
        return asyncio.run(adrain(result))
    if hasattr(result, "__next__"):
        return list(result)[-1]
    return result


CALLS: dict[str, Callable[[ParallelLLM], Any]] = {
    "complete": lambda llm: llm.complete(QUESTION),
    "stream_complete": lambda llm: llm.stream_complete(QUESTION),
    "acomplete": lambda llm: llm.acomplete(QUESTION),
    "astream_complete": lambda llm: llm.astream_complete(QUESTION),
    "chat": lambda llm: llm.chat(MESSAGES),
    "stream_chat": lambda llm: llm.stream_chat(MESSAGES),
    "achat": lambda llm: llm.achat(MESSAGES),
    "astream_chat": lambda llm: llm.astream_chat(MESSAGES),
}


# -- token counting ---------------------------------------------------------------------


@pytest.mark.parametrize("method", list(CALLS))
def test_token_counting_records_each_request_once(
    make_llm: Callable[..., ParallelLLM], emulator: testing.ParallelEmulator, method: str
) -> None:
    counter = TokenCountingHandler()
    llm = make_llm(callback_manager=CallbackManager([counter]))
    last = _drain(CALLS[method](llm))
    assert len(emulator.requests) == 1
    assert len(counter.llm_token_counts) == 1
    [count] = counter.llm_token_counts
    assert count.completion_token_count > 0
    # The completion paths still carry the research, and collect_basis still sees them.
    assert basis_of(last)


@pytest.mark.parametrize("streaming", [False, True])
def test_token_counting_in_a_query_engine(
    make_llm: Callable[..., ParallelLLM],
    emulator: testing.ParallelEmulator,
    monkeypatch: pytest.MonkeyPatch,
    streaming: bool,
) -> None:
    # LlamaIndex's documented set-up: engines hand Settings.callback_manager to their LLM.
    counter = TokenCountingHandler()
    monkeypatch.setattr(Settings, "_callback_manager", CallbackManager([counter]))
    index = SummaryIndex.from_documents([Document(text="Paris is the capital of France.")])
    response = index.as_query_engine(llm=make_llm(), streaming=streaming).query(QUESTION)
    str(response)
    assert len(emulator.requests) == 1
    assert len(counter.llm_token_counts) == 1


@pytest.mark.parametrize("method", ["complete", "stream_complete", "acomplete", "astream_complete"])
def test_completion_calls_reach_collect_basis_once(
    make_llm: Callable[..., ParallelLLM], method: str
) -> None:
    llm = make_llm()
    with collect_basis() as calls:
        last = _drain(CALLS[method](llm))
    assert len(calls) == 1
    assert calls.last is not None
    assert calls.last.basis == basis_of(last)
    assert calls.last.messages[-1].content == QUESTION
    assert calls.last.text == (last.text)


# -- streaming query engines read after the block ----------------------------------------


def _index(kind: str) -> Any:
    documents = [Document(text="Paris is the capital of France.")]
    if kind == "summary":
        return SummaryIndex.from_documents(documents)
    return VectorStoreIndex.from_documents(documents, embed_model=MockEmbedding(embed_dim=8))


@pytest.mark.parametrize("kind", ["summary", "vector"])
def test_streaming_query_read_after_the_block(
    make_llm: Callable[..., ParallelLLM], kind: str
) -> None:
    engine = _index(kind).as_query_engine(llm=make_llm(), streaming=True)
    with collect_basis() as calls:
        response = engine.query(QUESTION)
    text = "".join(response.response_gen)
    assert text
    assert len(calls) == 1
    assert calls.last is not None
    assert calls.last.basis
    assert calls.last.text == text


def test_streaming_query_read_inside_the_block_is_recorded_once(
    make_llm: Callable[..., ParallelLLM],
) -> None:
    engine = _index("summary").as_query_engine(llm=make_llm(), streaming=True)
    with collect_basis() as outer, collect_basis() as inner:
        response = engine.query(QUESTION)
        response.get_response()
    assert len(inner) == 1
    assert len(outer) == 1


def test_streaming_query_read_in_another_block_is_recorded_for_the_query(
    make_llm: Callable[..., ParallelLLM],
) -> None:
    engine = _index("summary").as_query_engine(llm=make_llm(), streaming=True)
    with collect_basis() as asked:
        response = engine.query(QUESTION)
    # Whether the reading block sees the call too depends on the LlamaIndex release
    # (0.14.0 calls the LLM inside query(), later ones when the stream is read): the
    # guarantee is the asking block's.
    with collect_basis() as reading:
        str(response)
    assert len(asked) == 1
    assert len(reading) <= 1


def test_streaming_query_not_read_records_nothing(
    make_llm: Callable[..., ParallelLLM], emulator: testing.ParallelEmulator
) -> None:
    engine = _index("summary").as_query_engine(llm=make_llm(), streaming=True)
    with collect_basis() as calls:
        engine.query(QUESTION)
    assert len(calls) == 0


def test_async_streaming_query_read_after_the_block(
    make_llm: Callable[..., ParallelLLM],
) -> None:
    engine = _index("summary").as_query_engine(llm=make_llm(), streaming=True)

    async def run() -> tuple[str, Any]:
        with collect_basis() as calls:
            response = await engine.aquery(QUESTION)
        text = "".join([token async for token in response.async_response_gen()])
        return text, calls

    text, calls = asyncio.run(run())
    assert text
    assert len(calls) == 1
    assert calls.last is not None
    assert calls.last.basis


# -- as_structured_llm ----------------------------------------------------------------------


def _structured_calls() -> dict[str, Callable[[Any], Any]]:
    return {
        "chat": lambda s: s.chat(MESSAGES),
        "achat": lambda s: asyncio.run(s.achat(MESSAGES)),
        "complete": lambda s: s.complete(QUESTION),
        "acomplete": lambda s: asyncio.run(s.acomplete(QUESTION)),
    }


@pytest.mark.parametrize("method", list(_structured_calls()))
def test_as_structured_llm_responses_carry_the_research(
    make_llm: Callable[..., ParallelLLM], emulator: testing.ParallelEmulator, method: str
) -> None:
    structured = make_llm().as_structured_llm(City)
    with collect_basis() as calls:
        response = _structured_calls()[method](structured)
    city = response.raw
    assert isinstance(city, City)
    text = response.text if method.endswith("complete") else response.message.content
    assert City.model_validate_json(text) == city
    assert {b.field for b in basis_of(response)} == {"name", "country"}
    assert interaction_id_of(response)
    # One request, recorded once (not again for the StructuredLLM wrapper).
    assert len(emulator.requests) == 1
    assert len(calls) == 1
    assert calls.last is not None
    assert calls.last.basis == basis_of(response)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_as_structured_llm_stream_ends_with_the_research(
    make_llm: Callable[..., ParallelLLM], emulator: testing.ParallelEmulator, asynchronous: bool
) -> None:
    structured = make_llm().as_structured_llm(City)

    async def achunks() -> list[Any]:
        return [chunk async for chunk in await structured.astream_chat(MESSAGES)]

    with collect_basis() as calls:
        chunks = asyncio.run(achunks()) if asynchronous else list(structured.stream_chat(MESSAGES))
    last = chunks[-1]
    assert isinstance(last.raw, City)
    assert City.model_validate_json(last.message.content or "") == last.raw
    assert {b.field for b in basis_of(last)} == {"name", "country"}
    assert interaction_id_of(last)
    # Only the closing chunk carries it, as with ParallelLLM's own streams.
    assert all("basis" not in chunk.additional_kwargs for chunk in chunks[:-1])
    assert len(emulator.requests) == 1
    assert len(calls) == 1


def test_subclasses_are_still_collected(emulator: testing.ParallelEmulator) -> None:
    class MyLLM(ParallelLLM):
        @classmethod
        def class_name(cls) -> str:
            return "MyLLM"

    llm = MyLLM(
        model="base",
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        requests_per_minute=None,
    )
    with collect_basis() as calls:
        llm.complete(QUESTION)
        llm.chat(MESSAGES)
    assert len(calls) == 2
