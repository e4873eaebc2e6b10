"""ParallelWebQueryEngine: Parallel's citations as the source nodes LlamaIndex code reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from llama_index.core.agent.workflow import ReActAgent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import MetadataMode
from llama_index.core.tools import QueryEngineTool
from pydantic import BaseModel, Field

from parallel_adapters.llama_index import (
    ParallelLLM,
    ParallelWebQueryEngine,
    basis_of,
    collect_basis,
    interaction_id_of,
    source_nodes_of,
)

Wire = Callable[[], list[dict[str, Any]]]

pytestmark = pytest.mark.vcr

QUESTION = "What is the capital of France?"
FRANCE = "https://corpus.parallel-adapters.example/france"


def _assert_sources(response: Any) -> None:
    """One node per cited page and field: excerpts as text, url/title/field/confidence."""
    basis = basis_of(response)
    assert basis, "the response metadata carries the basis"
    expected = [(b.field, c.url, tuple(c.excerpts)) for b in basis for c in b.citations]
    nodes = response.source_nodes
    assert [
        (n.metadata["field"], n.metadata["url"], tuple(n.text.split("\n\n"))) for n in nodes
    ] == (expected)
    first = nodes[0]
    assert first.metadata["url"] == FRANCE
    assert first.metadata["title"] == "France"
    assert first.metadata["confidence"] == basis[0].confidence
    assert first.score is None
    # What an LLM reading the node sees: where it is from, then the excerpt.
    llm_view = first.node.get_content(metadata_mode=MetadataMode.LLM)
    assert FRANCE in llm_view and "confidence" not in llm_view
    assert interaction_id_of(response)


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_query_returns_source_nodes_from_citations(
    llm: ParallelLLM, wire: Wire, profile: str
) -> None:
    engine = ParallelWebQueryEngine(llm=llm)
    assert isinstance(engine, CustomQueryEngine)
    response = engine.query(QUESTION)
    assert isinstance(response, Response)
    assert "Paris" in str(response)
    _assert_sources(response)
    assert "Paris" in response.get_formatted_sources(length=200)
    assert wire() == [{"model": "base", "messages": [{"role": "user", "content": QUESTION}]}]


@pytest.mark.parametrize("profile", ["documented", "openai"])
async def test_aquery(llm: ParallelLLM, profile: str) -> None:
    response = await ParallelWebQueryEngine(llm=llm).aquery(QUESTION)
    assert isinstance(response, Response)
    assert "Paris" in str(response)
    _assert_sources(response)


def test_source_nodes_of_a_structured_answer_has_one_node_per_field(llm: ParallelLLM) -> None:
    """A page cited for two fields gives two nodes, each with its own field's confidence."""

    class Country(BaseModel):
        capital: str
        language: str

    response = llm.chat(
        [
            ChatMessage(
                role=MessageRole.USER,
                content="What are the capital and the official language of France?",
            )
        ],
        response_format=Country,
    )
    nodes = source_nodes_of(response)
    basis = basis_of(response)
    assert {b.field for b in basis} == {"capital", "language"}
    assert [(n.metadata["field"], n.metadata["url"]) for n in nodes] == [
        (b.field, c.url) for b in basis for c in b.citations
    ]
    for node in nodes:
        owner = next(b for b in basis if b.field == node.metadata["field"])
        assert node.metadata.get("confidence") == owner.confidence
    assert [n.metadata["url"] for n in nodes] == [FRANCE, FRANCE], "one page, two fields"
    assert len({n.node_id for n in nodes}) == len(nodes)


def test_streaming_fills_sources_when_the_stream_ends(llm: ParallelLLM) -> None:
    response = ParallelWebQueryEngine(llm=llm, streaming=True).query(QUESTION)
    assert isinstance(response, StreamingResponse)
    assert response.source_nodes == [], "the basis comes with the end of the stream"
    tokens = list(response.response_gen)
    assert len(tokens) > 2 and "Paris" in "".join(tokens)
    _assert_sources(response)


async def test_async_streaming(llm: ParallelLLM) -> None:
    response = await ParallelWebQueryEngine(llm=llm, streaming=True).aquery(QUESTION)
    assert isinstance(response, AsyncStreamingResponse)
    tokens = [token async for token in response.async_response_gen()]
    assert "Paris" in "".join(tokens)
    _assert_sources(response)


def test_system_prompt_of_the_llm_is_sent(make_llm: Callable[..., ParallelLLM], wire: Wire) -> None:
    llm = make_llm("base", system_prompt="Prefer official sources.")
    ParallelWebQueryEngine(llm=llm).query(QUESTION)
    assert wire()[0]["messages"] == [
        {"role": "system", "content": "Prefer official sources."},
        {"role": "user", "content": QUESTION},
    ]


def test_works_as_a_query_engine_tool(llm: ParallelLLM) -> None:
    tool = QueryEngineTool.from_defaults(
        ParallelWebQueryEngine(llm=llm), name="web_search", description="Answers from the web."
    )
    with collect_basis() as calls:
        output = tool.call(QUESTION)
    assert "Paris" in output.content
    assert isinstance(output.raw_output, Response)
    _assert_sources(output.raw_output)
    assert len(calls) == 1, "the engine's call is visible to collect_basis too"


def test_speed_answers_without_sources(make_llm: Callable[..., ParallelLLM]) -> None:
    response = ParallelWebQueryEngine(llm=make_llm("speed")).query(QUESTION)
    assert "Paris" in str(response)
    assert response.source_nodes == []
    assert response.metadata is not None and response.metadata["basis"] == []


def test_requires_a_parallel_llm() -> None:
    from llama_index.core.llms import MockLLM

    with pytest.raises(ValueError, match="ParallelLLM"):
        ParallelWebQueryEngine(llm=MockLLM())  # type: ignore[arg-type]


class _ScriptedReasoner(CustomLLM):
    """The agent's own LLM, scripted: search the web once, then answer."""

    replies: list[str] = Field(
        default_factory=lambda: [
            "Thought: I need to search the web.\nAction: web_search\n"
            'Action Input: {"input": "What is the capital of France?"}\n',
            "Thought: I can answer without using any more tools.\nAnswer: Paris.\n",
        ]
    )
    seen: list[ChatMessage] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=True)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        raise NotImplementedError

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        self.seen = list(messages)
        text = self.replies.pop(0)

        async def gen() -> ChatResponseAsyncGen:
            yield ChatResponse(message=ChatMessage(role="assistant", content=text), delta=text)

        return gen()


# LlamaIndex's workflow machinery inspects pydantic models through deprecated attributes.
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecationWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:llama_index.*")
async def test_in_a_react_agent_the_observation_is_the_grounded_answer(llm: ParallelLLM) -> None:
    tool = QueryEngineTool.from_defaults(
        ParallelWebQueryEngine(llm=llm), name="web_search", description="Answers from the web."
    )
    reasoner = _ScriptedReasoner()
    agent = ReActAgent(tools=[tool], llm=reasoner)
    with collect_basis() as calls:
        result = await agent.run("What is the capital of France?")
    assert "Paris" in str(result)
    [tool_call] = result.tool_calls
    _assert_sources(tool_call.tool_output.raw_output)
    observation = reasoner.seen[-1].content or ""
    assert observation.startswith("Observation:") and "Paris" in observation
    assert len(calls) == 1 and calls.last is not None and calls.last.citations[0].url == FRANCE
