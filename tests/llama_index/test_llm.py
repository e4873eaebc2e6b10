"""ParallelLLM's eight endpoints: roles on the wire, the basis, streams, async, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
)

import parallel_adapters
from parallel_adapters._core import Transport
from parallel_adapters.llama_index import (
    ParallelLLM,
    basis_of,
    citations_of,
    interaction_id_of,
)

QUESTION = "What is the capital of France?"
FRANCE = "https://corpus.parallel-adapters.example/france"
BOTH_PROFILES = pytest.mark.parametrize("profile", ["documented", "openai"])

Wire = Callable[[], list[dict[str, Any]]]

pytestmark = pytest.mark.vcr


def _assert_grounded(response: ChatResponse | CompletionResponse) -> None:
    """The research is in the response's additional_kwargs, JSON-safe and typed."""
    extra = response.additional_kwargs
    assert extra["basis"], "a research model's answer carries a basis"
    assert extra["basis"][0]["citations"][0]["url"] == FRANCE
    assert [c["url"] for c in extra["citations"]] == [FRANCE]
    assert extra["interaction_id"]
    basis = basis_of(response)
    assert basis[0].confidence in {"low", "medium", "high"}
    assert basis[0].citations[0].excerpts, "excerpts come with the citation"
    assert citations_of(response)[0].url == FRANCE
    assert interaction_id_of(response) == extra["interaction_id"]
    assert isinstance(response.raw, dict)
    assert response.raw["interaction_id"] == extra["interaction_id"]


def _assert_stream(chunks: list[Any], final_text: str) -> None:
    """Every chunk sets delta; only the closing chunk carries the basis."""
    assert len(chunks) > 2, "the answer streams in pieces"
    assert all(isinstance(c.delta, str) for c in chunks)
    assert all(c.delta for c in chunks[:-1])
    assert "".join(c.delta for c in chunks) == final_text
    assert all("basis" not in c.additional_kwargs for c in chunks[:-1])
    assert chunks[-1].delta == ""
    _assert_grounded(chunks[-1])


@BOTH_PROFILES
def test_complete_returns_text_and_basis(llm: ParallelLLM, wire: Wire, profile: str) -> None:
    response = llm.complete(QUESTION)
    assert "Paris" in response.text
    _assert_grounded(response)
    assert wire() == [{"model": "base", "messages": [{"role": "user", "content": QUESTION}]}]
    # Token counts only when the server sent usage; never invented.
    assert ("total_tokens" in response.additional_kwargs) is (profile == "openai")


@BOTH_PROFILES
def test_chat_keeps_roles_and_leaves_message_kwargs_empty(
    llm: ParallelLLM, wire: Wire, profile: str
) -> None:
    messages = [
        ChatMessage(role=MessageRole.SYSTEM, content="Answer in one sentence."),
        ChatMessage(role=MessageRole.USER, content="Tell me about Germany."),
        ChatMessage(role=MessageRole.ASSISTANT, content="Germany is in Central Europe."),
        ChatMessage(role=MessageRole.USER, content=QUESTION),
    ]
    response = llm.chat(messages)
    assert response.message.role == MessageRole.ASSISTANT
    assert "Paris" in (response.message.content or "")
    # LlamaIndex feeds message.additional_kwargs back into the next prompt.
    assert response.message.additional_kwargs == {}
    _assert_grounded(response)
    assert wire()[0]["messages"] == [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "Tell me about Germany."},
        {"role": "assistant", "content": "Germany is in Central Europe."},
        {"role": "user", "content": QUESTION},
    ]


@BOTH_PROFILES
def test_stream_chat_sets_delta_and_ends_with_the_basis(
    llm: ParallelLLM, wire: Wire, profile: str
) -> None:
    chunks = list(llm.stream_chat([ChatMessage(role=MessageRole.USER, content=QUESTION)]))
    final = chunks[-1].message.content or ""
    assert "Paris" in final
    _assert_stream(chunks, final)
    assert chunks[-2].message.content == final, "each chunk holds the text so far"
    assert wire()[0]["stream"] is True


def test_stream_complete(llm: ParallelLLM) -> None:
    chunks = list(llm.stream_complete(QUESTION))
    _assert_stream(chunks, chunks[-1].text)
    assert all(isinstance(c, CompletionResponse) for c in chunks)


@BOTH_PROFILES
async def test_achat(llm: ParallelLLM, profile: str) -> None:
    response = await llm.achat([ChatMessage(role=MessageRole.USER, content=QUESTION)])
    assert "Paris" in (response.message.content or "")
    _assert_grounded(response)


@BOTH_PROFILES
async def test_astream_chat(llm: ParallelLLM, wire: Wire, profile: str) -> None:
    stream = await llm.astream_chat([ChatMessage(role=MessageRole.USER, content=QUESTION)])
    chunks = [chunk async for chunk in stream]
    _assert_stream(chunks, chunks[-1].message.content or "")
    assert wire()[0]["stream"] is True


