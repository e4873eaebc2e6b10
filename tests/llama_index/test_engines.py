"""ParallelLLM inside standard engines over a real VectorStoreIndex, and their basis."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.chat_engine import SimpleChatEngine
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.prompts import PromptTemplate

from parallel_adapters.llama_index import ParallelLLM, basis_of, collect_basis

Wire = Callable[[], list[dict[str, Any]]]

pytestmark = pytest.mark.vcr

QUESTION = "What is the capital of France?"
FRANCE = "https://corpus.parallel-adapters.example/france"
DOCUMENTS = [
    "France is a country in Western Europe.",
    "Its capital is Paris, on the river Seine.",
    "France uses the euro.",
]
# A custom template (context, then the bare question): the emulator answers it from the web
# corpus like any plain question. The default QA template is covered by
# test_default_prompts_reach_the_wire and test_default_qa_template_answers_from_the_documents.
QA = PromptTemplate("{context_str}\n\n{query_str}")
# Facts no web page of the emulator's corpus holds: an answer with them comes from the index.
LOCAL_DOCUMENTS = [
    "The Zorblax reactor was commissioned in 1987 by Helga Varn.",
    "Its coolant is liquid sodium, pumped through twelve loops.",
]


@pytest.fixture(scope="module")
def index() -> VectorStoreIndex:
    # MockEmbedding gives every node the same vector, so retrieval breaks ties on node ids:
    # fixed ids make the retrieved context (and so the request body) the same on every run.
    splitter = SentenceSplitter(id_func=lambda i, doc: f"{doc.id_}-node-{i}")
    return VectorStoreIndex.from_documents(
        [Document(text=text, id_=f"doc-{n}") for n, text in enumerate(DOCUMENTS)],
        embed_model=MockEmbedding(embed_dim=8),
        transformations=[splitter],
    )


def _roles(body: dict[str, Any]) -> list[str]:
    return [m["role"] for m in body["messages"]]


def _assert_retrieved_context_sent(body: dict[str, Any]) -> None:
    user = body["messages"][-1]["content"]
    assert QUESTION in user
    assert sum(doc in user for doc in DOCUMENTS) == 2, "the retrieved nodes reach the model"


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_query_engine_answers_and_its_basis_is_collected(
    index: VectorStoreIndex, llm: ParallelLLM, wire: Wire, profile: str
) -> None:
    engine = index.as_query_engine(llm=llm, text_qa_template=QA)
    with collect_basis() as calls:
        response = engine.query(QUESTION)
    assert isinstance(response, Response)
    assert "Paris" in str(response)
    assert len(response.source_nodes) == 2, "the index's own nodes are unchanged"
    [body] = wire()
    assert _roles(body) == ["user"]
    _assert_retrieved_context_sent(body)
    [call] = calls
    assert call.text == str(response)
    assert call.basis and call.basis[0].citations[0].url == FRANCE
    assert calls.citations[0].url == FRANCE
    assert call.interaction_id
    assert call.model == "base"
    assert [m.role.value for m in call.messages] == ["user"]


def test_default_prompts_reach_the_wire(
    index: VectorStoreIndex, llm: ParallelLLM, wire: Wire
) -> None:
    with collect_basis() as calls:
        response = index.as_query_engine(llm=llm).query(QUESTION)
    [body] = wire()
    assert _roles(body) == ["system", "user"]
    assert "Context information is below." in body["messages"][1]["content"]
    _assert_retrieved_context_sent(body)
    assert len(calls) == 1 and calls.last is not None and calls.last.text == str(response)
    # The model follows the template: it answers the Query from the supplied context.
    assert "Paris" in str(response)
    sent = body["messages"][1]["content"]
    assert all(sentence in sent for sentence in str(response).split(". ") if sentence)
    [entry] = calls.last.basis
    assert entry.citations == [], "context from the index is not cited as a web page"
    assert "context supplied" in (entry.reasoning or "")


def test_default_qa_template_answers_from_the_documents(wire: Wire, llm: ParallelLLM) -> None:
    splitter = SentenceSplitter(id_func=lambda i, doc: f"{doc.id_}-node-{i}")
    local = VectorStoreIndex.from_documents(
        [Document(text=text, id_=f"local-{n}") for n, text in enumerate(LOCAL_DOCUMENTS)],
        embed_model=MockEmbedding(embed_dim=8),
        transformations=[splitter],
    )
    with collect_basis() as calls:
        response = local.as_query_engine(llm=llm).query("Who commissioned the Zorblax reactor?")
    assert str(response) == LOCAL_DOCUMENTS[0]
    assert len(wire()) == 1, "one request: the compact synthesizer's text-QA call"
    assert calls.last is not None and calls.last.citations == []
    assert calls.last.basis[0].confidence == "high"


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_streaming_query(
    index: VectorStoreIndex, llm: ParallelLLM, wire: Wire, profile: str
) -> None:
    engine = index.as_query_engine(llm=llm, streaming=True, text_qa_template=QA)
    with collect_basis() as calls:
        response = engine.query(QUESTION)
        assert isinstance(response, StreamingResponse)
        tokens = list(response.response_gen)
    assert len([t for t in tokens if t]) > 2, "tokens arrive one by one"
    assert "Paris" in "".join(tokens)
    assert wire()[0]["stream"] is True
    assert calls.last is not None and calls.last.text == "".join(tokens)
    assert calls.last.basis[0].citations[0].url == FRANCE


async def test_async_query(index: VectorStoreIndex, llm: ParallelLLM, wire: Wire) -> None:
    with collect_basis() as calls:
        response = await index.as_query_engine(llm=llm, text_qa_template=QA).aquery(QUESTION)
    assert "Paris" in str(response)
    _assert_retrieved_context_sent(wire()[0])
    assert basis_of(calls.last)[0].citations[0].url == FRANCE


async def test_async_streaming_query(index: VectorStoreIndex, llm: ParallelLLM) -> None:
    with collect_basis() as calls:
        response = await index.as_query_engine(llm=llm, streaming=True, text_qa_template=QA).aquery(
            QUESTION
        )
        assert isinstance(response, AsyncStreamingResponse)
        tokens = [token async for token in response.async_response_gen()]
    assert "Paris" in "".join(tokens)
    assert len(calls) == 1 and calls.last is not None and calls.last.basis


def test_settings_llm_is_used(index: VectorStoreIndex, llm: ParallelLLM, wire: Wire) -> None:
    Settings.llm = llm
    assert Settings.llm is llm
    response = index.as_query_engine(text_qa_template=QA).query(QUESTION)
    assert "Paris" in str(response)
    assert len(wire()) == 1


def test_chat_engine_two_turns_keeps_roles(
    index: VectorStoreIndex, llm: ParallelLLM, wire: Wire
) -> None:
    engine = index.as_chat_engine(llm=llm)
    with collect_basis() as calls:
        first = engine.chat(QUESTION)
        second = engine.chat("And what is the capital of Japan?")
    assert "Paris" in str(first) and "Tokyo" in str(second)
    bodies = wire()
    # Turn 1 answers; turn 2 condenses the question with the history, then answers.
    assert [_roles(b) for b in bodies] == [
        ["system", "user"],
        ["user"],
        ["system", "user", "assistant", "user"],
    ]
    answer = bodies[-1]["messages"]
    assert answer[1]["content"] == QUESTION
    assert answer[2]["content"] == str(first)
    assert "basis" not in answer[2]["content"], "no basis leaks back into the prompt"
    assert len(calls) == 3 and all(call.basis for call in calls)


def test_chat_engine_stream_basis_collected_from_its_worker_thread(
    index: VectorStoreIndex, llm: ParallelLLM
) -> None:
    """Newer LlamaIndex reads a streamed chat in a thread that does not inherit the context."""
    end_threads: list[int] = []

    class EndThreads(BaseEventHandler):
        def handle(self, event: BaseEvent, **kwargs: Any) -> None:
            if isinstance(event, LLMChatEndEvent):
                end_threads.append(threading.get_ident())

    root = get_dispatcher()
    spy = EndThreads()
    root.add_event_handler(spy)
    try:
        engine = index.as_chat_engine(llm=llm)
        with collect_basis() as calls:
            streaming = engine.stream_chat(QUESTION)
            text = "".join(streaming.response_gen)
    finally:
        root.event_handlers.remove(spy)
    # Which thread it ended in depends on the release; the basis must arrive either way.
    assert end_threads
    assert "Paris" in text
    assert len(calls) == 1
    assert calls.last is not None and calls.last.text == text and calls.last.basis


def test_simple_chat_engine(llm: ParallelLLM, wire: Wire) -> None:
    engine = SimpleChatEngine.from_defaults(llm=llm, system_prompt="Be brief.")
    first = engine.chat(QUESTION)
    engine.chat("And what is the capital of Japan?")
    second_body = wire()[1]
    assert _roles(second_body) == ["system", "user", "assistant", "user"]
    assert second_body["messages"][0]["content"] == "Be brief."
    assert second_body["messages"][2]["content"] == str(first)


def test_collectors_are_scoped_to_their_thread(llm: ParallelLLM) -> None:
    questions = {"france": QUESTION, "japan": "What is the capital of Japan?"}
    results: dict[str, list[str]] = {}
    barrier = threading.Barrier(2)

    def ask(name: str) -> None:
        with collect_basis() as calls:
            barrier.wait()
            llm.complete(questions[name])
        results[name] = [call.text for call in calls]

    threads = [threading.Thread(target=ask, args=(name,)) for name in questions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results["france"]) == 1 and "Paris" in results["france"][0]
    assert len(results["japan"]) == 1 and "Tokyo" in results["japan"][0]


async def test_collectors_are_scoped_to_their_task_and_nest(llm: ParallelLLM) -> None:
    async def ask(question: str) -> list[str]:
        with collect_basis() as calls:
            await llm.acomplete(question)
        return [call.text for call in calls]

    with collect_basis() as outer:
        france, japan = await asyncio.gather(ask(QUESTION), ask("What is the capital of Japan?"))
    assert len(france) == 1 and "Paris" in france[0]
    assert len(japan) == 1 and "Tokyo" in japan[0]
    assert len(outer) == 2, "an enclosing block sees the calls of the blocks inside it"


def test_calls_outside_a_block_are_not_collected(llm: ParallelLLM) -> None:
    with collect_basis() as calls:
        pass
    llm.complete(QUESTION)
    assert len(calls) == 0
