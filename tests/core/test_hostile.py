"""The core against a server that misbehaves on purpose (tests/hostile.py): redirects,
trickles, bombs, bad encodings, bodies that are not streams, error events, early ends.

Every case runs whole (sync, async) and streamed (sync, async) where the path differs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import ParallelClient, is_transient

from ..hostile import (
    Exchange,
    HostileServer,
    answer,
    chat_body,
    gzip_of_zeros_answer,
    sse_events,
)

KEY = "sk-HOSTILE-0xC0FFEE-secret"
MODES = ["sync", "async", "stream", "astream"]
FAST: dict[str, Any] = {
    "retry_initial_delay": 0.0,
    "retry_max_delay": 0.0,
    "requests_per_minute": None,
    "max_retries": 0,
}


def call(base_url: str, mode: str, *, model: str = "lite", **options: Any) -> pa.Completion:
    """One question through the core in `mode`; the client is closed afterwards."""
    client = ParallelClient(base_url=base_url, api_key=KEY, model=model, **{**FAST, **options})
    try:
        if mode == "sync":
            return client.complete("What is up?")
        if mode == "stream":
            with client.stream("What is up?") as stream:
                return stream.collect()

        async def main() -> pa.Completion:
            try:
                if mode == "async":
                    return await client.acomplete("What is up?")
                async with client.astream("What is up?") as astream:
                    return await astream.collect()
            finally:
                await client.aclose()

        return asyncio.run(main())
    finally:
        client.close()


def raises(base_url: str, mode: str, error: type[Exception], **options: Any) -> Any:
    with pytest.raises(error) as caught:
        call(base_url, mode, **options)
    return caught.value


# -- 1. redirects are never followed ------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("auth_header", ["bearer", "x-api-key"])
@pytest.mark.parametrize("mode", MODES)
def test_a_redirect_is_refused_and_the_key_stays_home(
    status: int, auth_header: str, mode: str
) -> None:
    with HostileServer(answer, host="localhost") as elsewhere:
        target = f"{elsewhere.base_url}/chat/completions"

        def redirect(x: Exchange) -> None:
            x.respond(status, "text/plain", b"moved", [("location", target)])

        with HostileServer(redirect) as server:
            error = raises(server.base_url, mode, pa.RedirectError, auth_header=auth_header)
        assert error.status_code == status
        assert error.location == target and target in str(error)
        assert not is_transient(error)
        assert elsewhere.requests == [], "the request (and the key) followed the redirect"
        assert len(server.requests) == 1


# -- 2. a key echoed by the server is blanked ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_key_echoed_in_an_error_message_is_redacted(mode: str) -> None:
    def echo(x: Exchange) -> None:
        said = x.request.headers.get("authorization", "").removeprefix("Bearer ")
        x.respond_json(401, {"error": {"message": f"Incorrect API key provided: {said}"}})

    with HostileServer(echo) as server:
        error = raises(server.base_url, mode, pa.AuthenticationError)
    assert "Incorrect API key provided: ***" in error.message
    for text in (str(error), repr(error), error.message, json.dumps(error.body), repr(error.args)):
        assert KEY not in text


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_key_echoed_in_an_error_event_is_redacted(mode: str) -> None:
    def echo(x: Exchange) -> None:
        event = {"error": {"message": f"bad key {KEY}"}}
        x.respond(200, "text/event-stream", f"data: {json.dumps(event)}\n\n".encode())

    with HostileServer(echo) as server:
        error = raises(server.base_url, mode, pa.ServerError)
    assert KEY not in str(error) and KEY not in repr(error.body)


# -- 5. a stream request answered with something else -------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_whole_json_answer_to_a_stream_request_is_the_answer(mode: str) -> None:
    with HostileServer(lambda x: x.respond_json(200, chat_body("Whole answer."))) as server:
        completion = call(server.base_url, mode)
    assert completion.text == "Whole answer."
    assert completion.finish_reason == "stop" and not completion.incomplete


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>Sign in to the proxy</body></html>"),
        ("application/json", b""),
        (None, b""),
        ("text/plain", b"hello"),
    ],
)
@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_a_stream_request_answered_with_a_non_stream_body_is_an_error(
    content_type: str | None, body: bytes, mode: str
) -> None:
    with HostileServer(lambda x: x.respond(200, content_type, body)) as server:
        error = raises(server.base_url, mode, pa.ServerError)
    assert "stream was asked for" in error.message


def test_a_stream_answered_through_the_plain_callable_collects_the_json_answer() -> None:
    with HostileServer(lambda x: x.respond_json(200, chat_body("Whole."))) as server:
        chat = pa.ParallelChat(base_url=server.base_url, api_key=KEY, **FAST)
        with chat:
            parts = [part.delta for part in chat.stream("q")]
    assert parts == ["Whole."]


# -- 6. an SSE error event --------------------------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize("before_text", [True, False])
def test_an_error_event_raises_with_the_servers_message(mode: str, before_text: bool) -> None:
    frame = b'event: error\ndata: {"message": "quota exhausted for this key"}\n\n'

    def script(x: Exchange) -> None:
        text = b"" if before_text else sse_events(["Partial "], finish_reason=None, done=False)
        x.respond(200, "text/event-stream", text + frame + sse_events(["tail"]))

    with HostileServer(script) as server:
        error = raises(server.base_url, mode, pa.ParallelError)
    assert "quota exhausted for this key" in error.message
    if before_text:
        assert isinstance(error, pa.ServerError) and not isinstance(error, pa.StreamError)
    else:
        assert isinstance(error, pa.StreamError) and error.partial_text == "Partial "


# -- 7. a stream that ends cleanly but early --------------------------------------------


@pytest.mark.parametrize("mode", ["stream", "astream"])
@pytest.mark.parametrize(
    ("model", "finish_reason", "basis", "done", "incomplete"),
    [
        ("lite", None, None, False, True),  # research model, nothing marks the end
        ("lite", None, None, True, False),  # [DONE] arrived
        ("lite", "stop", None, False, False),  # finish_reason arrived
        ("base", None, [{"field": "output", "reasoning": "r"}], False, False),  # the basis
        ("speed", None, None, False, False),  # speed has no basis: nothing to judge by
    ],
)
def test_a_stream_with_no_end_marker_is_flagged_incomplete(
    mode: str,
    model: str,
    finish_reason: str | None,
    basis: list[Any] | None,
    done: bool,
    incomplete: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = sse_events(["Half ", "an answer"], finish_reason=finish_reason, basis=basis, done=done)
    with (
        HostileServer(lambda x: x.respond(200, "text/event-stream", body)) as server,
        caplog.at_level(logging.WARNING, logger="parallel_adapters"),
    ):
        completion = call(server.base_url, mode, model=model)
    assert completion.text == "Half an answer"
    assert completion.incomplete is incomplete
    assert ("may be cut short" in caplog.text) is incomplete


# -- 8. timeout is a deadline per attempt --------------------------------------------------


def _trickled_answer(x: Exchange) -> None:
    if x.request.streaming:
        body = sse_events(["Slow", " answer"]) + b": pad\n\n" * 20
        x.send(x.head(200, [("content-type", "text/event-stream")]))
    else:
        body = json.dumps(chat_body("Slow answer")).encode()
        x.send(
            x.head(200, [("content-type", "application/json"), ("content-length", str(len(body)))])
        )
    x.trickle(body, 0.01)


def _trickled_headers(x: Exchange) -> None:
    body = json.dumps(chat_body("Slow answer")).encode()
    head = x.head(200, [("content-type", "application/json"), ("content-length", str(len(body)))])
    # The blank line that ends the headers comes last, after a long padding header.
    x.trickle(head[:-2] + b"x-pad: " + b"p" * 400 + b"\r\n\r\n" + body, 0.01)


def _keepalive_forever(x: Exchange) -> None:
    x.send(x.head(200, [("content-type", "text/event-stream")]))
    x.send(sse_events(["Kept "], finish_reason=None, done=False))
    # Comments until the client leaves (or the script's cap, then a whole answer).
    while x.idle(0.01) and x.send(b": keep-alive\n\n"):
        if x.sent > 40_000:
            x.send(sse_events(["alive"]))
            return


@pytest.mark.parametrize("mode", MODES)
def test_a_trickled_body_is_cut_off_at_the_deadline(mode: str) -> None:
    # Each byte comes well within the timeout; the whole body would take seconds.
    with HostileServer(_trickled_answer) as server:
        error = raises(server.base_url, mode, pa.ParallelError, timeout=0.3)
    assert isinstance(error, (pa.APITimeoutError, pa.StreamError)), repr(error)
    assert "timeout" in error.message


@pytest.mark.parametrize("mode", MODES)
def test_trickled_headers_are_cut_off_at_the_deadline(mode: str) -> None:
    with HostileServer(_trickled_headers) as server:
        raises(server.base_url, mode, pa.APITimeoutError, timeout=0.3)


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_keep_alive_comments_do_not_extend_the_deadline(mode: str) -> None:
    with HostileServer(_keepalive_forever) as server:
        error = raises(server.base_url, mode, pa.StreamError, timeout=0.3)
    assert error.partial_text == "Kept "
    assert "timeout" in error.message


def test_the_deadline_is_per_attempt_and_a_retry_gets_a_fresh_one() -> None:
    calls = []

    def slow_then_fine(x: Exchange) -> None:
        calls.append(1)
        if len(calls) == 1:
            _trickled_answer(x)
        else:
            answer(x, "Second attempt.")

    with HostileServer(slow_then_fine) as server:
        completion = call(server.base_url, "sync", timeout=0.3, max_retries=1, retry_timeouts=True)
    assert completion.text == "Second attempt."


def test_a_timed_out_attempt_is_not_retried_unless_asked() -> None:
    """The server may still finish, and bill, an attempt we stopped waiting for."""
    calls = []

    def slow(x: Exchange) -> None:
        calls.append(1)
        _trickled_answer(x)

    with HostileServer(slow) as server, pytest.raises(pa.APITimeoutError):
        call(server.base_url, "sync", timeout=0.3, max_retries=1)
    assert len(calls) == 1


# -- 9. bounded memory ------------------------------------------------------------------

CAP = 1024 * 1024  # the test's cap; bombs expand to several times it


def _bomb(x: Exchange) -> None:
    body = gzip_of_zeros_answer(8 * CAP, streaming=x.request.streaming)
    ctype = "text/event-stream" if x.request.streaming else "application/json"
    x.respond(200, ctype, body, [("content-encoding", "gzip")])


@pytest.mark.parametrize("mode", MODES)
def test_a_gzip_bomb_stops_at_the_cap(mode: str) -> None:
    with HostileServer(_bomb) as server:
        error = raises(server.base_url, mode, pa.ResponseTooLargeError, max_response_bytes=CAP)
    assert "max_response_bytes" in error.message
    assert not is_transient(error)


@pytest.mark.parametrize("mode", MODES)
def test_a_gzip_answer_under_the_cap_is_read(mode: str) -> None:
    def small(x: Exchange) -> None:
        body = gzip_of_zeros_answer(1000, streaming=x.request.streaming)
        ctype = "text/event-stream" if x.request.streaming else "application/json"
        x.respond(200, ctype, body, [("content-encoding", "gzip")])

    with HostileServer(small) as server:
        completion = call(server.base_url, mode, max_response_bytes=CAP)
    assert completion.text == "a" * 1000
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("mode", ["stream", "astream"])
def test_an_endless_sse_line_stops_at_the_line_cap(mode: str) -> None:
    def long_line(x: Exchange) -> None:
        x.send(x.head(200, [("content-type", "text/event-stream")]))
        x.send(b"data: " + b"x" * (4 * CAP))

    with HostileServer(long_line) as server:
        error = raises(server.base_url, mode, pa.ResponseTooLargeError, max_line_bytes=CAP)
    assert "max_line_bytes" in error.message


def test_an_unrequested_encoding_is_refused() -> None:
    def brotli(x: Exchange) -> None:
        x.respond(200, "application/json", b"\x0b\x02\x80", [("content-encoding", "br")])

    with HostileServer(brotli) as server:
        error = raises(server.base_url, "sync", pa.ServerError)
    assert "content-encoding 'br'" in error.message


# -- 10. no raw decoding exceptions -------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_invalid_utf8_is_a_typed_error(mode: str) -> None:
    def bad_bytes(x: Exchange) -> None:
        if x.request.streaming:
            x.respond(
                200,
                "text/event-stream",
                b'data: {"choices": [{"delta": {"content": "\xff\xfe"}}]}\n\n',
            )
        else:
            x.respond(
                200, "application/json", b'{"choices": [{"message": {"content": "\xff\xfe"}}]}'
            )

    with HostileServer(bad_bytes) as server:
        error = raises(server.base_url, mode, pa.ServerError)
    assert "UTF-8" in error.message


@pytest.mark.parametrize("mode", MODES)
def test_deeply_nested_json_is_a_typed_error(mode: str) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000

    def deep(x: Exchange) -> None:
        if x.request.streaming:
            x.respond(200, "text/event-stream", b"data: " + nested + b"\n\n")
        else:
            x.respond(200, "application/json", nested)

    with HostileServer(deep) as server:
        error = raises(server.base_url, mode, pa.ServerError)
    assert "nested" in error.message


def test_ask_stream_fails_loudly_on_an_error_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from parallel_adapters._cli import main

    frame = b'event: error\ndata: {"message": "quota exhausted for this key"}\n\n'
    with HostileServer(lambda x: x.respond(200, "text/event-stream", frame)) as server:
        monkeypatch.setenv("PARALLEL_API_KEY", KEY)
        monkeypatch.setenv("PARALLEL_BASE_URL", server.base_url)
        assert main(["ask", "q", "--stream"]) == 1
    assert "quota exhausted" in capsys.readouterr().err
