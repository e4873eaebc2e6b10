"""The emulator speaks the Responses API (`POST /v1/responses`) as the official OpenAI SDK
expects: `responses.create`, `responses.parse`, both streaming interfaces, multi-turn ids,
and the shapes Parallel documents (web_search_call items first, url_citation annotations
with code-point offsets, reasoning/text echoed as null)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from parallel_adapters.testing import ParallelEmulator

from .support import QUESTION, responses_body, sse_events


class Country(BaseModel):
    capital: str
    population: int


def _raw(emulator: ParallelEmulator, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{emulator.base_url}/v1/responses",
        headers={"authorization": "Bearer test-key"},
        json=responses_body(**body),
    )


def _annotations(response: Any) -> list[Any]:
    [message] = [item for item in response.output if item.type == "message"]
    [part] = message.content
    return list(part.annotations)


def _action(item: Any) -> dict[str, Any]:
    # openai 1.68 does not type `action` (an extra field, a dict); newer releases do.
    action = item.action
    return action if isinstance(action, dict) else dict(action.model_dump())


def test_create_through_the_openai_sdk(
    responses_client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    response = responses_client.responses.create(
        model="parallel", input=QUESTION, reasoning={"effort": "low"}
    )

    assert "Paris" in response.output_text
    assert response.id.startswith("resp_")
    assert (response.object, response.model, response.status) == (
        "response",
        "parallel",
        "completed",
    )
    types = [item.type for item in response.output]
    assert types[-1] == "message"
    assert set(types[:-1]) == {"web_search_call"} and len(types) >= 2  # searches come first
    actions = [_action(item) for item in response.output[:-1]]
    assert actions[0]["type"] == "search" and {a["type"] for a in actions[1:]} == {"open_page"}
    citations = _annotations(response)
    assert citations and {c.type for c in citations} == {"url_citation"}
    opened = {a["url"] for a in actions[1:]}
    assert {c.url for c in citations} == opened
    for citation in citations:
        assert 0 <= citation.start_index < citation.end_index <= len(response.output_text)
    assert response.usage is not None and response.usage.total_tokens > 0
    assert [r.path for r in emulator.requests] == ["/v1/responses"]
    assert emulator.requests[0].json["reasoning"] == {"effort": "low"}


def test_reasoning_and_text_are_echoed_as_null(emulator: ParallelEmulator) -> None:
    raw = _raw(
        emulator,
        reasoning={"effort": "high"},
        text={"format": {"type": "text"}},
        metadata={"row": "42"},
        temperature=0.2,
    ).json()
    assert (raw["reasoning"], raw["text"]) == (None, None)
    assert raw["metadata"] == {"row": "42"}
    assert (raw["temperature"], raw["tool_choice"], raw["model"]) == (None, "auto", "parallel")
    assert "output_text" not in raw  # not in the OpenAPI Response schema: the SDKs compute it
    assert raw["error"] is None


def test_annotation_offsets_count_code_points(emulator: ParallelEmulator) -> None:
    # The bundled corpus is ASCII, so script an answer whose citation follows an emoji and
    # accented letters: UTF-16 units or bytes would give other offsets.
    from parallel_adapters.testing import Citation, EmulatorAnswer

    text = "Zürich 🏔 sits on a lake. Its old town is medieval."
    emulator.responder = lambda _: EmulatorAnswer(
        text, citations=(Citation("https://example.org/z", "Z", ("Its old town is medieval.",)),)
    )
    raw = _raw(emulator).json()
    [part] = raw["output"][-1]["content"]
    [annotation] = part["annotations"]
    assert text[annotation["start_index"] : annotation["end_index"]] == "Its old town is medieval."
    assert annotation["start_index"] == 25  # code points; 26 in UTF-16, 29 in UTF-8


def test_parse_with_a_pydantic_model(responses_client: openai.OpenAI) -> None:
    parsed = responses_client.responses.parse(
        model="parallel",
        input="What is the capital of France and its population?",
        text_format=Country,
    )

    country = parsed.output_parsed
    assert isinstance(country, Country)
    assert "Paris" in country.capital
    assert country.population > 1_000_000
    text = parsed.output_text
    values = {json.dumps(v, ensure_ascii=False).strip('"') for v in json.loads(text).values()}
    citations = _annotations(parsed)
    assert citations
    # Anchored on the field values, as the docs say: each span is one value exactly.
    assert {text[c.start_index : c.end_index] for c in citations} <= values


def test_json_schema_request_shape(emulator: ParallelEmulator) -> None:
    schema = Country.model_json_schema()
    raw = _raw(
        emulator,
        text={"format": {"type": "json_schema", "name": "country", "schema": schema}},
    ).json()
    text = raw["output"][-1]["content"][0]["text"]
    assert set(json.loads(text)) == {"capital", "population"}


def test_json_object_format_produces_plain_text(emulator: ParallelEmulator) -> None:
    plain = _raw(emulator).json()["output"][-1]["content"][0]["text"]
    json_object = _raw(emulator, text={"format": {"type": "json_object"}}).json()
    assert json_object["output"][-1]["content"][0]["text"] == plain


def test_stream_true_has_the_documented_event_sequence(
    responses_client: openai.OpenAI,
) -> None:
    whole = responses_client.responses.create(model="parallel", input=QUESTION)
    events = list(responses_client.responses.create(model="parallel", input=QUESTION, stream=True))

    searches = len(whole.output) - 1
    annotations = len(_annotations(whole))
    expected = ["response.created", "response.in_progress"]
    expected += [
        "response.output_item.added",
        "response.web_search_call.in_progress",
        "response.web_search_call.searching",
    ] * searches
    expected += [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
    ]
    expected += ["response.web_search_call.completed", "response.output_item.done"] * searches
    expected += ["response.output_text.annotation.added"] * annotations
    expected += [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.type for e in events] == expected
    assert [e.sequence_number for e in events] == list(range(len(events)))
    [delta] = [e for e in events if e.type == "response.output_text.delta"]
    assert delta.delta == whole.output_text  # one delta, after research
    added = [e.annotation for e in events if e.type == "response.output_text.annotation.added"]
    # A dict in older openai releases, a typed annotation in newer ones.
    assert [a["url"] if isinstance(a, dict) else getattr(a, "url", None) for a in added] == [
        a.url for a in _annotations(whole)
    ]
    completed = events[-1].response  # type: ignore[union-attr]
    assert completed.id == whole.id
    assert completed.output_text == whole.output_text
    assert completed.usage == whole.usage


def test_stream_is_sse_with_event_lines_and_no_done(emulator: ParallelEmulator) -> None:
    response = _raw(emulator, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert all(kind == data["type"] for kind, data in events)
    assert "[DONE]" not in response.text
    created, completed = events[0][1]["response"], events[-1][1]["response"]
    assert (created["status"], created["output"]) == ("in_progress", [])
    assert completed == {**_raw(emulator).json(), "created_at": completed["created_at"]} | {
        "completed_at": completed["completed_at"]
    }


def test_responses_stream_helper(responses_client: openai.OpenAI) -> None:
    whole = responses_client.responses.create(model="parallel", input=QUESTION)
    with responses_client.responses.stream(model="parallel", input=QUESTION) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == whole.output_text == final.output_text
    assert [a.url for a in _annotations(final)] == [a.url for a in _annotations(whole)]


def test_responses_stream_helper_parses(responses_client: openai.OpenAI) -> None:
    with responses_client.responses.stream(
        model="parallel", input="What is the capital of France?", text_format=Country
    ) as stream:
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, Country)


async def test_async_stream(emulator: ParallelEmulator) -> None:
    async with openai.AsyncOpenAI(
        base_url=f"{emulator.base_url}/v1", api_key="test-key", max_retries=0
    ) as sdk:
        stream = await sdk.responses.create(model="parallel", input=QUESTION, stream=True)
        text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
    assert "Paris" in text


def test_previous_response_id_links_a_follow_up(responses_client: openai.OpenAI) -> None:
    first = responses_client.responses.create(model="parallel", input=QUESTION)
    linked = responses_client.responses.create(
        model="parallel", input="What about its population?", previous_response_id=first.id
    )
    alone = responses_client.responses.create(model="parallel", input="What about its population?")

    assert "68 million" in linked.output_text
    assert linked.previous_response_id == first.id
    assert {a.url for a in _annotations(linked)} == {
        "https://corpus.parallel-adapters.example/france"
    }
    assert linked.output_text != alone.output_text
    assert linked.id != alone.id


def test_unknown_previous_response_id_is_a_404(responses_client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        responses_client.responses.create(
            model="parallel", input=QUESTION, previous_response_id="resp_missing"
        )
    assert caught.value.status_code == 404
    assert caught.value.body == {
        "message": "Interaction context not found: resp_missing",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_same_request_same_id(responses_client: openai.OpenAI) -> None:
    first = responses_client.responses.create(model="parallel", input=QUESTION)
    again = responses_client.responses.create(model="parallel", input=QUESTION)
    other = responses_client.responses.create(
        model="parallel", input=QUESTION, reasoning={"effort": "high"}
    )
    assert first.id == again.id != other.id


def test_higher_effort_researches_more(responses_client: openai.OpenAI) -> None:
    question = "What does Parallel Web Systems do?"
    low = responses_client.responses.create(
        model="parallel", input=question, reasoning={"effort": "low"}
    )
    high = responses_client.responses.create(
        model="parallel", input=question, reasoning={"effort": "high"}
    )
    assert len(high.output_text) > len(low.output_text)


def test_instructions_and_message_input(responses_client: openai.OpenAI) -> None:
    response = responses_client.responses.create(
        model="parallel",
        instructions="Answer briefly.",
        input=[
            {"role": "user", "content": [{"type": "input_text", "text": QUESTION}]},
        ],
    )
    assert "Paris" in response.output_text
    assert response.instructions == "Answer briefly."


def test_tools_are_echoed_without_credentials(emulator: ParallelEmulator) -> None:
    mcp = {
        "type": "mcp",
        "server_label": "wiki",
        "server_url": "https://mcp.example/sse?token=abc",
        "require_approval": "never",
        "headers": {"Authorization": "Bearer secret"},
    }
    function = {"type": "function", "name": "noop", "parameters": {}}
    search = {"type": "web_search", "filters": {"allowed_domains": ["example.com"]}}
    raw = _raw(emulator, tools=[search, mcp, function]).json()
    assert raw["tools"][0] == search
    assert raw["tools"][1]["headers"] is None
    assert raw["tools"][1]["server_url"] == "https://mcp.example/sse?***"
    assert len(raw["tools"]) == 2  # other tools are accepted and ignored
    assert "secret" not in json.dumps(raw) and "token=abc" not in json.dumps(raw)


def test_x_api_key_authenticates_and_errors_use_the_openai_envelope(
    emulator: ParallelEmulator,
) -> None:
    url = f"{emulator.base_url}/v1/responses"
    accepted = httpx.post(url, headers={"x-api-key": "test-key"}, json=responses_body())
    refused = httpx.post(url, headers={"authorization": "Bearer nope"}, json=responses_body())
    assert accepted.status_code == 200
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["message"] == "Unauthorized: invalid or missing credentials"
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)


def test_rate_limit_answers_429_in_the_openai_envelope(emulator: ParallelEmulator) -> None:
    emulator.rate_limit = (1, 60.0)
    assert _raw(emulator).status_code == 200
    limited = _raw(emulator)
    assert limited.status_code == 429
    assert "retry-after-ms" in limited.headers
    assert limited.json()["error"]["message"] == "Too many requests: quota temporarily exceeded"
