"""Issue 21 in LlamaIndex on the Responses API: the spans a response hands out index the
text that same response hands out (markers, structured JSON), and usage is complete."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from llama_index.core.llms import ChatMessage
from pydantic import BaseModel

from parallel_adapters.llama_index import (
    ParallelLLM,
    ParallelWebQueryEngine,
    source_nodes_of,
    spans_of,
)
from parallel_adapters.testing import CitedSpan, EmulatorAnswer, ParallelEmulator

KEY = "test-key"
TEXT = "Paris is the capital of France. It lies on the river Seine."
PARIS, SEINE = "https://example.org/paris", "https://example.org/seine"
SPANS = (
    CitedSpan(0, 31, PARIS, "Paris"),
    CitedSpan(32, 59, SEINE, "Seine"),
    CitedSpan(53, 58, PARIS, "Paris"),
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ParallelEmulator]:
    with ParallelEmulator(api_key=KEY, latency="fast") as server:
        yield server


def _llm(emulator: ParallelEmulator, model: str = "parallel") -> ParallelLLM:
    return ParallelLLM(
        model=model, api_key=KEY, base_url=emulator.base_url, requests_per_minute=None
    )


def test_item_1_marked_answers_have_spans_into_the_marked_text(emulator: ParallelEmulator) -> None:
    emulator.responder = lambda request: EmulatorAnswer(TEXT, spans=SPANS)
    engine = ParallelWebQueryEngine(llm=_llm(emulator), citation_markers=True)
    response = engine.query("Where is Paris?")
    marked = str(response.response)
    assert marked == ("Paris is the capital of France.[1] It lies on the river Seine[1].[2]")
    passages = {
        PARIS: ["Paris is the capital of France.", "Seine"],
        SEINE: ["It lies on the river Seine[1]."],
    }
    for node in response.source_nodes:
        got = [marked[s:e] for s, e in node.node.metadata["spans"]]
        assert got == passages[node.node.metadata["url"]]
    assert [marked[s.start : s.end] for s in spans_of(response)] == [
        "Paris is the capital of France.",
        "It lies on the river Seine[1].",
        "Seine",
    ]
    # Without markers, the spans index the answer as sent.
    plain = ParallelWebQueryEngine(llm=_llm(emulator)).query("Where is Paris?")
    assert [str(plain.response)[s.start : s.end] for s in spans_of(plain)] == [
        TEXT[s.start : s.end] for s in SPANS
    ]


class City(BaseModel):
    name: str
    river: str


CITY = '{\n  "name": "Paris",\n  "river": "Seine"\n}'  # not compact, as a server may send it


def test_item_2_structured_responses_keep_the_text_their_spans_index(
    emulator: ParallelEmulator,
) -> None:
    spans = (CitedSpan(13, 18, PARIS, "Paris"), CitedSpan(33, 38, SEINE, "Seine"))
    emulator.responder = lambda request: EmulatorAnswer(CITY, spans=spans)
    structured = _llm(emulator).as_structured_llm(City)
    messages = [ChatMessage(role="user", content="Paris?")]

    async def both_async() -> list[object]:
        stream = [chunk async for chunk in await structured.astream_chat(messages)]
        return [await structured.achat(messages), stream[-1]]

    for response in [
        structured.chat(messages),
        list(structured.stream_chat(messages))[-1],
        *asyncio.run(both_async()),
    ]:
        content = response.message.content  # type: ignore[attr-defined]
        assert json.loads(content) == {"name": "Paris", "river": "Seine"}
        assert [content[s.start : s.end] for s in spans_of(response)] == ["Paris", "Seine"]
        assert response.raw == City(name="Paris", river="Seine")  # type: ignore[attr-defined]


def test_item_12_responses_usage_has_llamaindex_names(emulator: ParallelEmulator) -> None:
    emulator.responder = lambda request: EmulatorAnswer(TEXT, spans=SPANS)
    llm = _llm(emulator)
    messages = [ChatMessage(role="user", content="Where is Paris?")]
    for response in [llm.chat(messages), list(llm.stream_chat(messages))[-1]]:
        usage = response.raw["usage"]
        kwargs = response.additional_kwargs
        assert kwargs["prompt_tokens"] == usage["input_tokens"] > 0
        assert kwargs["completion_tokens"] == usage["output_tokens"] > 0
        assert kwargs["total_tokens"] == usage["total_tokens"]
    assert source_nodes_of(llm.chat(messages))
