"""LlamaIndex on the Responses API (and the Chat API for comparison), against the
emulator with a scripted responder: spans in `additional_kwargs`, one source node per
citation, `[n]` markers, `text.format`, the input limit, a ReAct agent and a program."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import pytest
from llama_index.core.llms import ChatMessage
from llama_index.core.program import LLMTextCompletionProgram
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from parallel_adapters import InputError
from parallel_adapters.llama_index import (
    ParallelLLM,
    ParallelWebQueryEngine,
    basis_of,
    citations_of,
    interaction_id_of,
    marked_text,
    source_nodes_of,
    spans_of,
)
from parallel_adapters.testing import (
    Citation,
    EmulatorAnswer,
    EmulatorRequest,
    FieldBasis,
    ParallelEmulator,
)

KEY = "test-key"
TEXT = "Paris is the capital of France. It lies on the Seine."
PARIS = Citation("https://example.org/paris", "Paris", ("Paris is the capital of France.",))
SEINE = Citation("https://example.org/seine", "Seine", ("It lies on the Seine.",))
ANSWER = EmulatorAnswer(TEXT, citations=(PARIS, SEINE))


class Script:
    """A responder answering from a function of the request, keeping what it saw."""

    def __init__(self, answer: Callable[[EmulatorRequest], EmulatorAnswer | str]) -> None:
        self.answer = answer
        self.seen: list[EmulatorRequest] = []

    def __call__(self, request: EmulatorRequest) -> EmulatorAnswer | str:
        self.seen.append(request)
        return self.answer(request)


@pytest.fixture
def emulator() -> Iterator[ParallelEmulator]:
    with ParallelEmulator(api_key=KEY, latency="fast") as server:
        yield server


def _llm(emulator: ParallelEmulator, model: str, **options: object) -> ParallelLLM:
    return ParallelLLM(
        model=model, api_key=KEY, base_url=emulator.base_url, requests_per_minute=None, **options
    )


def _script(emulator: ParallelEmulator, answer: EmulatorAnswer | str) -> Script:
    script = Script(lambda _: answer)
    emulator.responder = script
    return script


@pytest.mark.parametrize("model", ["parallel-high", "parallel"])
def test_every_call_carries_spans_citations_and_interaction_id(
    emulator: ParallelEmulator, model: str
) -> None:
    script = _script(emulator, ANSWER)
    llm = _llm(emulator, model, **({"reasoning_effort": "high"} if model == "parallel" else {}))
    messages = [ChatMessage(role="user", content="Where is Paris?")]

    async def both_async() -> list[object]:
        stream = [chunk async for chunk in await llm.astream_chat(messages)]
        return [await llm.achat(messages), await llm.acomplete("Where is Paris?"), stream[-1]]

    responses = [
        llm.chat(messages),
        llm.complete("Where is Paris?"),
        list(llm.stream_chat(messages))[-1],
        list(llm.stream_complete("Where is Paris?"))[-1],
        *asyncio.run(both_async()),
    ]
    assert [r.api for r in script.seen] == ["responses"] * 7
    assert {r.effort for r in script.seen} == {"high"}
    for response in responses:
        assert [c.url for c in citations_of(response)] == [PARIS.url, SEINE.url]
        assert [TEXT[s.start : s.end] for s in spans_of(response)] == [
            "Paris is the capital of France.",
            "It lies on the Seine.",
        ]
        assert basis_of(response), "the basis is derived from the spans"
        assert interaction_id_of(response)
        assert "cited_spans" in response.additional_kwargs  # type: ignore[attr-defined]


def test_chat_api_responses_have_no_spans_key(emulator: ParallelEmulator) -> None:
    _script(emulator, ANSWER)
    response = _llm(emulator, "base").chat([ChatMessage(role="user", content="q")])
    assert "cited_spans" not in response.additional_kwargs
    assert spans_of(response) == []
    assert [c.url for c in citations_of(response)] == [PARIS.url, SEINE.url]


def test_metadata_fits_the_responses_input_limit(emulator: ParallelEmulator) -> None:
    responses = _llm(emulator, "parallel").metadata
    assert responses.context_window - responses.num_output == 4_000  # 20,000 chars / 5
    assert _llm(emulator, "parallel-low").metadata.context_window == responses.context_window
    assert _llm(emulator, "base").metadata.context_window == 32_768  # unchanged
    assert _llm(emulator, "parallel", context_window=9_000).metadata.context_window == 9_000


def test_a_prompt_over_the_input_limit_is_refused_before_sending(
    emulator: ParallelEmulator,
) -> None:
    script = _script(emulator, ANSWER)
    llm = _llm(emulator, "parallel")
    with pytest.raises(InputError, match="20000"):
        llm.complete("x" * 20_001)
    with pytest.raises(InputError, match="20000"):
        asyncio.run(llm.achat([ChatMessage(role="user", content="x" * 20_001)]))
    assert script.seen == []
    llm.complete("x" * 20_000)  # at the limit: sent
    assert len(script.seen) == 1


def test_web_query_engine_has_one_node_per_citation_with_its_passages(
    emulator: ParallelEmulator,
) -> None:
    _script(emulator, ANSWER)
    engine = ParallelWebQueryEngine(llm=_llm(emulator, "parallel"))
    response = engine.query("Where is Paris?")
    assert response.response == TEXT
    nodes = response.source_nodes
    assert [n.node.metadata["url"] for n in nodes] == [PARIS.url, SEINE.url]
    assert [n.node.metadata["title"] for n in nodes] == ["Paris", "Seine"]
    assert [n.node.get_content() for n in nodes] == [
        "Paris is the capital of France.",
        "It lies on the Seine.",
    ]
    assert nodes[0].node.metadata["spans"] == [[0, 31]]
    assert nodes[1].node.metadata["spans"] == [[32, len(TEXT)]]
    # The spans are bookkeeping for the reader of the response, not for an LLM.
    assert "spans" not in nodes[0].node.get_content(metadata_mode="llm")  # type: ignore[arg-type]
    assert [n.node.node_id for n in source_nodes_of(response)] == [n.node.node_id for n in nodes]

    streaming = ParallelWebQueryEngine(llm=_llm(emulator, "parallel"), streaming=True)
    streamed = streaming.query("Where is Paris?")
    assert "".join(streamed.response_gen) == TEXT  # type: ignore[union-attr]
    assert [n.node.get_content() for n in streamed.source_nodes] == [
        n.node.get_content() for n in nodes
    ]


def test_citation_markers_match_the_source_nodes_on_responses(
    emulator: ParallelEmulator,
) -> None:
    _script(emulator, ANSWER)
    engine = ParallelWebQueryEngine(llm=_llm(emulator, "parallel"), citation_markers=True)
    response = engine.query("Where is Paris?")
    assert response.response == "Paris is the capital of France.[1] It lies on the Seine.[2]"
    # [n] is the n-th source node: its passage is what the marker follows.
    for n, node in enumerate(response.source_nodes, 1):
        assert f"{node.node.get_content()}[{n}]" in response.response
    aresponse = asyncio.run(engine.aquery("Where is Paris?"))
    assert aresponse.response == response.response


def test_citation_markers_follow_the_answer_on_the_chat_api(emulator: ParallelEmulator) -> None:
    _script(emulator, ANSWER)
    engine = ParallelWebQueryEngine(llm=_llm(emulator, "base"), citation_markers=True)
    response = engine.query("Where is Paris?")
    assert response.response == TEXT + " [1][2]"
    assert len(response.source_nodes) == 2
    plain = ParallelWebQueryEngine(llm=_llm(emulator, "base")).query("Where is Paris?")
    assert plain.response == TEXT
    assert marked_text(plain, "<{n}>") == TEXT + " <1><2>"


def test_citation_markers_refuse_streaming(emulator: ParallelEmulator) -> None:
    with pytest.raises(InputError, match="streaming"):
        ParallelWebQueryEngine(
            llm=_llm(emulator, "parallel"), citation_markers=True, streaming=True
        )


class City(BaseModel):
    name: str
    country: str


CITY = EmulatorAnswer(
    json.dumps({"name": "Paris", "country": "France"}),
    basis=(FieldBasis("name", (PARIS,)), FieldBasis("country", (SEINE,))),
)


def test_structured_predict_sends_text_format_and_gets_per_field_basis(
    emulator: ParallelEmulator,
) -> None:
    script = _script(emulator, CITY)
    llm = _llm(emulator, "parallel")
    prompt = PromptTemplate("Capital of {country}?")
    city = llm.structured_predict(City, prompt, country="France")
    structured = llm.as_structured_llm(City)
    response = structured.chat([ChatMessage(role="user", content="Capital of France?")])
    streamed = list(llm.stream_structured_predict(City, prompt, country="France"))
    acity = asyncio.run(llm.astructured_predict(City, prompt, country="France"))
    assert city == City(name="Paris", country="France") == response.raw == streamed[-1] == acity
    for request in script.seen:
        text_format = request.body["text"]["format"]
        assert text_format["type"] == "json_schema"
        assert set(text_format["schema"]["properties"]) == {"name", "country"}
    assert len(script.seen) == 4
    by_field = {b.field: [c.url for c in b.citations] for b in basis_of(response)}
    assert by_field == {"name": [PARIS.url], "country": [SEINE.url]}


# -- scripted "models" following LlamaIndex's prose instructions ----------------------------

REACT_STEP = 'Thought: I need the weather tool.\nAction: weather\nAction Input: {"city": "Paris"}'
REACT_ANSWER = "Thought: I can answer without more tools.\nAnswer: It is sunny in Paris."


def _react(request: EmulatorRequest) -> str:
    # The ReAct loop: call the tool once, answer after seeing its observation.
    seen = "\n".join(m.content for m in request.messages)
    return REACT_ANSWER if "Observation: sunny" in seen else REACT_STEP


@pytest.mark.parametrize("model", ["parallel", "base"])
def test_a_react_agent_runs_on_a_scripted_model(emulator: ParallelEmulator, model: str) -> None:
    from llama_index.core.agent.workflow import ReActAgent
    from llama_index.core.tools import FunctionTool

    script = Script(_react)
    emulator.responder = script
    calls: list[str] = []

    def weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return "sunny"

    agent = ReActAgent(tools=[FunctionTool.from_defaults(weather)], llm=_llm(emulator, model))

    async def run() -> str:
        return str(await agent.run(user_msg="What is the weather in Paris?"))

    answer = asyncio.run(run())
    assert calls == ["Paris"]
    assert "It is sunny in Paris." in answer
    assert len(script.seen) == 2
    assert {r.api for r in script.seen} == {"responses" if model == "parallel" else "chat"}


@pytest.mark.parametrize("model", ["parallel", "base"])
def test_llm_text_completion_program_on_a_scripted_model(
    emulator: ParallelEmulator, model: str
) -> None:
    def answer(request: EmulatorRequest) -> str:
        # The program asks for the schema in prose; a model following it answers JSON.
        assert '"country"' in request.question
        return 'Here it is: {"name": "Paris", "country": "France"}'

    script = Script(answer)
    emulator.responder = script
    program = LLMTextCompletionProgram.from_defaults(
        output_cls=City,
        prompt_template_str="What is the capital of {country}?",
        llm=_llm(emulator, model),
    )
    assert program(country="France") == City(name="Paris", country="France")
    [request] = script.seen
    assert "text" not in request.body and "response_format" not in request.body
