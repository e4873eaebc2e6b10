"""Server-sent events read byte by byte: framing, error events, and bodies that are not streams.

The transport tests drive these paths through real sockets; these pin the reader itself, with
the framings servers and proxies really send (CRLF, `data:` without a space, a body that ends
without its closing blank line) and the typed errors a caller's retry decision rests on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from parallel_adapters import ServerError
from parallel_adapters._core._sse import (
    ServerEvent,
    SSEParser,
    aevents,
    decode_event,
    events,
    is_event_stream,
    read_json_body,
)


def _parse(*chunks: bytes) -> list[ServerEvent]:
    return list(events(chunks))


def test_lf_and_crlf_framing_give_the_same_events() -> None:
    lf = b'data: {"a": 1}\n\nevent: done\ndata: {"b": 2}\n\n'
    crlf = lf.replace(b"\n", b"\r\n")
    expected = [ServerEvent(None, '{"a": 1}'), ServerEvent("done", '{"b": 2}')]
    assert _parse(lf) == expected
    assert _parse(crlf) == expected


def test_a_crlf_split_between_two_chunks_is_one_line_end() -> None:
    # A proxy may cut the body anywhere, between the CR and the LF too.
    assert _parse(b"data: x\r", b"\n\r", b"\n") == [ServerEvent(None, "x")]


def test_byte_by_byte_delivery_gives_the_same_events() -> None:
    body = b'event: message\r\ndata: {"t": "caf\xc3\xa9"}\r\n\r\ndata: [DONE]\n\n'
    whole = _parse(body)
    assert whole == [ServerEvent("message", '{"t": "café"}'), ServerEvent(None, "[DONE]")]
    assert _parse(*(body[i : i + 1] for i in range(len(body)))) == whole


def test_a_body_that_opens_with_blank_lines_loses_no_event() -> None:
    # Proxies and keep-alives put blank lines first: the very first byte is a line end too.
    assert _parse(b"\ndata: x\n\n") == [ServerEvent(None, "x")]
    assert _parse(b"\r\n\r\nevent: a\r\ndata: y\r\n\r\n") == [ServerEvent("a", "y")]


def test_a_partial_line_waits_for_its_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: hel") == []
    assert parser.feed(b"lo") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\n") == [ServerEvent(None, "hello")]


def test_data_without_a_space_and_only_one_leading_space_removed() -> None:
    assert _parse(b"data:x\n\n") == [ServerEvent(None, "x")]
    assert _parse(b"data:  two spaces\n\n") == [ServerEvent(None, " two spaces")]
    assert _parse(b"data\n\n") == [ServerEvent(None, "")]


def test_data_lines_of_one_event_join_with_newlines() -> None:
    assert _parse(b'data: {\ndata: "a": 1\ndata: }\n\n') == [ServerEvent(None, '{\n"a": 1\n}')]


def test_comments_and_unknown_fields_are_skipped() -> None:
    body = b": keep-alive\n\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n: ping\n\n"
    assert _parse(body) == [ServerEvent(None, "x")]


def test_an_event_name_lasts_one_event() -> None:
    body = b"event: error\ndata: 1\n\ndata: 2\n\n"
    assert _parse(body) == [ServerEvent("error", "1"), ServerEvent(None, "2")]


def test_an_event_name_without_data_is_dropped_at_the_blank_line() -> None:
    # A name with no data dispatches nothing, and must not label the next event.
    body = b"event: error\n\ndata: ok\n\n"
    assert _parse(body) == [ServerEvent(None, "ok")]


def test_a_last_event_without_its_closing_blank_line_is_kept() -> None:
    assert _parse(b"data: a\n\ndata: last\n") == [ServerEvent(None, "a"), ServerEvent(None, "last")]
    assert _parse(b"data: a\n\nevent: end\ndata: last") == [
        ServerEvent(None, "a"),
        ServerEvent("end", "last"),
    ]
    assert _parse(b"data: last\r") == [ServerEvent(None, "last")]


def test_close_with_nothing_left_adds_nothing() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\n\n") == [ServerEvent(None, "a")]
    assert parser.close() == []
    assert SSEParser().close() == []
    # A partial comment or an unfinished name with no data is no event either.
    assert _parse(b": keep-al") == []
    assert _parse(b"event: error") == []


async def test_async_events_match_the_sync_reader() -> None:
    body = [b"data: a\r\n", b"\r\ndata: b\n"]

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in body:
            yield chunk

    assert [event async for event in aevents(chunks())] == _parse(*body)
    assert _parse(*body) == [ServerEvent(None, "a"), ServerEvent(None, "b")]


def test_bytes_that_are_not_utf8_are_a_retryable_server_error() -> None:
    with pytest.raises(ServerError, match=r"not UTF-8 \(at byte 7 of a line\)") as caught:
        _parse(b'data: "\xff"\n\n')
    # A garbled transfer is not the server's answer: asking again is safe, nothing was billed.
    assert caught.value.retryable is True
    assert caught.value.status_code is None


def test_decode_event_returns_the_json_of_a_data_event() -> None:
    assert decode_event(ServerEvent(None, '{"choices": []}')) == {"choices": []}
    assert decode_event(ServerEvent("message", "[1, 2]")) == [1, 2]
    # An `error` key that holds nothing is not an error.
    assert decode_event(ServerEvent(None, '{"error": null, "x": 1}')) == {"error": None, "x": 1}


def test_malformed_event_json_raises_a_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        decode_event(ServerEvent(None, "{not json"))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            ServerEvent("error", '{"error": {"message": "quota exceeded", "ref_id": "r1"}}'),
            "the server sent an error event: quota exceeded [ref_id r1]",
        ),
        (
            ServerEvent(None, '{"error": {"message": "model overloaded"}}'),
            "the server sent an error event: model overloaded",
        ),
        (
            ServerEvent(None, '{"error": "bad things"}'),
            "the server sent an error event: bad things",
        ),
        # No message the kit can find: the event's own text, not a bare "error".
        (ServerEvent("error", ' {"code": 5} '), 'the server sent an error event: {"code": 5}'),
    ],
)
def test_an_error_event_is_a_non_retryable_server_error_with_its_message(
    event: ServerEvent, message: str
) -> None:
    with pytest.raises(ServerError) as caught:
        decode_event(event)
    error = caught.value
    assert error.message == message
    assert str(error) == message  # no "(HTTP 500)": no status applies to an event
    assert error.status_code is None
    # The request reached the model and may be billed: asking again could bill it twice.
    assert error.retryable is False
    assert error.body == json.loads(event.data)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/event-stream", True),
        ("text/event-stream; charset=utf-8", True),
        (" Text/Event-Stream ;charset=UTF-8", True),
        ("application/json", False),
        ("text/event-streams", False),
        ("", False),
        (None, False),
    ],
)
def test_is_event_stream(content_type: str | None, expected: bool) -> None:
    assert is_event_stream(content_type) is expected


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
    ],
)
def test_a_whole_json_body_is_read_as_the_answer(content_type: str) -> None:
    raw = '{"text": "café"}'.encode()
    assert read_json_body(content_type, raw) == {"text": "café"}


@pytest.mark.parametrize(
    ("content_type", "raw", "match"),
    [
        ("application/json", b"", r"sent an empty body \(application/json\)$"),
        ("text/html; charset=utf-8", b" \r\n ", r"sent an empty body \(text/html\)$"),
        (None, b"", r"sent an empty body \(no content type\)$"),
        (
            "text/html; charset=utf-8",
            b"<html>oops</html>",
            r"^a stream was asked for but the server sent text/html \(17 bytes\), not events$",
        ),
        (None, b"hello", r"sent no content type \(5 bytes\), not events$"),
    ],
)
def test_a_body_that_is_not_a_stream_or_json_is_a_non_retryable_error(
    content_type: str | None, raw: bytes, match: str
) -> None:
    with pytest.raises(ServerError, match=match) as caught:
        read_json_body(content_type, raw)
    # A 200 the server chose to send: asking again would only get (and maybe bill) it again.
    assert caught.value.retryable is False
    assert caught.value.status_code is None
    assert "HTTP" not in str(caught.value)


def test_a_json_body_that_is_not_utf8_is_a_typed_error() -> None:
    with pytest.raises(ServerError, match="not UTF-8"):
        read_json_body("application/json", b'{"text": "\xff"}')
