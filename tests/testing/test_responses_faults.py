"""Every fault applies to the Responses path too, plus the Responses API's own failure
mode: `status: "failed"` in a 200, and a terminal `response.failed` event."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import openai
import pytest

from parallel_adapters._core._http import transport_errors
from parallel_adapters.testing import FAULT_HEADER, FAULTS, ParallelEmulator

from .support import (
    QUESTION,
    STATUS_FAULTS,
    fault_header,
    post_with_fault,
    responses_body,
    sse_events,
)


def _raw(emulator: ParallelEmulator, fault: str, **extra: Any) -> httpx.Response:
    return post_with_fault(emulator, "/v1/responses", fault, responses_body(**extra))


@pytest.mark.parametrize(("fault", "error", "status"), STATUS_FAULTS)
def test_status_faults_raise_the_matching_sdk_error(
    responses_client: openai.OpenAI,
    emulator: ParallelEmulator,
    fault: str,
    error: type[openai.APIStatusError],
    status: int,
) -> None:
    with pytest.raises(error) as caught:
        responses_client.responses.create(
            model="parallel", input=QUESTION, extra_headers=fault_header(fault)
        )
    assert caught.value.status_code == status
    [entry] = emulator.requests
    assert (entry.path, entry.status, entry.fault) == ("/v1/responses", status, fault)


def test_numbered_faults_use_the_openai_envelope(emulator: ParallelEmulator) -> None:
    body = _raw(emulator, "503").json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "server_error"
    assert "ref_id" in _raw(emulator, "envelope-parallel").json()["error"]


def test_failed_status_in_a_200(responses_client: openai.OpenAI) -> None:
    response = responses_client.responses.create(
        model="parallel", input=QUESTION, extra_headers=fault_header("failed")
    )
    assert response.status == "failed"
    assert response.error is not None
    assert response.error.code == "server_error"
    assert response.error.message
    assert response.output == []


def test_failed_event_ends_the_stream_instead_of_the_text(emulator: ParallelEmulator) -> None:
    events = sse_events(_raw(emulator, "failed", stream=True).text)
    kinds = [kind for kind, _ in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.failed"
    assert "response.output_text.delta" not in kinds
    assert "response.completed" not in kinds
    failed = events[-1][1]
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"]["code"] == "server_error"
    assert failed["sequence_number"] == len(events) - 1


def test_sdk_stream_helper_sees_the_failure(responses_client: openai.OpenAI) -> None:
    with responses_client.responses.stream(
        model="parallel", input=QUESTION, extra_headers=fault_header("failed")
    ) as stream:
        kinds = [event.type for event in stream]
    assert kinds[-1] == "response.failed"


def test_error_mid_stream_is_a_response_failed_event(emulator: ParallelEmulator) -> None:
    events = sse_events(_raw(emulator, "error-mid-stream;after_chunks=3", stream=True).text)
    assert [kind for kind, _ in events][3:] == ["response.failed"]
    assert events[-1][1]["sequence_number"] == 3


def test_failed_fault_on_the_chat_api_is_a_500(emulator: ParallelEmulator) -> None:
    response = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": "Bearer test-key", FAULT_HEADER: "failed"},
        json={"model": "base", "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert response.status_code == 500
    assert response.json()["type"] == "error"


def test_disconnect_mid_stream(responses_client: openai.OpenAI) -> None:
    received: list[Any] = []
    stream = responses_client.responses.create(
        model="parallel",
        input=QUESTION,
        stream=True,
        extra_headers=fault_header("disconnect-mid-stream;after_chunks=4"),
    )
    with pytest.raises(transport_errors):
        received.extend(stream)
    assert len(received) == 4


def test_disconnect_mid_body(responses_client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        responses_client.responses.create(
            model="parallel", input=QUESTION, extra_headers=fault_header("disconnect-mid-stream")
        )


def test_malformed_json_body(responses_client: openai.OpenAI) -> None:
    with pytest.raises(json.JSONDecodeError):
        responses_client.responses.create(
            model="parallel", input=QUESTION, extra_headers=fault_header("malformed-json")
        )


def test_malformed_event_keeps_its_event_line(emulator: ParallelEmulator) -> None:
    text = _raw(emulator, "malformed-json;after_chunks=1", stream=True).text
    frames = text.split("\n\n")
    assert frames[1].startswith("event: response.in_progress\ndata: {")
    with pytest.raises(json.JSONDecodeError):
        json.loads(frames[1].split("data: ", 1)[1])


def test_keepalive_comments_are_invisible_to_the_sdk(responses_client: openai.OpenAI) -> None:
    plain = responses_client.responses.create(model="parallel", input=QUESTION, stream=True)
    padded = responses_client.responses.create(
        model="parallel",
        input=QUESTION,
        stream=True,
        extra_headers=fault_header("keepalive-comments"),
    )
    assert [e.type for e in padded] == [e.type for e in plain]


def test_every_fault_but_no_done_has_an_effect(emulator: ParallelEmulator) -> None:
    """`no-done` is the only exception: a Responses stream has no [DONE] to leave out."""
    emulator.stall_seconds = 0.4
    baseline = _outcome(emulator, None)
    for name in FAULTS:
        if name != "no-done":
            assert _outcome(emulator, name) != baseline, name
    assert _outcome(emulator, "no-done") == baseline


def _outcome(emulator: ParallelEmulator, fault: str | None) -> tuple[Any, ...]:
    headers = {"authorization": "Bearer test-key"}
    if fault:
        headers[FAULT_HEADER] = fault
    started = time.monotonic()
    try:
        response = httpx.post(
            f"{emulator.base_url}/v1/responses", headers=headers, json=responses_body(stream=True)
        )
    except httpx.HTTPError as error:
        return (type(error).__name__,)
    slow = time.monotonic() - started >= 0.4
    content = re.sub(rb'"(created|completed)_at":\d+', b"", response.content)
    return (response.status_code, content, slow)
