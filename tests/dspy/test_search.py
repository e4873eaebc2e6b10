"""`ParallelSearch` as a DSPy retriever and as a `dspy.ReAct` tool, on the emulator."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator

import pytest

dspy = pytest.importorskip("dspy")
from dspy.utils.dummies import DummyLM  # noqa: E402

from parallel_adapters import InputError, ParallelChat  # noqa: E402
from parallel_adapters.dspy import ParallelSearch, WebPassage  # noqa: E402
from parallel_adapters.testing import ParallelEmulator  # noqa: E402

CORPUS = "https://corpus.parallel-adapters.example/"


@pytest.fixture
def chat(emulator: ParallelEmulator) -> Iterator[ParallelChat]:
    with ParallelChat(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        yield client


@pytest.fixture
def search(chat: ParallelChat) -> ParallelSearch:
    return ParallelSearch(k=3, client=chat)


def test_call_returns_passages_with_urls(
    search: ParallelSearch, emulator: ParallelEmulator
) -> None:
    passages = search("capital of France")
    assert 1 <= len(passages) <= 3
    first = passages[0]
    assert isinstance(first, WebPassage)
    assert first.url == first["url"] == CORPUS + "france"
    assert "Paris" in first.long_text and first.text == first.long_text
    assert [p.score for p in passages] == [1.0 / (n + 1) for n in range(len(passages))]
    assert emulator.requests[-1].json["advanced_settings"] == {"max_results": 3}
    assert len(search("capital of France", k=1)) == 1
    assert emulator.requests[-1].json["advanced_settings"] == {"max_results": 1}


def test_async_form(search: ParallelSearch) -> None:
    passages = asyncio.run(search.acall("capital of Japan", k=2))
    assert passages[0].url == CORPUS + "japan"


@pytest.mark.parametrize("k", [0, -1, True, "3"])
def test_bad_k_is_refused_before_sending(
    search: ParallelSearch, emulator: ParallelEmulator, k: object
) -> None:
    with pytest.raises(InputError, match="k must be a positive whole number"):
        search("x", k=k)  # type: ignore[arg-type]
    assert emulator.requests == []


def test_docstring_describes_its_arguments_to_a_tool(search: ParallelSearch) -> None:
    tool = dspy.Tool(search)
    assert set(tool.args) == {"query", "k"}
    assert tool.args["query"]["type"] == "string"
    assert "`query`" in tool.desc and "`k`" in tool.desc and "URL" in tool.desc


def test_react_calls_it_as_a_tool(search: ParallelSearch, emulator: ParallelEmulator) -> None:
    lm = DummyLM(
        [
            {
                "next_thought": "I should search the web.",
                "next_tool_name": "ParallelSearch",
                "next_tool_args": {"query": "capital of France", "k": 2},
            },
            {"next_thought": "I know enough.", "next_tool_name": "finish", "next_tool_args": {}},
            {"reasoning": "The search says Paris.", "answer": "Paris"},
        ]
    )
    react = dspy.ReAct("question -> answer", tools=[search])
    with dspy.context(lm=lm):
        prediction = react(question="What is the capital of France?")
    assert prediction.answer == "Paris"
    assert emulator.requests[-1].path == "/v1/search"
    assert emulator.requests[-1].json["search_queries"] == ["capital of France"]
    observation = prediction.trajectory["observation_0"]
    assert observation[0]["url"] == CORPUS + "france"
    assert len(observation) == 2
    # The LM read the URLs in the trajectory of its next step.
    prompt = "\n".join(str(m.get("content")) for m in lm.history[1]["messages"])
    assert CORPUS + "france" in prompt


def test_react_sees_a_refusal_as_an_observation(
    chat: ParallelChat, emulator: ParallelEmulator
) -> None:
    search = ParallelSearch(client=chat, include_domains=["https://bad.example"])
    lm = DummyLM(
        [
            {
                "next_thought": "Search.",
                "next_tool_name": "ParallelSearch",
                "next_tool_args": {"query": "x"},
            },
            {"next_thought": "Give up.", "next_tool_name": "finish", "next_tool_args": {}},
            {"reasoning": "none", "answer": "unknown"},
        ]
    )
    with dspy.context(lm=lm):
        prediction = dspy.ReAct("question -> answer", tools=[search])(question="q")
    assert "has a scheme" in str(prediction.trajectory["observation_0"])
    assert emulator.requests == []


def test_async_react_with_the_async_tool(
    search: ParallelSearch, emulator: ParallelEmulator
) -> None:
    lm = DummyLM(
        [
            {
                "next_thought": "Search.",
                "next_tool_name": "web_search",
                "next_tool_args": {"query": "capital of Japan"},
            },
            {"next_thought": "Done.", "next_tool_name": "finish", "next_tool_args": {}},
            {"reasoning": "Tokyo.", "answer": "Tokyo"},
        ]
    )
    react = dspy.ReAct("question -> answer", tools=[dspy.Tool(search.acall, name="web_search")])

    async def run() -> dspy.Prediction:
        with dspy.context(lm=lm):
            return await react.acall(question="What is the capital of Japan?")

    prediction = asyncio.run(run())
    assert prediction.trajectory["observation_0"][0]["url"] == CORPUS + "japan"


def test_as_the_retriever_of_dspy_retrieve(search: ParallelSearch) -> None:
    with dspy.context(rm=search):
        passages = dspy.Retrieve(k=2)("capital of France").passages
    assert len(passages) == 2 and "Paris" in passages[0]


def test_deepcopy_shares_the_client(search: ParallelSearch) -> None:
    clone = copy.deepcopy(search)
    assert clone.client is search.client and clone.k == search.k
    assert clone.search_options == search.search_options
    assert clone.search_options is not search.search_options
