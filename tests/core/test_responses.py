"""The Responses API backend: request shaping, reading answers, streams, errors.

Wire payloads are the documented shapes in `responses_wire`; the end-to-end tests
replay them from a loopback server, so the SDK's own HTTP and SSE parsing is exercised.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters._core import (
    EFFORT_TIMEOUTS,
    ParallelConfig,
    ResponsesAccumulator,
    completion_from_responses_body,
    shape_responses_request,
)

from . import responses_wire as wire
from .loopback import Reply, replay

FAST = {"retry_initial_delay": 0.0, "retry_max_delay": 0.0, "requests_per_minute": None}


def _chat(base_url: str, **options: Any) -> pa.ParallelChat:
    return pa.ParallelChat(
        **{"model": "parallel", "base_url": base_url, "api_key": "k-secret", **FAST, **options}
    )


def _request(messages: Any = "q", **params: Any) -> Any:
    return shape_responses_request(messages, model="parallel", **params)


# -- backend choice and request shaping ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "api"),
    [
        ("speed", "chat"),
        ("core", "chat"),
        ("parallel", "responses"),
        ("Parallel-High", "responses"),
    ],
)
def test_the_model_name_picks_the_api(model: str, api: str) -> None:
    request = pa.ParallelChat(api_key="k").request("q", model=model)
    assert request.api == api
    if api == "responses":
        assert request.body["model"] == "parallel"


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [
        ("parallel", None, None),
        ("parallel", "high", "high"),
        ("parallel-low", None, "low"),
        ("parallel-medium", "medium", "medium"),
    ],
)
def test_effort_from_the_name_or_the_option(model: str, effort: Any, sent: Any) -> None:
    body = shape_responses_request("q", model=model, reasoning_effort=effort).body
    assert body.get("reasoning") == ({"effort": sent} if sent else None)


def test_config_effort_is_the_default_and_a_pinned_name_wins_over_it() -> None:
    client = pa.ParallelChat(api_key="k", model="parallel", reasoning_effort="low")
    assert client.request("q").body["reasoning"] == {"effort": "low"}
    assert client.request("q", reasoning_effort="high").body["reasoning"] == {"effort": "high"}
    assert client.request("q", model="parallel-high").body["reasoning"] == {"effort": "high"}


@pytest.mark.parametrize(
    ("model", "effort"), [("parallel", "max"), ("parallel", "LOW"), ("parallel-low", "high")]
)
def test_bad_or_conflicting_effort_is_an_input_error(model: str, effort: str) -> None:
    with pytest.raises(pa.InputError, match="reasoning_effort"):
        shape_responses_request("q", model=model, reasoning_effort=effort)


def test_effort_timeouts() -> None:
    config = ParallelConfig.from_options(api_key="k")
    assert config.timeout_for("parallel") == EFFORT_TIMEOUTS["medium"]
    assert config.timeout_for("parallel-high") == EFFORT_TIMEOUTS["high"]
    assert config.timeout_for("parallel", "low") == EFFORT_TIMEOUTS["low"]
    assert (
        ParallelConfig.from_options(
            api_key="k", model="parallel", reasoning_effort="high"
        ).timeout_for("parallel")
        == 180.0
    )
    assert ParallelConfig.from_options(api_key="k", timeout=7).timeout_for("parallel-high") == 7
    assert EFFORT_TIMEOUTS["low"] < EFFORT_TIMEOUTS["medium"] < EFFORT_TIMEOUTS["high"]


def test_messages_become_instructions_and_input() -> None:
    body = _request(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Cite sources."},
            {"role": "user", "content": "Who founded Parallel?"},
        ]
    ).body
    assert body["instructions"] == "Be brief.\n\nCite sources."
    assert body["input"] == "Who founded Parallel?"
    assert "messages" not in body


def test_a_conversation_is_a_message_list_merged_as_on_the_chat_path() -> None:
    body = _request(
        [
            ("user", "first"),
            ("user", "second"),
            ("assistant", "answer"),
            {"role": "tool", "name": "calc", "content": "42"},
            ("user", [{"type": "input_text", "text": "a"}, {"type": "text", "text": "b"}]),
        ]
    ).body
    assert body["input"] == [
        {"role": "user", "content": "first\n\nsecond"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "[tool result from calc]\n42\n\na\nb"},
    ]
    assert "instructions" not in body


def test_a_named_speaker_keeps_its_name_in_the_text() -> None:
    body = _request([{"role": "user", "name": "ann", "content": "hi"}]).body
    assert body["input"] == "ann: hi"


@pytest.mark.parametrize(
    ("messages", "match"),
    [
        ([("system", "only system")], "user message"),
        ([("assistant", "only assistant")], "user message"),
        ([("user", [{"type": "input_image", "image_url": "x"}])], "input_image"),
        ("", "no message has any text"),
    ],
)
def test_what_the_server_refuses_is_refused_before_sending(messages: Any, match: str) -> None:
    with pytest.raises(pa.InputError, match=match):
        _request(messages)


def test_the_20000_code_point_limit_counts_input_and_instructions() -> None:
    # Instructions + one separator + input, in code points (an emoji is one).
    _request([("system", "s" * 9_999), ("user", "🚀" * 10_000)])
    with pytest.raises(pa.InputError, match="20000"):
        _request([("system", "s" * 10_000), ("user", "🚀" * 10_000)])
    with pytest.raises(pa.InputError, match="20001"):
        _request("x" * 20_001)


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({f"k{i}": "v" for i in range(17)}, "17 keys"),
        ({"k" * 65: "v"}, "65 characters"),
        ({"k": "v" * 513}, "513 characters"),
        ({"k": 1}, "strings"),
        (["k"], "dict"),
    ],
)
def test_metadata_over_its_limits_is_refused(metadata: Any, match: str) -> None:
    with pytest.raises(pa.InputError, match=match):
        _request(metadata=metadata)


def test_metadata_extra_body_and_previous_id_pass_through() -> None:
    body = _request(
        metadata={"row_id": "42"},
        previous_interaction_id="resp_1",
        extra_body={"tools": [{"type": "web_search", "filters": {"allowed_domains": ["x.org"]}}]},
        stream=True,
    ).body
    assert body["metadata"] == {"row_id": "42"}
    assert body["previous_response_id"] == "resp_1"
    assert body["tools"][0]["type"] == "web_search"
    assert body["stream"] is True
    assert "previous_interaction_id" not in body


def test_ignored_openai_params_are_dropped_and_unknown_ones_refused() -> None:
    body = _request(temperature=0.2, max_tokens=10, top_p=0.5, user="u", store=True).body
    assert set(body) == {"model", "input"}
    with pytest.raises(pa.InputError, match="unknown parameter 'foo'"):
        _request(foo=1)
    with pytest.warns(UserWarning, match="'tool_choice'"):
        _request(tool_choice="auto")


class Capital(BaseModel):
    capital: str
    population: int


@pytest.mark.parametrize(
    "response_format",
    [
        Capital,
        wire.CAPITAL_SCHEMA,
        {
            "type": "json_schema",
            "json_schema": {"name": "capital_info", "schema": wire.CAPITAL_SCHEMA, "strict": True},
        },
        {
            "type": "json_schema",
            "name": "capital_info",
            "schema": wire.CAPITAL_SCHEMA,
            "strict": True,
        },
    ],
)
def test_every_response_format_becomes_text_format(response_format: Any) -> None:
    fmt = _request(response_format=response_format).body["text"]["format"]
    assert fmt["type"] == "json_schema"
    assert fmt["name"] in ("Capital", "capital_info", "response")
    assert fmt["schema"]["properties"].keys() == {"capital", "population"}
    assert "json_schema" not in fmt


def test_text_format_text_is_not_sent() -> None:
    assert "text" not in _request(response_format={"type": "text"}).body


# -- reading answers ---------------------------------------------------------------------------


def test_a_documented_answer_becomes_a_completion() -> None:
    completion = completion_from_responses_body(copy.deepcopy(wire.NVIDIA), _request())
    assert completion.text == wire.JENSEN
    assert completion.model == "parallel"
    assert completion.interaction_id == completion.id == wire.RESPONSE_ID
    assert completion.created == 1790000000
    assert completion.finish_reason == "stop"
    assert completion.usage is not None and completion.usage["total_tokens"] == 27
    assert [c.url for c in completion.citations] == [wire.NVIDIA_URL, wire.SIMPLYWALL_URL]
    assert completion.citations[0].excerpts == [wire.JENSEN[:56]]
    assert [(s.start, s.end) for s in completion.cited_spans] == [(0, 56), (0, 56)]
    [basis] = completion.basis
    assert basis.field == "output"
    assert basis.reasoning is None and basis.confidence is None
    assert [c.url for c in basis.citations] == [wire.NVIDIA_URL, wire.SIMPLYWALL_URL]
    assert [c.action.type for c in completion.web_search_calls if c.action] == [
        "search",
        "open_page",
    ]
    assert completion.web_search_calls[0].action is not None
    assert completion.web_search_calls[0].action.queries == [
        "Nvidia CEO",
        "Nvidia chief executive since",
    ]
    assert completion.raw["output"][0]["type"] == "web_search_call"


def test_the_message_is_found_by_type_not_position() -> None:
    body = copy.deepcopy(wire.NVIDIA)
    body["output"].reverse()
    body["output"].append({"type": "mcp_call", "id": "mcp_1", "output": "not the answer"})
    assert completion_from_responses_body(body, _request()).text == wire.JENSEN


def test_citations_are_unique_by_url_with_code_point_excerpts() -> None:
    completion = completion_from_responses_body(wire.PARALLEL_ABOUT, _request())
    assert [c.url for c in completion.citations] == [
        "https://parallel.ai/about",
        "https://parallel.ai/",
    ]
    about = completion.citations[0]
    assert about.excerpts == [
        "Parallel Web Systems — founded by Parag Agrawal",
        "Parallel Web Systems — founded by Parag Agrawal — builds web research APIs for AI agents",
    ]
    assert completion.citations[1].excerpts == ["builds web research APIs for AI agents"]
    assert len(completion.cited_spans) == 3


def test_text_with_markers() -> None:
    completion = completion_from_responses_body(wire.PARALLEL_ABOUT, _request())
    assert completion.text_with_markers() == (
        "Parallel Web Systems — founded by Parag Agrawal[1] — builds web research APIs for AI "
        "agents[1][2]. 🚀"
    )
    assert completion.text_with_markers("<{n}>").endswith("agents<1><2>. 🚀")
    nvidia = completion_from_responses_body(wire.NVIDIA, _request())
    assert nvidia.text_with_markers() == wire.JENSEN[:56] + "[1][2]" + wire.JENSEN[56:]


def test_chat_answers_come_back_unchanged_by_markers() -> None:
    chat = pa.Completion(text="plain", model="base", citations=[pa.Citation(url="https://a")])
    assert chat.cited_spans == []
    assert chat.text_with_markers() == "plain"


def test_structured_output_has_one_basis_per_field() -> None:
    request = _request(response_format=Capital)
    completion = completion_from_responses_body(wire.CAPITAL, request)
    assert completion.parsed == Capital(capital="Reykjavik", population=386506)
    by_field = {b.field: [c.url for c in b.citations] for b in completion.basis}
    assert by_field == {
        "capital": ["https://en.wikipedia.org/wiki/Reykjav%C3%ADk"],
        "population": ["https://www.statice.is/"],
    }
    assert completion.basis[0].citations[0].excerpts == ["Reykjavik"]
    assert len(completion.citations) == 2


def test_a_field_without_citations_still_has_its_basis() -> None:
    body = copy.deepcopy(wire.CAPITAL)
    body["output"][0]["content"][0]["annotations"] = []
    completion = completion_from_responses_body(body, _request(response_format=Capital))
    assert [(b.field, b.citations) for b in completion.basis] == [
        ("capital", []),
        ("population", []),
    ]


def test_non_json_text_under_a_schema_falls_back_to_one_output_field() -> None:
    completion = completion_from_responses_body(wire.NVIDIA, _request(response_format=None))
    assert [b.field for b in completion.basis] == ["output"]


def test_a_failed_status_in_a_200_is_a_typed_error() -> None:
    with pytest.raises(pa.ResponseFailedError, match="upstream unavailable") as caught:
        completion_from_responses_body(wire.FAILED, _request())
    assert caught.value.code == "server_error"
    assert isinstance(caught.value, pa.ServerError)


@pytest.mark.parametrize("body", [[], "text", {"id": "resp_1", "status": "completed"}])
def test_malformed_bodies_are_server_errors(body: Any) -> None:
    with pytest.raises(pa.ServerError):
        completion_from_responses_body(body, _request())


def test_malformed_annotations_are_skipped_not_fatal() -> None:
    body = copy.deepcopy(wire.NVIDIA)
    notes = body["output"][2]["content"][0]["annotations"]
    notes += [
        {"type": "file_citation"},
        "junk",
        {"type": "url_citation", "url": 3},
        {"type": "url_citation", "url": "https://x", "start_index": 50, "end_index": 999},
    ]
    completion = completion_from_responses_body(body, _request())
    # The span past the end is dropped (issue 21); its page stays a citation.
    assert "https://x" not in [s.url for s in completion.cited_spans]
    assert [c.url for c in completion.citations][-1] == "https://x"


def test_the_accumulator_ends_with_the_completed_object_and_tolerates_unknown_events() -> None:
    accumulator = ResponsesAccumulator(_request(stream=True))
    deltas = [accumulator.add(event) for event in wire.stream_events(wire.NVIDIA)]
    assert "".join(deltas) == wire.JENSEN
    completion = accumulator.finish()
    assert completion.text == wire.JENSEN
    assert len(completion.cited_spans) == 2
    assert completion.interaction_id == wire.RESPONSE_ID
    assert not completion.incomplete


def test_the_accumulator_rebuilds_from_deltas_without_a_completed_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    accumulator = ResponsesAccumulator(_request(stream=True))
    for event in wire.stream_events(wire.PARALLEL_ABOUT)[:-1]:
        accumulator.add(event)
    completion = accumulator.finish()
    assert completion.text == wire.PARALLEL_TEXT
    # Without the closing object the answer may be cut short: flagged, as on the Chat API.
    assert completion.incomplete
    assert "may be cut short" in caplog.text
    assert [c.url for c in completion.citations] == [
        "https://parallel.ai/about",
        "https://parallel.ai/",
    ]


def test_a_failed_event_is_a_typed_error() -> None:
    accumulator = ResponsesAccumulator(_request(stream=True))
    accumulator.add(wire.FAILED_EVENTS[0])
    with pytest.raises(pa.ResponseFailedError, match="upstream unavailable"):
        accumulator.add(wire.FAILED_EVENTS[1])


def test_bad_request_error_is_exported_and_mapped() -> None:
    from parallel_adapters._core._errors import error_from_status

    error = error_from_status(400, wire.BAD_MODEL_ERROR)
    assert isinstance(error, pa.BadRequestError)
    assert isinstance(error, pa.APIStatusError)
    assert error.message == "The Responses API only supports model 'parallel'."


# -- over the wire (loopback server replaying the documented payloads) ------------------------


def test_complete_posts_to_v1_responses_and_reads_the_answer() -> None:
    with replay(Reply.json(wire.NVIDIA)) as server:
        completion = _chat(server.base_url, model="parallel-low")(
            [("system", "Be brief."), ("user", "Who runs Nvidia?")], metadata={"row": "1"}
        )
    path, headers, body = server.requests[0]
    assert path == "/v1/responses"
    assert headers["authorization"] == "Bearer k-secret"
    assert body == {
        "model": "parallel",
        "input": "Who runs Nvidia?",
        "instructions": "Be brief.",
        "reasoning": {"effort": "low"},
        "metadata": {"row": "1"},
    }
    assert completion.text == wire.JENSEN
    assert len(completion.citations) == 2


def test_acomplete_and_map() -> None:
    with replay(Reply.json(wire.NVIDIA)) as server:
        chat = _chat(server.base_url)
        completion = asyncio.run(chat.acomplete("q"))
        results = chat.map(["a", "b", "c"], concurrency=2)
    assert completion.text == wire.JENSEN
    assert [r.text for r in results] == [wire.JENSEN] * 3
    assert all(path == "/v1/responses" for path, _, _ in server.requests)


@pytest.mark.parametrize("done", [False, True])
def test_stream_yields_the_text_and_ends_with_spans(done: bool) -> None:
    payload = wire.sse(wire.stream_events(wire.PARALLEL_ABOUT), done=done)
    with replay(Reply.sse(payload)) as server:
        stream = _chat(server.base_url).stream("q")
        text = "".join(part.delta for part in stream)
    assert server.bodies[0]["stream"] is True
    assert text == wire.PARALLEL_TEXT
    assert stream.completion.text_with_markers().count("[1]") == 2
    assert len(stream.completion.cited_spans) == 3


def test_astream() -> None:
    payload = wire.sse(wire.stream_events(wire.NVIDIA), done=True)

    async def run(base_url: str) -> tuple[str, pa.Completion]:
        stream = _chat(base_url).astream("q")
        text = "".join([part.delta async for part in stream])
        return text, stream.completion

    with replay(Reply.sse(payload)) as server:
        text, completion = asyncio.run(run(server.base_url))
    assert text == wire.JENSEN
    assert [c.url for c in completion.citations] == [wire.NVIDIA_URL, wire.SIMPLYWALL_URL]


def test_a_failed_stream_raises_with_the_server_message() -> None:
    with replay(Reply.sse(wire.sse(wire.FAILED_EVENTS))) as server:
        stream = _chat(server.base_url, max_retries=0).stream("q")
        with pytest.raises(pa.ResponseFailedError, match="upstream unavailable"):
            list(stream)


def test_a_failed_200_is_retried_like_a_5xx_then_raised() -> None:
    with replay(Reply.json(wire.FAILED), Reply.json(wire.NVIDIA)) as server:
        assert _chat(server.base_url, max_retries=1)("q").text == wire.JENSEN
    assert len(server.requests) == 2
    with replay(Reply.json(wire.FAILED)) as server, pytest.raises(pa.ResponseFailedError):
        _chat(server.base_url, max_retries=0)("q")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, wire.BAD_MODEL_ERROR, pa.BadRequestError),
        (
            422,
            {"detail": [{"loc": ["body", "input"], "msg": "bad", "type": "x"}]},
            pa.UnprocessableRequestError,
        ),
        (
            404,
            {"error": {"message": "Interaction context not found: resp_missing"}},
            pa.NotFoundError,
        ),
    ],
)
def test_error_statuses_are_typed_and_not_retried(status: int, body: Any, error: type) -> None:
    with replay(Reply.json(body, status=status)) as server, pytest.raises(error) as caught:
        _chat(server.base_url, max_retries=2)("q")
    assert len(server.requests) == 1
    assert "k-secret" not in str(caught.value) and "k-secret" not in repr(caught.value)


def test_429_is_retried_as_before() -> None:
    limited = Reply.json({"error": {"message": "slow down"}}, status=429)
    with replay(limited, Reply.json(wire.NVIDIA)) as server:
        assert _chat(server.base_url, max_retries=1)("q").text == wire.JENSEN
    assert len(server.requests) == 2


def test_structured_output_over_the_wire() -> None:
    with replay(Reply.json(wire.CAPITAL)) as server:
        completion = _chat(server.base_url)("Capital of Iceland?", response_format=Capital)
    assert server.bodies[0]["text"]["format"]["strict"] is True
    assert completion.parsed == Capital(capital="Reykjavik", population=386506)
    assert json.loads(completion.text)["population"] == 386506


def test_the_openai_sdk_reads_the_same_payload() -> None:
    """The payloads are valid for OpenAI's own `Response` type, so they are not invented."""
    types = pytest.importorskip("openai.types.responses")
    # Newer SDKs require usage fields Parallel does not document (cache_write_tokens); the
    # SDK itself builds responses leniently, so only the usage block is left out here.
    parsed = types.Response.model_validate({**wire.NVIDIA, "usage": None})
    assert parsed.output_text == wire.JENSEN
    assert completion_from_responses_body(wire.NVIDIA, _request()).text == parsed.output_text


def test_a_connect_timeout_is_a_connection_error_and_retried_but_a_read_timeout_is_not() -> None:
    import openai

    from parallel_adapters._core._http import http_library
    from parallel_adapters._core._transport import _translate

    request = http_library.Request("POST", "http://127.0.0.1/v1/responses")

    def sdk_timeout(cause: BaseException) -> openai.APITimeoutError:
        error = openai.APITimeoutError(request=request)
        error.__cause__ = cause
        return error

    connect = _translate(sdk_timeout(http_library.ConnectTimeout("slow connect")))
    read = _translate(sdk_timeout(http_library.ReadTimeout("slow answer")))
    assert isinstance(connect, pa.APIConnectionError)
    assert isinstance(read, pa.APITimeoutError)
    transport = pa.ParallelChat(api_key="k", max_retries=2)._transport
    assert transport._retry_delay(connect, 0) is not None
    assert transport._retry_delay(read, 0) is None
    opted_in = pa.ParallelChat(api_key="k", max_retries=2, retry_timeouts=True)._transport
    assert opted_in._retry_delay(read, 0) is not None
