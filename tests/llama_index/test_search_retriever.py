"""`ParallelSearchRetriever` and `ParallelWebToolSpec` inside LlamaIndex's own engines and
tools, against the emulator (its LLM is a `ParallelLLM` on the same emulator)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms import (
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore
from llama_index.core.tools import QueryEngineTool

from parallel_adapters import InputError, ParallelChat
from parallel_adapters.llama_index import (
    ParallelLLM,
    ParallelSearchRetriever,
    ParallelWebToolSpec,
)
from parallel_adapters.testing import ParallelEmulator, WebPage

CORPUS = "https://corpus.parallel-adapters.example/"
QUESTION = "What is the capital of France?"


@pytest.fixture
def chat(emulator: ParallelEmulator) -> Iterator[ParallelChat]:
    with ParallelChat(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        yield client


@pytest.fixture
def retriever(chat: ParallelChat) -> ParallelSearchRetriever:
    return ParallelSearchRetriever(max_results=3, client=chat)


def test_nodes_hold_excerpts_and_keep_page_metadata_out_of_llm_text(
    retriever: ParallelSearchRetriever, emulator: ParallelEmulator
) -> None:
    nodes = retriever.retrieve(QUESTION)
    assert 1 <= len(nodes) <= 3
    first = nodes[0].node
    assert first.metadata["url"] == CORPUS + "france"
    assert first.metadata["title"] == "France"
    assert "Paris" in first.get_content()
    for mode in (MetadataMode.LLM, MetadataMode.EMBED):
        text = first.get_content(metadata_mode=mode)
        assert CORPUS not in text
        assert "url" not in text and "title" not in text
    assert [n.score for n in nodes] == [1.0 / (rank + 1) for rank in range(len(nodes))]
    sent = emulator.requests[-1].json
    assert sent == {
        "search_queries": [QUESTION],
        "objective": QUESTION,
        "advanced_settings": {"max_results": 3},
    }
    assert retriever.last_result is not None and retriever.last_result.cost == pytest.approx(0.005)


def test_publish_date_is_metadata_too(chat: ParallelChat, emulator: ParallelEmulator) -> None:
    emulator.web_responder = lambda q: [WebPage("https://a.example/", "A", ("x",), "2025-01-02")]
    (node,) = ParallelSearchRetriever(client=chat).retrieve("anything")
    assert node.node.metadata == {
        "url": "https://a.example/",
        "title": "A",
        "publish_date": "2025-01-02",
    }
    assert "2025-01-02" not in node.node.get_content(metadata_mode=MetadataMode.LLM)


def test_async_retrieve(retriever: ParallelSearchRetriever) -> None:
    nodes = asyncio.run(retriever.aretrieve("capital of Japan"))
    assert nodes[0].node.metadata["url"] == CORPUS + "japan"


def test_retriever_query_engine_answers_from_the_excerpts(
    retriever: ParallelSearchRetriever, emulator: ParallelEmulator
) -> None:
    llm = ParallelLLM(model="speed", api_key=emulator.api_key, base_url=emulator.base_url)
    engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
    response = engine.query(QUESTION)
    assert_drawn_from(str(response), response.source_nodes)
    assert response.source_nodes[0].node.metadata["url"] == CORPUS + "france"
    search, answer = emulator.requests[-2:]
    assert search.path == "/v1/search" and answer.path == "/chat/completions"
    prompt = "\n".join(m["content"] for m in answer.json["messages"])
    assert nodes_text(response.source_nodes)[0] in prompt
    assert CORPUS not in prompt  # page metadata stays out of the LLM's text


def nodes_text(nodes: list[NodeWithScore]) -> list[str]:
    return [n.node.get_content() for n in nodes]


def assert_drawn_from(answer: str, nodes: list[NodeWithScore]) -> None:
    """The simulator answers a LlamaIndex QA prompt from its context: every sentence of
    the answer is one of the retrieved excerpts."""
    context = "\n".join(nodes_text(nodes))
    sentences = [s.strip() for s in answer.replace(". ", ".\n").splitlines() if s.strip()]
    assert sentences and all(s in context for s in sentences), (answer, context)


def test_async_query_engine(retriever: ParallelSearchRetriever, emulator: ParallelEmulator) -> None:
    llm = ParallelLLM(model="speed", api_key=emulator.api_key, base_url=emulator.base_url)
    engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
    response = asyncio.run(engine.aquery("What is the capital of Japan?"))
    assert response.source_nodes[0].node.metadata["url"] == CORPUS + "japan"
    assert_drawn_from(str(response), response.source_nodes)


def test_works_as_a_query_engine_tool(
    retriever: ParallelSearchRetriever, emulator: ParallelEmulator
) -> None:
    llm = ParallelLLM(model="speed", api_key=emulator.api_key, base_url=emulator.base_url)
    tool = QueryEngineTool.from_defaults(
        RetrieverQueryEngine.from_args(retriever, llm=llm),
        name="web_research",
        description="Answers questions from web search results.",
    )
    output = tool.call(QUESTION)
    assert output.raw_output.source_nodes[0].node.metadata["url"] == CORPUS + "france"
    assert_drawn_from(output.content, output.raw_output.source_nodes)


def test_refusals_reach_the_caller_before_sending(
    chat: ParallelChat, emulator: ParallelEmulator
) -> None:
    retriever = ParallelSearchRetriever(client=chat, include_domains=["https://a.com"])
    with pytest.raises(InputError, match="has a scheme"):
        retriever.retrieve(QUESTION)
    assert emulator.requests == []


def test_built_from_connection_options(emulator: ParallelEmulator) -> None:
    retriever = ParallelSearchRetriever(api_key="test-key", base_url=emulator.base_url)
    assert retriever.retrieve("DSPy")[0].node.metadata["url"].startswith(CORPUS + "dspy")


def test_tool_spec_tools_search_and_extract(chat: ParallelChat, emulator: ParallelEmulator) -> None:
    tools = {
        t.metadata.name: t for t in ParallelWebToolSpec(max_results=2, client=chat).to_tool_list()
    }
    assert set(tools) == {"web_search", "web_extract"}
    schema = tools["web_search"].metadata.get_parameters_dict()
    assert schema["required"] == ["objective"]
    assert "include_domains" in schema["properties"]
    # In the first paragraph: the one every LlamaIndex 0.14.x keeps in the description.
    assert "no https://" in tools["web_search"].metadata.description
    assert "YYYY-MM-DD" in tools["web_search"].metadata.description
    assert "up to 20" in tools["web_extract"].metadata.description.lower()
    found = tools["web_search"].call(objective=QUESTION)
    assert found.content.startswith("[1] France\nURL: " + CORPUS + "france")
    assert emulator.requests[-1].json["advanced_settings"] == {"max_results": 2}
    read = asyncio.run(
        tools["web_extract"].acall(
            urls=[CORPUS + "japan", "https://gone.example/"], objective="capital"
        )
    )
    assert "Tokyo" in read.content
    assert "Could not read https://gone.example/: fetch_error (HTTP 404)" in read.content


def test_tool_spec_bad_domain_is_an_error_the_agent_sees(chat: ParallelChat) -> None:
    tool = ParallelWebToolSpec(client=chat).to_tool_list()[0]
    with pytest.raises(InputError, match="has a scheme"):
        tool.call(objective="x", include_domains=["https://a.com"])


class _ScriptedLLM(CustomLLM):
    """A text LLM that answers with the next of its scripted replies (ReAct format)."""

    replies: list[str]
    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(is_chat_model=False)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text=self.replies.pop(0))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        response = self.complete(prompt, formatted=formatted, **kwargs)

        def gen() -> CompletionResponseGen:
            yield CompletionResponse(text=response.text, delta=response.text)

        return gen()


def test_a_react_agent_calls_the_tool_spec(chat: ParallelChat, emulator: ParallelEmulator) -> None:
    from llama_index.core.agent.workflow import ReActAgent

    llm = _ScriptedLLM(
        replies=[
            "Thought: I need to search the web.\nAction: web_search\n"
            'Action Input: {"objective": "capital of France"}',
            "Thought: I can answer without more tools.\nAnswer: Paris",
        ]
    )
    agent = ReActAgent(
        tools=ParallelWebToolSpec(max_results=2, client=chat).to_tool_list(), llm=llm
    )

    async def run() -> Any:
        return await agent.run(user_msg=QUESTION)

    result = asyncio.run(run())
    assert "Paris" in str(result)
    assert emulator.requests[-1].path == "/v1/search"
    assert emulator.requests[-1].json["search_queries"] == ["capital of France"]
    # The tool's text, with the page's URL, reached the LLM's next prompt.
    assert CORPUS + "france" in llm.prompts[-1]
