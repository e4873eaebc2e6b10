"""Every fault, as the OpenAI SDK experiences it, and how faults are scheduled."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpx
import openai
import pytest

from parallel_adapters._core._http import http_library, timeout_errors, transport_errors
from parallel_adapters.testing import FAULT_HEADER, FAULTS, Fault, ParallelEmulator

from .support import (
    STATUS_FAULTS,
    ask,
    body,
    fault_header,
    post_with_fault,
    sse_chunks,
    sse_payloads,
    without_created,
)


def _root_cause(error: BaseException) -> BaseException:
    """The HTTP library's own error under the SDK's wrappers.

    openai 1.x/2.x let errors raised while a stream is read escape as the HTTP library's
    classes; 3.x wraps them in `APIConnectionError`/`APITimeoutError`. And the HTTP
    library itself is httpx or httpx2, so only the one under the installed SDK is named.
    """
    while error.__cause__ is not None and not isinstance(error, http_library.HTTPError):
        error = error.__cause__
    return error


def _raw(emulator: ParallelEmulator, fault: str, **extra: Any) -> httpx.Response:
    return post_with_fault(emulator, "/chat/completions", fault, body(**extra))


# -- error statuses and envelopes ----------------------------------------------------------


@pytest.mark.parametrize(("fault", "error", "status"), STATUS_FAULTS)
def test_status_faults_raise_the_matching_sdk_error(
    client: openai.OpenAI,
    emulator: ParallelEmulator,
    fault: str,
    error: type[openai.APIStatusError],
    status: int,
) -> None:
    with pytest.raises(error) as caught:
        client.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header(fault)
        )
    assert caught.value.status_code == status
    [entry] = emulator.requests
    assert (entry.status, entry.fault) == (status, fault)


def test_error_envelopes_have_their_documented_shapes(emulator: ParallelEmulator) -> None:
    openai_style = _raw(emulator, "envelope-openai").json()
    fastapi_style = _raw(emulator, "envelope-fastapi").json()
    parallel_style = _raw(emulator, "envelope-parallel").json()

    assert set(openai_style["error"]) == {"message", "type", "param", "code"}
    assert set(fastapi_style["detail"][0]) >= {"loc", "msg", "type"}
    assert parallel_style["type"] == "error"
    assert set(parallel_style["error"]) == {"ref_id", "message"}
    assert parallel_style["error"]["message"] == "Payment required: insufficient credit in account"


def test_gateway_errors_are_html_not_json(emulator: ParallelEmulator) -> None:
    response = _raw(emulator, "502")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "Bad Gateway" in response.text


def test_429_with_and_without_retry_after(emulator: ParallelEmulator) -> None:
    bare = _raw(emulator, "429")
    timed = _raw(emulator, "429-retry-after;retry_after=2.5")

    assert "retry-after" not in bare.headers
    assert bare.json()["error"]["message"] == "Too many requests: quota temporarily exceeded"
    assert (timed.headers["retry-after"], timed.headers["retry-after-ms"]) == ("3", "2500")


def test_sdk_retries_a_429_after_the_announced_delay(emulator: ParallelEmulator) -> None:
    emulator.inject(Fault("429-retry-after", retry_after=0.3))
    started = time.monotonic()
    with openai.OpenAI(base_url=emulator.base_url, api_key="test-key", max_retries=2) as sdk:
        completion = sdk.chat.completions.create(model="base", messages=ask())
    elapsed = time.monotonic() - started

    assert "Paris" in (completion.choices[0].message.content or "")
    assert [r.status for r in emulator.requests] == [429, 200]
    assert elapsed >= 0.3  # retry-after-ms was honoured, not the SDK's own backoff


# -- connection faults ----------------------------------------------------------------------


def test_disconnect_before_first_byte_is_a_connection_error(
    client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    with pytest.raises(openai.APIConnectionError) as caught:
        client.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header("disconnect-before-first-byte")
        )
    cause = _root_cause(caught.value)
    assert isinstance(cause, http_library.RemoteProtocolError)
    assert "without sending a response" in str(cause)
    assert emulator.requests[0].status is None


def test_disconnect_mid_stream_breaks_the_chunked_body(client: openai.OpenAI) -> None:
    received: list[Any] = []
    stream = client.chat.completions.create(
        model="base",
        messages=ask(),
        stream=True,
        extra_headers=fault_header("disconnect-mid-stream;after_chunks=3"),
    )
    with pytest.raises(transport_errors) as caught:
        _drain(stream, received)
    cause = _root_cause(caught.value)
    assert isinstance(cause, http_library.RemoteProtocolError)
    assert "incomplete chunked read" in str(cause)
    assert len(received) == 3


def test_disconnect_mid_body_of_a_json_answer(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header("disconnect-mid-stream")
        )


def test_malformed_json_body(client: openai.OpenAI) -> None:
    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header("malformed-json")
        )


def test_malformed_json_event_in_a_stream(emulator: ParallelEmulator) -> None:
    payloads = sse_payloads(_raw(emulator, "malformed-json;after_chunks=2", stream=True).text)
    assert payloads[-1] == "[DONE]"
    broken = []
    for payload in payloads[:-1]:
        try:
            json.loads(payload)
        except ValueError:
            broken.append(payload)
    assert payloads.index(broken[0]) == 2
    assert len(broken) == 1


def test_stall_outlasts_a_client_timeout(emulator: ParallelEmulator) -> None:
    started = time.monotonic()
    with (
        openai.OpenAI(
            base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=0.3
        ) as impatient,
        pytest.raises(openai.APITimeoutError),
    ):
        impatient.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header("stall")
        )
    assert time.monotonic() - started < 2


def test_short_stall_then_a_normal_answer(client: openai.OpenAI) -> None:
    started = time.monotonic()
    completion = client.chat.completions.create(
        model="base", messages=ask(), extra_headers=fault_header("stall;duration=0.3")
    )
    assert time.monotonic() - started >= 0.3
    assert "Paris" in (completion.choices[0].message.content or "")


def test_stall_mid_stream_hits_the_read_timeout(emulator: ParallelEmulator) -> None:
    with openai.OpenAI(
        base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=0.3
    ) as impatient:
        stream = impatient.chat.completions.create(
            model="base",
            messages=ask(),
            stream=True,
            extra_headers=fault_header("stall-mid-stream"),
        )
        first = next(iter(stream))
        with pytest.raises(timeout_errors) as caught:
            next(iter(stream))
        assert isinstance(_root_cause(caught.value), http_library.ReadTimeout)
    assert first.choices[0].delta.role == "assistant"


def test_keepalive_comments_are_invisible_to_the_sdk(
    client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    plain = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="base", messages=ask(), stream=True)
    )
    with_comments = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="base",
            messages=ask(),
            stream=True,
            extra_headers=fault_header("keepalive-comments"),
        )
    )
    raw = _raw(emulator, "keepalive-comments", stream=True).text

    assert with_comments == plain
    assert raw.startswith(": keep-alive\n\n")
    assert raw.count(": keep-alive") == len(sse_chunks(raw))


def test_stream_without_done(client: openai.OpenAI, emulator: ParallelEmulator) -> None:
    chunks = list(
        client.chat.completions.create(
            model="base", messages=ask(), stream=True, extra_headers=fault_header("no-done")
        )
    )
    raw = _raw(emulator, "no-done", stream=True).text

    assert "[DONE]" not in raw
    assert (chunks[-1].model_extra or {})["basis"]  # the last real chunk still arrives


def test_error_event_mid_stream_raises(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="base",
        messages=ask(),
        stream=True,
        extra_headers=fault_header("error-mid-stream;after_chunks=2"),
    )
    received: list[Any] = []
    with pytest.raises(openai.APIError, match="stream was interrupted"):
        _drain(stream, received)
    assert len(received) == 2


def _drain(stream: Iterable[Any], into: list[Any]) -> None:
    """Collect chunks until the stream ends or fails (the failure propagates)."""
    for chunk in stream:
        into.append(chunk)


# -- scheduling -----------------------------------------------------------------------------


def test_queued_faults_apply_to_the_next_requests_in_order(
    client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    emulator.inject("503", times=2)
    emulator.faults.push("envelope-openai")

    outcomes = []
    for _ in range(4):
        try:
            client.chat.completions.create(model="base", messages=ask())
            outcomes.append(200)
        except openai.APIStatusError as error:
            outcomes.append(error.status_code)

    assert outcomes == [503, 503, 400, 200]
    assert [r.fault for r in emulator.requests] == ["503", "503", "envelope-openai", None]
    assert len(emulator.faults) == 0


def test_header_fault_leaves_the_queue_alone(
    client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    emulator.inject("500")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header("429")
        )
    assert emulator.faults.pending() == [Fault("500")]


def test_stream_only_faults_do_not_disturb_a_json_answer(client: openai.OpenAI) -> None:
    for name in ("keepalive-comments", "no-done", "error-mid-stream"):
        completion = client.chat.completions.create(
            model="base", messages=ask(), extra_headers=fault_header(name)
        )
        assert "Paris" in (completion.choices[0].message.content or "")


def test_invalid_fault_header_is_a_400(emulator: ParallelEmulator) -> None:
    response = _raw(emulator, "explode")
    assert response.status_code == 400
    assert "unknown fault 'explode'" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "spec",
    [
        "429-retry-after;retry_after=0.5",
        "stall;duration=2.0",
        "disconnect-mid-stream;after_chunks=4",
    ],
)
def test_fault_specs_round_trip(spec: str) -> None:
    assert Fault.parse(spec).spec() == spec


@pytest.mark.parametrize(
    "spec", ["explode", "200", "stall;duration=-1", "stall;seconds=1", "500;status"]
)
def test_invalid_fault_specs_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError, match="fault"):
        Fault.parse(spec)


def test_every_documented_fault_has_an_effect(emulator: ParallelEmulator) -> None:
    """A named fault that silently did nothing would give a test false confidence."""
    emulator.stall_seconds = 0.4
    for name in FAULTS:
        with_fault = _raw_or_error(emulator, name)
        assert with_fault != _raw_or_error(emulator, None), name


def _raw_or_error(emulator: ParallelEmulator, fault: str | None) -> tuple[Any, ...]:
    headers = {"authorization": "Bearer test-key"}
    if fault:
        headers[FAULT_HEADER] = fault
    started = time.monotonic()
    try:
        response = httpx.post(
            f"{emulator.base_url}/chat/completions",
            headers=headers,
            json=body(stream=True),
        )
    except httpx.HTTPError as error:
        return (type(error).__name__,)
    slow = time.monotonic() - started >= 0.4
    return (response.status_code, without_created(response.content), slow)


def test_stop_cuts_off_stalled_requests() -> None:
    errors: list[BaseException] = []
    emulator = ParallelEmulator().start()

    def stalled() -> None:
        with openai.OpenAI(
            base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=60
        ) as patient:
            try:
                patient.chat.completions.create(
                    model="base", messages=ask(), extra_headers=fault_header("stall")
                )
            except openai.APIError as error:
                errors.append(error)

    threads = [threading.Thread(target=stalled) for _ in range(3)]
    for thread in threads:
        thread.start()
    while len(emulator.requests) < 3:
        time.sleep(0.01)
    started = time.monotonic()
    emulator.stop()
    stopped_in = time.monotonic() - started
    for thread in threads:
        thread.join(5)

    assert stopped_in < 1.0
    assert len(errors) == 3
    assert all(isinstance(e, openai.APIConnectionError) for e in errors)
