"""ParallelLM with DSPy's modules and adapters, history, usage and cache."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Callable
from typing import Any

import dspy
import pytest

import parallel_adapters
from parallel_adapters.dspy import ParallelEngine, ParallelLM, research_of

from .questions import DEV_QUESTIONS, QUESTION

JSON_QUESTION = DEV_QUESTIONS[11]

pytestmark = [pytest.mark.vcr, pytest.mark.filterwarnings("error::DeprecationWarning")]


def _body(cassette: Any, index: int = -1) -> dict[str, Any]:
    body = cassette.requests[index].body
    return dict(json.loads(body.decode() if isinstance(body, bytes) else body))


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_lm_call_returns_text_with_citations(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    outputs = lm(QUESTION)
    assert len(outputs) == 1
    output = outputs[0]
    assert isinstance(output, dict)
    assert "marker line" in output["text"]
    assert output["citations"], "a research model's answer carries citations"
    for citation in output["citations"]:
        assert set(citation) <= {"url", "title", "text"}
        assert citation["url"].startswith("http")


def test_basis_reachable_through_history(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    lm(QUESTION)
    response = lm.history[-1]["response"]
    basis = response.provider_data["basis"]
    assert basis and basis[0]["citations"]
    assert {"field", "reasoning", "citations", "confidence"} <= set(basis[0])
    research = research_of(response)
    assert research.basis[0].citations[0].url == basis[0]["citations"][0]["url"]
    assert research.interaction_id == response.provider_data["interaction_id"]
    assert research.interaction_id


def test_speed_model_has_plain_text_and_no_basis(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("speed")
    outputs = lm(QUESTION)
    # The same shape as a research model's answer, with no citations.
    assert outputs[0]["text"] and outputs[0]["citations"] == []
    assert lm.history[-1]["response"].provider_data["basis"] == []


def test_model_prefix_is_unique_and_sent_without_it(
    make_lm: Callable[..., ParallelLM], vcr: Any
) -> None:
    lm = make_lm("parallel/lite")
    assert lm.model == "parallel/lite"
    assert make_lm("lite").model == "parallel/lite"
    lm(QUESTION)
    assert _body(vcr)["model"] == "lite"
    assert lm.history[-1]["model"] == "parallel/lite"


@pytest.mark.parametrize("profile", ["documented", "openai"])
@pytest.mark.parametrize("module", ["Predict", "ChainOfThought"])
def test_modules_with_chat_adapter(
    make_lm: Callable[..., ParallelLM], module: str, vcr: Any, http_requests: Callable[[], int]
) -> None:
    lm = make_lm("base")
    program = getattr(dspy, module)("question -> answer")
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        prediction = program(question=QUESTION)
    assert "marker line" in prediction.answer
    if module == "ChainOfThought":
        assert prediction.reasoning
    first = _body(vcr, 0)
    assert "response_format" not in first
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert "[[ ## answer ## ]]" in first["messages"][0]["content"]
    # The answer comes in ChatAdapter's sections, so it parses on the first call: exactly
    # one request, no JSONAdapter fallback.
    assert len(lm.history) == 1
    assert http_requests() == 1
    research = research_of(lm.history[-1]["response"])
    # One basis entry per output field, each grounded in the cited pages.
    predictor = program.predict if module == "ChainOfThought" else program
    assert [b.field for b in research.basis] == list(predictor.signature.output_fields)
    assert all(b.citations for b in research.basis)
    excerpts = [e for c in research.citations for e in c.excerpts]
    assert prediction.answer == " ".join(excerpts)
    if module == "ChainOfThought":
        assert all(f'"{c.title}"' in prediction.reasoning for c in research.citations)


@pytest.mark.parametrize("profile", ["documented", "openai"])
@pytest.mark.parametrize("module", ["Predict", "ChainOfThought"])
def test_json_adapter_sends_schema_in_wire_form(
    make_lm: Callable[..., ParallelLM], module: str, vcr: Any
) -> None:
    lm = make_lm("base")
    program = getattr(dspy, module)("question -> answer, topics: list[str]")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = program(question=JSON_QUESTION)
    assert isinstance(prediction.answer, str) and prediction.answer
    assert isinstance(prediction.topics, list)
    assert all(isinstance(topic, str) for topic in prediction.topics)
    assert len(lm.history) == 1, "the schema answer parses on the first call"
    response_format = _body(vcr)["response_format"]
    # DSPy hands the engine lm15's canonical {"type", "name", "schema", "strict"};
    # the wire carries OpenAI's {"type": "json_schema", "json_schema": {...}}.
    assert response_format["type"] == "json_schema"
    inner = response_format["json_schema"]
    assert inner["name"] == "DSPyProgramOutputs"
    assert inner["strict"] is True
    expected = {"answer", "topics"} | ({"reasoning"} if module == "ChainOfThought" else set())
    assert set(inner["schema"]["properties"]) == expected
    assert inner["schema"]["properties"]["topics"]["type"] == "array"


def test_usage_absent_is_not_invented(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter(), track_usage=True):
        prediction = dspy.Predict("question -> answer")(question=QUESTION)
    # The documented profile sends no usage: no zero counts are made up.
    assert prediction.get_lm_usage() == {}
    assert lm.history[-1]["usage"] == {}
    usage = lm.history[-1]["response"].usage
    assert usage.input_tokens is None and usage.output_tokens is None


@pytest.mark.parametrize("profile", ["openai"])
def test_usage_reported_is_passed_through(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter(), track_usage=True):
        prediction = dspy.Predict("question -> answer")(question=QUESTION)
    usage = prediction.get_lm_usage()["parallel/base"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert lm.history[-1]["usage"]["prompt_tokens"] == usage["prompt_tokens"]


def test_cache_hit_makes_no_request(
    make_lm: Callable[..., ParallelLM], http_requests: Callable[[], int]
) -> None:
    lm = make_lm("base", cache=True)
    first = lm(QUESTION)
    second = lm(QUESTION)
    assert http_requests() == 1
    assert second == first
    # A hit keeps the basis in history, from the cached response.
    assert lm.history[-1]["response"].provider_data["basis"]


def test_cache_false_always_requests(
    make_lm: Callable[..., ParallelLM], http_requests: Callable[[], int]
) -> None:
    lm = make_lm("base", cache=False)
    lm(QUESTION)
    lm(QUESTION)
    assert http_requests() == 2


def test_inspect_history_prints_the_exchange(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    with dspy.context(lm=lm):
        dspy.Predict("question -> answer")(question=QUESTION)
    out = io.StringIO()
    lm.inspect_history(n=1, file=out)
    text = out.getvalue()
    assert QUESTION in text
    assert "marker line" in text
    out = io.StringIO()
    dspy.inspect_history(n=1, file=out)
    assert QUESTION in out.getvalue()


def test_no_deprecated_route_is_used(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base")
    assert "forward" not in vars(type(lm)) and "aforward" not in vars(type(lm))
    assert isinstance(lm.engine, ParallelEngine)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with dspy.context(lm=lm):
            assert dspy.Predict("question -> answer")(question=QUESTION).answer


def test_retries_and_options_go_to_the_core() -> None:
    lm = ParallelLM("base", api_key="k", num_retries=5, timeout=12)
    assert lm.num_retries == 0, "DSPy's own retry loop stays off"
    assert lm.max_retries == 5
    assert lm.config.timeout == 12
    with pytest.raises(parallel_adapters.InputError):
        lm.num_retries = 3
    copy = lm.copy(num_retries=1)
    assert copy.max_retries == 1 and copy.num_retries == 0
    assert lm.max_retries == 5
    assert ParallelLM("base", api_key="k", api_base="http://127.0.0.1:9").config.base_url == (
        "http://127.0.0.1:9"
    )
    with pytest.raises(parallel_adapters.InputError):
        ParallelLM("base", num_retries=1, max_retries=2)
    with pytest.raises(parallel_adapters.InputError):
        ParallelLM("base", model_type="text")


def test_key_never_in_repr_or_state() -> None:
    lm = ParallelLM("base", api_key="sk-SENTINEL-123")
    assert "SENTINEL" not in repr(lm)
    assert "SENTINEL" not in repr(lm.engine)
    assert "SENTINEL" not in json.dumps(lm.dump_state())
