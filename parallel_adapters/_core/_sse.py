"""Server-sent events read from a response's bytes, and the answer body behind a stream.

The SDK's own SSE reader hides what the core must see: whether `[DONE]` arrived (it
stops silently), `event: error` frames without an `error` key (it yields them as data),
and a body that is not a stream at all (it yields nothing: an empty "answer"). Reading
the events here gives every API path the same checks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ._errors import ServerError, message_from_body

__all__ = ["DONE", "SSEParser", "ServerEvent", "decode_event", "is_event_stream", "read_json_body"]

DONE = "[DONE]"


@dataclass(frozen=True)
class ServerEvent:
    event: str | None
    data: str


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServerError(
            f"the server sent bytes that are not UTF-8 (at byte {exc.start} of a line)",
            status_code=None,
            retryable=True,
        ) from None


class SSEParser:
    """Incremental: `feed(bytes)` returns the events completed so far."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[ServerEvent]:
        self._buffer.extend(chunk)
        events: list[ServerEvent] = []
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end < 0:
                self._scanned = len(self._buffer)
                return events
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            self._scanned = 0
            event = self._line(_text(line[:-1] if line.endswith(b"\r") else line))
            if event is not None:
                events.append(event)

    def close(self) -> list[ServerEvent]:
        """Events left when the body ended without a final blank line."""
        events = self.feed(b"\n") if self._buffer else []
        if self._data:
            events.append(self._dispatch())
        return events

    def _line(self, line: str) -> ServerEvent | None:
        if not line:
            if self._data:
                return self._dispatch()
            self._event = None
            return None
        if line.startswith(":"):  # a comment: keep-alive
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def _dispatch(self) -> ServerEvent:
        event = ServerEvent(self._event, "\n".join(self._data))
        self._event, self._data = None, []
        return event


def decode_event(event: ServerEvent) -> Any:
    """The JSON of one event; `ServerError` with the server's message for an error event.

    Malformed JSON raises `json.JSONDecodeError`, which the transport treats as garbled.
    """
    payload = json.loads(event.data)
    error = payload.get("error") if isinstance(payload, dict) else None
    if event.event == "error" or error:
        message = message_from_body(payload) or event.data.strip() or "an error event"
        raise ServerError(
            f"the server sent an error event: {message}",
            status_code=None,
            body=payload,
            retryable=False,
        )
    return payload


def events(chunks: Iterable[bytes]) -> Iterator[ServerEvent]:
    parser = SSEParser()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.close()


async def aevents(chunks: AsyncIterator[bytes]) -> AsyncGenerator[ServerEvent, None]:
    parser = SSEParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event


def is_event_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "text/event-stream"


def read_json_body(content_type: str | None, raw: bytes) -> Any:
    """A whole JSON answer sent to a stream request; `ServerError` for anything else
    (an HTML page, an empty 200, text): never an empty "answer"."""
    kind = (content_type or "").split(";")[0].strip().lower() or "no content type"
    if not raw.strip():
        raise ServerError(
            f"a stream was asked for but the server sent an empty body ({kind})",
            status_code=None,
            retryable=False,
        )
    if kind == "application/json" or kind.endswith("+json"):
        return json.loads(_text(raw))
    raise ServerError(
        f"a stream was asked for but the server sent {kind} ({len(raw)} bytes), not events",
        status_code=None,
        retryable=False,
    )
