"""Issue 21 in DSPy on the Responses API: a per-field basis under the default
`ChatAdapter` (as the Chat API gives), and JSON enforced by a schema for signatures with
open-ended outputs under `JSONAdapter`."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from typing import Any

import dspy
import pytest

from parallel_adapters.dspy import ParallelLM, collect_basis
from parallel_adapters.testing import CitedSpan, EmulatorAnswer, EmulatorRequest, ParallelEmulator

KEY = "test-key"
STATS, MAPS = "https://www.statice.is/", "https://maps.example/reykjavik"
SECTIONS = (
    "[[ ## reasoning ## ]]\nStatistics Iceland names the capital.\n\n"
    "[[ ## answer ## ]]\nReykjavik\n\n[[ ## completed ## ]]"
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ParallelEmulator]:
    with ParallelEmulator(api_key=KEY, latency="fast") as emu:
        yield emu


def _lm(emu: ParallelEmulator) -> ParallelLM:
    return ParallelLM(
        "parallel", api_key=KEY, base_url=emu.base_url, cache=False, requests_per_minute=None
    )


def _span(text: str, passage: str, url: str) -> CitedSpan:
    at = text.index(passage)
    return CitedSpan(at, at + len(passage), url)


def test_item_3_chat_adapter_answers_get_a_basis_per_section(emulator: ParallelEmulator) -> None:
    spans = (
        _span(SECTIONS, "Statistics Iceland", STATS),
        _span(SECTIONS, "Reykjavik", MAPS),
        _span(SECTIONS, "Reykjavik", STATS),
    )
    emulator.responder = lambda request: EmulatorAnswer(SECTIONS, spans=spans)
    program = dspy.ChainOfThought("question -> answer")
    with dspy.context(lm=_lm(emulator), adapter=dspy.ChatAdapter()), collect_basis() as calls:
        prediction = program(question="Capital of Iceland?")
    assert prediction.answer == "Reykjavik"
    [call] = calls.calls
    by_field = {b.field: [(c.url, c.excerpts) for c in b.citations] for b in call.research.basis}
    assert by_field == {
        "reasoning": [(STATS, ["Statistics Iceland"])],
        "answer": [(MAPS, ["Reykjavik"]), (STATS, ["Reykjavik"])],
    }


class Step(dspy.Signature):
    """Pick the next tool and its arguments."""

    question: str = dspy.InputField()
    next_tool_name: str = dspy.OutputField()
    next_tool_args: dict[str, Any] = dspy.OutputField()


def test_item_11_open_ended_outputs_get_a_json_schema_not_json_object(
    emulator: ParallelEmulator,
) -> None:
    seen: list[EmulatorRequest] = []

    def respond(request: EmulatorRequest) -> EmulatorAnswer:
        seen.append(request)
        text = json.dumps({"next_tool_name": "search", "next_tool_args": {"query": "Iceland"}})
        return EmulatorAnswer(text, spans=(_span(text, "search", STATS),))

    emulator.responder = respond
    with dspy.context(lm=_lm(emulator), adapter=dspy.JSONAdapter()), warnings.catch_warnings():
        warnings.simplefilter("error")  # no "ignores 'response_format json_object'" warning
        with collect_basis() as calls:
            prediction = dspy.Predict(Step)(question="Capital of Iceland?")
    assert prediction.next_tool_args == {"query": "Iceland"}
    [request] = seen
    assert request.response_format is not None and request.response_format.type == "json_schema"
    schema = dict(request.response_format.schema or {})
    assert schema["properties"]["next_tool_args"]["type"] == "object"
    assert schema["properties"]["next_tool_args"].get("additionalProperties", True) is not False
    assert schema["properties"]["next_tool_name"]["type"] == "string"
    assert sorted(schema["required"]) == ["next_tool_args", "next_tool_name"]
    fields = [b.field for b in calls.calls[0].research.basis]
    assert fields == ["next_tool_name", "next_tool_args"]


def test_item_11_react_runs_with_its_tool_args_enforced_by_a_schema(
    emulator: ParallelEmulator,
) -> None:
    formats: list[dict[str, Any]] = []

    def respond(request: EmulatorRequest) -> EmulatorAnswer:
        assert request.response_format is not None
        schema = dict(request.response_format.schema or {})
        formats.append(schema)
        properties = schema.get("properties", {})
        if "next_tool_args" in properties:
            step = len(formats) == 1
            return EmulatorAnswer(
                json.dumps(
                    {
                        "next_thought": "Look it up." if step else "Done.",
                        "next_tool_name": "lookup" if step else "finish",
                        "next_tool_args": {"country": "Iceland"} if step else {},
                    }
                )
            )
        return EmulatorAnswer(json.dumps(dict.fromkeys(properties, "Reykjavik")))

    def lookup(country: str) -> str:
        """The capital of a country."""
        return {"Iceland": "Reykjavik"}.get(country, "unknown")

    emulator.responder = respond
    agent = dspy.ReAct("question -> answer", tools=[lookup], max_iters=3)
    with dspy.context(lm=_lm(emulator), adapter=dspy.JSONAdapter()):
        prediction = agent(question="Capital of Iceland?")
    assert prediction.answer == "Reykjavik"
    assert prediction.trajectory["observation_0"] == "Reykjavik"
    steps = [f for f in formats if "next_tool_args" in f.get("properties", {})]
    assert len(steps) == 2
    assert all(f["properties"]["next_tool_args"]["type"] == "object" for f in steps)


def test_item_11_async_calls_get_the_schema_too(emulator: ParallelEmulator) -> None:
    seen: list[EmulatorRequest] = []

    def respond(request: EmulatorRequest) -> EmulatorAnswer:
        seen.append(request)
        return EmulatorAnswer(json.dumps({"next_tool_name": "a", "next_tool_args": {"b": 1}}))

    emulator.responder = respond

    async def run() -> Any:
        with dspy.context(lm=_lm(emulator), adapter=dspy.JSONAdapter()):
            return await dspy.Predict(Step).acall(question="q")

    assert asyncio.run(run()).next_tool_args == {"b": 1}
    assert [r.response_format.type for r in seen if r.response_format] == ["json_schema"]
