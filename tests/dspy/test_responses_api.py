"""`ParallelLM` on the Responses API (`parallel`, `parallel-low|medium|high`), against the
emulator, with scripted answers through its responder seam where a test needs exact text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import dspy
import pytest
from dspy.streaming import StreamListener, StreamResponse

import parallel_adapters
from parallel_adapters.dspy import ParallelLM, WebSources, collect_basis, with_web_sources
from parallel_adapters.testing import ParallelEmulator
from parallel_adapters.testing._responder import (
    Citation,
    EmulatorAnswer,
    EmulatorRequest,
)

KEY = "test-key"
PAGE = Citation(
    "https://www.statice.is/", "Statistics Iceland", ("Reykjavik is the capital of Iceland.",)
)
Responder = Callable[[EmulatorRequest], EmulatorAnswer]


@pytest.fixture
def emulator() -> Iterator[ParallelEmulator]:
    with ParallelEmulator(api_key=KEY, latency="fast") as emu:
        yield emu


def _lm(emu: ParallelEmulator, model: str = "parallel", **options: Any) -> ParallelLM:
    options.setdefault("requests_per_minute", None)
    options.setdefault("retry_initial_delay", 0.0)
    options.setdefault("retry_max_delay", 0.0)
    return ParallelLM(model, api_key=KEY, base_url=emu.base_url, **options)


def _bodies(emu: ParallelEmulator) -> list[dict[str, Any]]:
    return [dict(entry.json) for entry in emu.requests if entry.json is not None]


def _answering(text: str) -> Responder:
    return lambda request: EmulatorAnswer(text, citations=(PAGE,))


def _json_answer(request: EmulatorRequest) -> EmulatorAnswer:
    # JSONAdapter asks for exactly the signature's output fields.
    schema = request.schema or {}
    fields = dict.fromkeys(schema.get("properties", {"answer": None}), "Reykjavik")
    return EmulatorAnswer(json.dumps(fields), citations=(PAGE,))


@pytest.mark.parametrize(
    ("model", "options"),
    [("parallel-high", {}), ("parallel", {"reasoning_effort": "high"})],
    ids=["shorthand", "reasoning_effort"],
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_effort_reaches_the_responses_endpoint(
    emulator: ParallelEmulator, model: str, options: dict[str, Any], is_async: bool
) -> None:
    emulator.responder = _answering("Reykjavik is the capital.")
    lm = _lm(emulator, model, cache=False, **options)
    outputs = asyncio.run(lm.acall("Capital of Iceland?")) if is_async else lm("Capital?")
    assert outputs[0]["text"] == "Reykjavik is the capital."
    assert outputs[0]["citations"][0]["url"] == PAGE.url
    assert emulator.requests[-1].path == "/v1/responses"
    body = _bodies(emulator)[-1]
    assert body["model"] == "parallel" and body["reasoning"] == {"effort": "high"}
    assert "metadata" not in body, "the cache-only keys never reach the wire"


def test_json_adapter_sends_text_format_and_gets_field_basis(emulator: ParallelEmulator) -> None:
    emulator.responder = _json_answer
    lm = _lm(emulator, "parallel-low", cache=False)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        prediction = dspy.Predict("question -> answer")(question="Capital of Iceland?")
    assert prediction.answer == "Reykjavik"
    body = _bodies(emulator)[-1]
    assert "response_format" not in body
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema" and "answer" in fmt["schema"]["properties"]
    assert calls.last is not None
    assert [b.field for b in calls.last.basis] == ["answer"]
    assert [c.url for c in calls.last.citations] == [PAGE.url]


def test_chat_adapter_parses_the_fields(emulator: ParallelEmulator) -> None:
    emulator.responder = _answering("[[ ## answer ## ]]\nReykjavik\n\n[[ ## completed ## ]]")
    lm = _lm(emulator, cache=False)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        prediction = dspy.Predict("question -> answer")(question="Capital of Iceland?")
    assert prediction.answer == "Reykjavik"
    body = _bodies(emulator)[-1]
    assert "text" not in body, "ChatAdapter asks in prose, not with a schema"
    assert "answer" in body["instructions"], "DSPy's system prompt travels as instructions"


def _json_or_sections(request: EmulatorRequest) -> EmulatorAnswer:
    if request.schema is not None:
        return _json_answer(request)
    return EmulatorAnswer(
        "[[ ## answer ## ]]\nReykjavik\n\n[[ ## completed ## ]]", citations=(PAGE,)
    )


@pytest.mark.parametrize("adapter", ["JSONAdapter", "ChatAdapter"])
@pytest.mark.parametrize("is_async_program", [False, True], ids=["sync", "async"])
def test_streamify_yields_the_answer_then_the_prediction(
    emulator: ParallelEmulator, is_async_program: bool, adapter: str
) -> None:
    emulator.responder = _json_or_sections
    lm = _lm(emulator, cache=False)
    streaming = dspy.streamify(
        dspy.Predict("question -> answer"),
        stream_listeners=[StreamListener(signature_field_name="answer")],
        is_async_program=is_async_program,
    )

    async def run() -> list[Any]:
        return [value async for value in streaming(question="Capital of Iceland?")]

    with dspy.context(lm=lm, adapter=getattr(dspy, adapter)()), collect_basis() as calls:
        values = asyncio.run(run())
    chunks = [v for v in values if isinstance(v, StreamResponse)]
    assert chunks and all(isinstance(v, StreamResponse) for v in values[:-1])
    prediction = values[-1]
    assert isinstance(prediction, dspy.Prediction) and prediction.answer == "Reykjavik"
    assert "".join(c.chunk for c in chunks).strip().strip('"') == "Reykjavik"
    assert [body["stream"] for body in _bodies(emulator)] == [True], "one request, streamed"
    assert len(calls) == 1 and [c.url for c in calls[0].citations] == [PAGE.url]


def test_cache_keys_differ_per_effort_and_endpoint(emulator: ParallelEmulator) -> None:
    emulator.responder = _answering("Reykjavik.")
    low = _lm(emulator, reasoning_effort="low")
    high = _lm(emulator, reasoning_effort="high")
    for lm in (low, high, low, high, _lm(emulator, "parallel-high")):
        lm("Capital of Iceland?")
    efforts = [body["reasoning"]["effort"] for body in _bodies(emulator)]
    # low, high live; the repeats are cache hits; parallel-high is its own model name.
    assert efforts == ["low", "high", "high"]
    assert low.copy(reasoning_effort="high")("Capital of Iceland?")[0]["text"] == "Reykjavik."
    assert len(emulator.requests) == 3, "a copy at the same effort shares the cache entry"
    with ParallelEmulator(api_key=KEY, latency="fast", responder=_answering("Other.")) as other:
        assert _lm(other, reasoning_effort="low")("Capital of Iceland?")[0]["text"] == "Other."
        assert len(other.requests) == 1, "another endpoint never gets this one's answer"
    # Saved state keeps neither cache-only key; loading rebuilds them.
    assert "metadata" not in high.dump_state()


def test_collect_basis_and_web_sources(emulator: ParallelEmulator) -> None:
    emulator.responder = _json_answer

    class Answer(dspy.Signature):
        question: str = dspy.InputField()
        answer: str = dspy.OutputField()
        sources: WebSources = dspy.OutputField()

    lm = _lm(emulator, cache=False)
    with (
        dspy.context(lm=lm, adapter=with_web_sources(dspy.JSONAdapter())),
        collect_basis() as calls,
    ):
        prediction = dspy.Predict(Answer)(question="Capital of Iceland?")
    assert prediction.answer == "Reykjavik"
    assert isinstance(prediction.sources, WebSources)
    assert prediction.sources.urls == [PAGE.url]
    assert prediction.sources[0].title == PAGE.title
    schema = _bodies(emulator)[-1]["text"]["format"]["schema"]
    assert "sources" not in schema["properties"], "never asked of the model"
    assert calls.last is not None and calls.last.interaction_id


def test_history_carries_citations_spans_and_usage(emulator: ParallelEmulator) -> None:
    emulator.responder = _answering("Reykjavik is the capital of Iceland.")
    lm = _lm(emulator, cache=False)
    lm("Capital of Iceland?")
    entry = lm.history[-1]
    output = entry["outputs"][0]
    assert output["citations"][0]["url"] == PAGE.url
    [span] = output["cited_spans"]
    assert span["url"] == PAGE.url
    assert output["text"][span["start"] : span["end"]]
    assert entry["response"].provider_data["cited_spans"] == [span]
    # The Responses API's input_tokens/output_tokens, in DSPy's prompt/completion names.
    usage = entry["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_history_entries_are_unchanged(emulator: ParallelEmulator) -> None:
    emulator.responder = _answering("Reykjavik.")
    lm = _lm(emulator, "base", cache=False)
    lm("Capital of Iceland?")
    assert emulator.requests[-1].path == "/chat/completions"
    assert "cited_spans" not in lm.history[-1]["outputs"][0]
    assert "cited_spans" not in lm.history[-1]["response"].provider_data
    assert lm.history[-1]["outputs"][0]["citations"]


def test_evaluate_with_eight_threads(emulator: ParallelEmulator) -> None:
    emulator.responder = _json_answer
    lm = _lm(emulator, "parallel-low", cache=False)
    devset = [
        dspy.Example(question=f"Capital of Iceland, take {i}?", answer="Reykjavik").with_inputs(
            "question"
        )
        for i in range(16)
    ]
    evaluate = dspy.Evaluate(
        devset=devset,
        metric=lambda example, pred, trace=None: example.answer == pred.answer,
        num_threads=8,
        display_progress=False,
    )
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        result = evaluate(dspy.Predict("question -> answer"))
    assert result.score == 100.0
    assert len(calls) == 16 and len({call.interaction_id for call in calls}) == 16
    assert all(entry.path == "/v1/responses" for entry in emulator.requests)


def test_a_failed_run_is_response_failed_error_and_dspy_server_error(
    emulator: ParallelEmulator,
) -> None:
    emulator.inject("failed")
    lm = _lm(emulator, cache=False, num_retries=0)
    with pytest.raises(parallel_adapters.ResponseFailedError) as caught:
        lm("Capital of Iceland?")
    assert isinstance(caught.value, dspy.LMServerError)
    assert caught.value.provider == "parallel"


def _react_responder(request: EmulatorRequest) -> EmulatorAnswer:
    """A scripted ReAct run: one tool call, then finish, then the extract step's answer."""
    system = request.messages[0].content if request.messages else ""
    conversation = "\n".join(m.content for m in request.messages)
    if "next_tool_name" in system:
        if "observation_0" not in request.messages[-1].content:
            return EmulatorAnswer(
                "[[ ## next_thought ## ]]\nLook the capital up.\n\n"
                "[[ ## next_tool_name ## ]]\ncapital_of\n\n"
                '[[ ## next_tool_args ## ]]\n{"country": "Iceland"}\n\n'
                "[[ ## completed ## ]]"
            )
        return EmulatorAnswer(
            "[[ ## next_thought ## ]]\nI have it.\n\n"
            "[[ ## next_tool_name ## ]]\nfinish\n\n"
            "[[ ## next_tool_args ## ]]\n{}\n\n"
            "[[ ## completed ## ]]"
        )
    assert "Reykjavik" in conversation, "the extract step sees the tool's observation"
    return EmulatorAnswer(
        "[[ ## reasoning ## ]]\nThe tool said so.\n\n"
        "[[ ## answer ## ]]\nReykjavik\n\n[[ ## completed ## ]]",
        citations=(PAGE,),
    )


@pytest.mark.parametrize("model", ["parallel", "base"])
def test_react_calls_a_tool_then_finishes(emulator: ParallelEmulator, model: str) -> None:
    emulator.responder = _react_responder
    asked: list[str] = []

    def capital_of(country: str) -> str:
        """The capital city of a country."""
        asked.append(country)
        return "Reykjavik"

    lm = _lm(emulator, model, cache=False)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        prediction = dspy.ReAct("question -> answer", tools=[capital_of], max_iters=3)(
            question="Capital of Iceland?"
        )
    assert asked == ["Iceland"]
    assert prediction.answer == "Reykjavik"
    assert list(prediction.trajectory)[:4] == [
        "thought_0",
        "tool_name_0",
        "tool_args_0",
        "observation_0",
    ]
    assert prediction.trajectory["tool_name_1"] == "finish"
    path = "/v1/responses" if model == "parallel" else "/chat/completions"
    assert [entry.path for entry in emulator.requests] == [path] * 3
