"""The responder seam: one protocol-neutral answer, rendered by both wire layers, and
scripted answers in users' tests (`ParallelEmulator(responder=...)`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from parallel_adapters.testing import (
    Citation,
    CitedSpan,
    EmulatorAnswer,
    EmulatorRequest,
    FieldBasis,
    LatencyModel,
    ParallelEmulator,
    ResearchResponder,
    WebAction,
)
from parallel_adapters.testing._responder import json_value_spans, spans_for

from .support import QUESTION, ask, responses_body

PARIS = Citation("https://example.org/paris", "Paris", ("Paris is the capital of France.",))


class Recorder:
    """A scripted responder that keeps the requests it saw."""

    def __init__(self, answer: EmulatorAnswer | str) -> None:
        self.answer = answer
        self.seen: list[EmulatorRequest] = []

    def __call__(self, request: EmulatorRequest) -> EmulatorAnswer | str:
        self.seen.append(request)
        return self.answer


def _chat(emulator: ParallelEmulator, **extra: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": "Bearer test-key"},
        json={"model": "base", "messages": ask(), **extra},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def _responses(emulator: ParallelEmulator, **extra: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{emulator.base_url}/v1/responses",
        headers={"authorization": "Bearer test-key"},
        json=responses_body(**extra),
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def _message(body: dict[str, Any]) -> dict[str, Any]:
    [message] = [item for item in body["output"] if item["type"] == "message"]
    part: dict[str, Any] = message["content"][0]
    return part


def test_one_scripted_answer_on_both_wires(emulator: ParallelEmulator) -> None:
    text = "Paris is the capital of France. It is on the Seine."
    emulator.responder = Recorder(EmulatorAnswer(text, citations=(PARIS,)))

    chat = _chat(emulator)
    assert chat["choices"][0]["message"]["content"] == text
    assert chat["basis"] == [
        {
            "field": "output",
            "citations": [
                {
                    "url": PARIS.url,
                    "title": "Paris",
                    "excerpts": ["Paris is the capital of France."],
                }
            ],
            "reasoning": "",
            "confidence": None,
        }
    ]

    responses = _responses(emulator)
    part = _message(responses)
    assert part["text"] == text
    [annotation] = part["annotations"]
    assert (annotation["start_index"], annotation["end_index"]) == (0, 31)
    searches = [item["action"] for item in responses["output"][:-1]]
    assert searches == [
        {"type": "search", "query": QUESTION, "queries": [QUESTION], "sources": None},
        {"type": "open_page", "url": PARIS.url},
    ]


def test_a_plain_string_is_an_answer_without_sources(emulator: ParallelEmulator) -> None:
    emulator.responder = lambda request: "42"
    assert _chat(emulator)["basis"] == []
    responses = _responses(emulator)
    assert [item["type"] for item in responses["output"]] == ["message"]
    assert _message(responses) == {
        "type": "output_text",
        "text": "42",
        "annotations": [],
        "logprobs": [],
    }


def test_exact_spans_become_the_chat_basis(emulator: ParallelEmulator) -> None:
    text = "Parag Agrawal founded it. It builds web research APIs."
    spans = (
        CitedSpan(0, 24, "https://a.example", "A"),
        CitedSpan(26, 53, "https://b.example", "B"),
        CitedSpan(26, 53, "https://a.example", "A"),
    )
    emulator.responder = lambda request: EmulatorAnswer(text, spans=spans)
    annotations = _message(_responses(emulator))["annotations"]
    assert [(a["start_index"], a["end_index"], a["url"]) for a in annotations] == [
        (s.start, s.end, s.url) for s in spans
    ]
    [entry] = _chat(emulator)["basis"]
    assert [(c["url"], c["excerpts"]) for c in entry["citations"]] == [
        ("https://a.example", ["Parag Agrawal founded it", "It builds web research APIs"]),
        ("https://b.example", ["It builds web research APIs"]),
    ]


def test_field_basis_anchors_json_spans_on_values(emulator: ParallelEmulator) -> None:
    text = json.dumps(
        {"capital": "Reykjavík", "population": 386506, "tags": ["a"]}, ensure_ascii=False
    )
    basis = (
        FieldBasis("capital", (Citation("https://is.example", "Iceland"),), "Named.", "high"),
        FieldBasis("population", (Citation("https://stats.example", "Stats"),)),
    )
    emulator.responder = lambda request: EmulatorAnswer(text, basis=basis)
    part = _message(_responses(emulator))
    cited = {a["url"]: part["text"][a["start_index"] : a["end_index"]] for a in part["annotations"]}
    assert cited == {"https://is.example": "Reykjavík", "https://stats.example": "386506"}
    chat_basis = _chat(emulator)["basis"]
    assert [(e["field"], e["reasoning"], e["confidence"]) for e in chat_basis] == [
        ("capital", "Named.", "high"),
        ("population", "", None),
    ]


def test_speed_never_has_a_basis(emulator: ParallelEmulator) -> None:
    emulator.responder = lambda request: EmulatorAnswer("Paris.", citations=(PARIS,))
    assert _chat(emulator, model="speed")["basis"] == []


def test_explicit_web_actions(emulator: ParallelEmulator) -> None:
    actions = (WebAction("search", query="capital of France"), WebAction("open_page", url="u"))
    emulator.responder = lambda request: EmulatorAnswer("Paris.", web_actions=actions)
    output = _responses(emulator)["output"]
    assert [item["action"]["type"] for item in output[:-1]] == ["search", "open_page"]
    assert [item["id"] for item in output[:-1]] == [
        f"ws_{_responses(emulator)['id']}_{n}" for n in (0, 1)
    ]


def test_the_request_is_protocol_neutral(emulator: ParallelEmulator) -> None:
    recorder = Recorder("ok")
    emulator.responder = recorder
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    _chat(
        emulator,
        response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}},
    )
    first = _responses(
        emulator,
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": QUESTION}]}],
        reasoning={"effort": "high"},
        text={"format": {"type": "json_schema", "name": "n", "schema": schema}},
    )
    _responses(emulator, input="And its population?", previous_response_id=first["id"])

    chat, responses, follow_up = recorder.seen
    assert (chat.api, chat.model, chat.effort, chat.question) == ("chat", "base", None, QUESTION)
    assert chat.schema == schema
    assert chat.body["messages"] == ask()
    assert (responses.api, responses.model, responses.effort) == ("responses", "parallel", "high")
    assert [(m.role, m.content) for m in responses.messages] == [
        ("system", "Be brief."),
        ("user", QUESTION),
    ]
    assert responses.schema == schema
    assert follow_up.effort is None
    assert [turn.text for turn in follow_up.history] == ["ok"]
    assert follow_up.history[0].messages == responses.messages


async def test_async_responder(emulator: ParallelEmulator) -> None:
    async def responder(request: EmulatorRequest) -> EmulatorAnswer:
        return EmulatorAnswer(f"You asked: {request.question}")

    emulator.responder = responder
    async with openai.AsyncOpenAI(
        base_url=f"{emulator.base_url}/v1", api_key="test-key", max_retries=0
    ) as sdk:
        response = await sdk.responses.create(model="parallel", input="hi")
    assert response.output_text == "You asked: hi"


def test_a_failing_responder_is_a_500_that_says_why(emulator: ParallelEmulator) -> None:
    def broken(request: EmulatorRequest) -> str:
        raise KeyError("oops")

    emulator.responder = broken
    chat = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": "Bearer test-key"},
        json={"model": "base", "messages": ask()},
    )
    assert chat.status_code == 500
    assert "KeyError('oops')" in chat.json()["error"]["message"]
    responses = httpx.post(
        f"{emulator.base_url}/v1/responses",
        headers={"authorization": "Bearer test-key"},
        json=responses_body(),
    )
    assert responses.status_code == 500
    assert "KeyError('oops')" in responses.json()["error"]["message"]


def test_responder_at_construction_and_restoring_the_default() -> None:
    with ParallelEmulator(responder=lambda request: "scripted") as emulator:
        assert _responses(emulator)["output"][-1]["content"][0]["text"] == "scripted"
        emulator.responder = None
        assert isinstance(emulator.responder, ResearchResponder)
        assert "Paris" in _responses(emulator)["output"][-1]["content"][0]["text"]


def test_bad_responder_arguments() -> None:
    with pytest.raises(ValueError, match="not both"):
        ParallelEmulator(responder=lambda request: "x", corpus=[])
    with pytest.raises(TypeError, match="callable"):
        ParallelEmulator(responder="nope")  # type: ignore[arg-type]


def test_research_responder_directly() -> None:
    answer = ResearchResponder()(EmulatorRequest("responses", "parallel", ()))
    assert answer.text  # no question: the not-found answer, still an answer


@dataclass(frozen=True)
class _KeyRecorder(LatencyModel):
    keys: list[str] = field(default_factory=list, hash=False, compare=False)

    def first_token(self, model: str, seed: int) -> float:
        self.keys.append(model)
        return 0.0


def test_latency_is_keyed_by_effort(emulator: ParallelEmulator) -> None:
    recorder = _KeyRecorder()
    emulator.latency = recorder
    _responses(emulator, reasoning={"effort": "high"})
    _responses(emulator)
    streamed = httpx.post(
        f"{emulator.base_url}/v1/responses",
        headers={"authorization": "Bearer test-key"},
        json=responses_body(reasoning={"effort": "low"}, stream=True),
    )
    assert "response.completed" in streamed.text
    _chat(emulator)
    assert recorder.keys == ["parallel-high", "parallel-medium", "parallel-low", "base"]


def test_realistic_latency_follows_the_documented_effort_ranges() -> None:
    realistic = LatencyModel.realistic()
    for key, (low, high) in {
        "parallel-low": (5, 10),
        "parallel-medium": (15, 20),
        "parallel-high": (30, 60),
    }.items():
        waits = [realistic.first_token(key, seed) for seed in (0, 4_999, 9_999)]
        assert waits[0] == low and waits[-1] == high and low < waits[1] < high


@pytest.mark.parametrize(
    "value",
    [
        {"a": "x", "b": 1, "c": [1, {"d": "}"}], "e": None, "f": {"g": "h"}},
        {"quote": 'say "hi"', "é": "ü🙂", "n": -1.5e3},
        {},
    ],
)
def test_json_value_spans(value: dict[str, Any]) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=2, ensure_ascii=False)):
        spans = json_value_spans(text)
        assert list(spans) == list(value)
        for key, (start, end) in spans.items():
            piece = text[start:end]
            if isinstance(value[key], str):
                assert json.loads(f'"{piece}"') == value[key]
            else:
                assert json.loads(piece) == value[key]


@pytest.mark.parametrize("text", ["[1, 2]", "plain text", '{"a": ', ""])
def test_json_value_spans_of_other_text(text: str) -> None:
    assert json_value_spans(text) == {}


def test_excerpts_missing_from_the_text_cite_the_whole_text() -> None:
    answer = EmulatorAnswer("Short answer.", citations=(Citation("u", "t", ("elsewhere",)),))
    assert spans_for(answer) == (CitedSpan(0, 13, "u", "t"),)