async def test_acomplete(llm: ParallelLLM) -> None:
    response = await llm.acomplete(QUESTION)
    assert "Paris" in response.text
    _assert_grounded(response)


async def test_astream_complete(llm: ParallelLLM) -> None:
    stream = await llm.astream_complete(QUESTION)
    chunks = [chunk async for chunk in stream]
    _assert_stream(chunks, chunks[-1].text)


async def test_async_calls_never_touch_the_sync_transport(
    llm: ParallelLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truly async: no sync call wrapped in a coroutine (which would block the loop)."""

    def blocking(*_: object, **__: object) -> None:
        raise AssertionError("a blocking sync call from an async method")

    for name in ("complete", "stream"):
        monkeypatch.setattr(Transport, name, blocking)
    first, second = await asyncio.gather(
        llm.acomplete(QUESTION), llm.acomplete("What is the capital of Japan?")
    )
    assert "Paris" in first.text and "Tokyo" in second.text
    stream = await llm.astream_chat([ChatMessage(role=MessageRole.USER, content=QUESTION)])
    assert "Paris" in "".join([chunk.delta or "" async for chunk in stream])


def test_asyncio_run_twice_with_the_same_instance(llm: ParallelLLM) -> None:
    """Each asyncio.run closes its loop; a client cached from the first must not be reused."""
    first = asyncio.run(llm.acomplete(QUESTION))
    second = asyncio.run(llm.acomplete(QUESTION))
    assert first.text == second.text
    assert "Paris" in second.text


def test_speed_has_no_basis(make_llm: Callable[..., ParallelLLM]) -> None:
    response = make_llm("speed").complete(QUESTION)
    assert "Paris" in response.text
    assert response.additional_kwargs["basis"] == []
    assert basis_of(response) == []


def test_previous_interaction_id_passes_through(llm: ParallelLLM, wire: Wire) -> None:
    first = llm.complete(QUESTION)
    follow_up = llm.complete(
        "What river does it lie on?", previous_interaction_id=interaction_id_of(first)
    )
    assert follow_up.text
    assert wire()[1]["previous_interaction_id"] == interaction_id_of(first)


def test_model_can_be_changed_per_call_and_on_a_copy(llm: ParallelLLM, wire: Wire) -> None:
    llm.complete(QUESTION, model="lite")
    llm.model_copy(update={"model": "core"}).complete(QUESTION)
    assert [body["model"] for body in wire()] == ["lite", "core"]


def test_system_prompt_is_added_by_predict_not_by_chat(
    make_llm: Callable[..., ParallelLLM], wire: Wire
) -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = make_llm("base", system_prompt="You are a geography tutor.")
    llm.predict(PromptTemplate("What is the capital of {country}?"), country="France")
    llm.chat([ChatMessage(role=MessageRole.USER, content=QUESTION)])
    predicted, chatted = wire()
    assert predicted["messages"] == [
        {"role": "system", "content": "You are a geography tutor."},
        {"role": "user", "content": QUESTION},
    ]
    assert chatted["messages"] == [{"role": "user", "content": QUESTION}]


def test_text_blocks_are_joined_and_tool_results_labelled(llm: ParallelLLM, wire: Wire) -> None:
    messages = [
        ChatMessage(
            role=MessageRole.USER,
            blocks=[TextBlock(text="What is the capital"), TextBlock(text="of France?")],
        ),
        ChatMessage(
            role=MessageRole.TOOL,
            content="Paris has been the capital of France since 987.",
            additional_kwargs={"name": "lookup"},
        ),
    ]
    llm.chat(messages)
    assert wire()[0]["messages"] == [
        {
            "role": "user",
            "content": "What is the capital\nof France?\n\n[tool result from lookup]\n"
            "Paris has been the capital of France since 987.",
        }
    ]


# -- no cassette: these must fail before any request -------------------------------------


def test_image_input_is_refused_before_sending(make_llm: Callable[..., ParallelLLM]) -> None:
    llm = make_llm("base", base_url="http://127.0.0.1:9")  # nothing listens there
    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[TextBlock(text="What is this?"), ImageBlock(url="https://example.com/a.png")],
    )
    with pytest.raises(parallel_adapters.InputError, match="image"):
        llm.chat([message])
    with pytest.raises(parallel_adapters.InputError, match="image"):
        llm.stream_chat([message])


def test_unknown_parameter_is_refused_before_sending(make_llm: Callable[..., ParallelLLM]) -> None:
    llm = make_llm("base", base_url="http://127.0.0.1:9")
    with pytest.raises(parallel_adapters.InputError, match="frobnicate"):
        llm.complete(QUESTION, frobnicate=True)


async def test_async_bad_input_raises_at_call_time(make_llm: Callable[..., ParallelLLM]) -> None:
    llm = make_llm("base", base_url="http://127.0.0.1:9")
    with pytest.raises(parallel_adapters.InputError):
        await llm.astream_chat([])
