"""Responses API bodies and stream events, from one answer (see the research note's §2-3).

- `output[]`: the `web_search_call` items (one per search or page read, in start order),
  then the single `message` item; read by `type`, never by position.
- The message's one `output_text` part carries `url_citation` annotations whose
  `start_index`/`end_index` count code points (end exclusive); for JSON output they are
  anchored on the field values.
- `reasoning` and `text` are echoed as null even when sent and honoured; ignored OpenAI
  fields come back with their defaults; `model` is always "parallel".
- No top-level `output_text` key: the OpenAPI `Response` schema has none (the SDKs compute
  it).
- Streaming: the documented event sequence, the whole text as one `output_text.delta`
  after research, one `annotation.added` per citation, then `response.completed` with the
  same object a non-streaming request returns. No `data: [DONE]` (OpenAI sends none and
  Parallel documents none).
- A failed run: `status: "failed"` with `error: {"code": "server_error", "message"}`
  (in a 200), or a terminal `response.failed` event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._responder import CitedSpan, WebAction
from ._wire import dumps, pieces

Event = tuple[str, dict[str, Any]]

FAILED_MESSAGE = "The research run failed: an internal error interrupted it (emulated failure)."
_ECHOED_TOOLS = frozenset({"web_search", "web_search_2025_08_26", "mcp"})


@dataclass(frozen=True)
class ResponsesReply:
    """Everything a Responses body needs besides the status."""

    response_id: str
    created: int
    text: str
    spans: tuple[CitedSpan, ...]
    actions: tuple[WebAction, ...]
    input_tokens: int
    instructions: str | None = None
    metadata: Mapping[str, str] | None = None
    previous_response_id: str | None = None
    tools: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def response_body(reply: ResponsesReply) -> bytes:
    return dumps(response_object(reply, "completed", output_items(reply)))


def failed_body(reply: ResponsesReply, message: str = FAILED_MESSAGE) -> bytes:
    return dumps(response_object(reply, "failed", [], message))


def response_object(
    reply: ResponsesReply,
    status: str,
    output: list[dict[str, Any]],
    error: str | None = None,
) -> dict[str, Any]:
    done = status in ("completed", "failed")
    output_tokens = len(pieces(reply.text)) if status == "completed" else 0
    return {
        "id": reply.response_id,
        "object": "response",
        "created_at": reply.created,
        "completed_at": reply.created if done else None,
        "status": status,
        "error": {"code": "server_error", "message": error} if error else None,
        "incomplete_details": None,
        "model": "parallel",
        "instructions": reply.instructions,
        "metadata": dict(reply.metadata) if reply.metadata is not None else None,
        "previous_response_id": reply.previous_response_id,
        "reasoning": None,
        "text": None,
        "tools": [_echo_tool(t) for t in reply.tools if t.get("type") in _ECHOED_TOOLS],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "temperature": None,
        "top_p": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "top_logprobs": None,
        "truncation": None,
        "user": None,
        "service_tier": None,
        "background": False,
        "conversation": None,
        "prompt": None,
        "output": output,
        "usage": _usage(reply.input_tokens, output_tokens) if status == "completed" else None,
    }


def _echo_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    echoed = dict(tool)
    if echoed.get("type") == "mcp":
        # Credentials never come back; a query string on the server URL is masked.
        echoed["headers"] = None
        echoed["authorization"] = None
        url = str(echoed.get("server_url", ""))
        if "?" in url:
            echoed["server_url"] = url.split("?", 1)[0] + "?***"
    return echoed


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def output_items(reply: ResponsesReply) -> list[dict[str, Any]]:
    searches = [_search_item(reply, i, a, "completed") for i, a in enumerate(reply.actions)]
    return [*searches, _message_item(reply, "completed", [_text_part(reply, reply.text)])]


def _search_item(
    reply: ResponsesReply, index: int, action: WebAction, status: str
) -> dict[str, Any]:
    if action.type == "search":
        query = action.query or ""
        detail: dict[str, Any] = {"type": "search", "query": query, "queries": [query]}
        detail["sources"] = None
    else:
        detail = {"type": "open_page", "url": action.url}
    item_id = f"ws_{reply.response_id}_{index}"
    return {"id": item_id, "type": "web_search_call", "status": status, "action": detail}


def _message_id(reply: ResponsesReply) -> str:
    return f"msg_{reply.response_id}"


def _message_item(
    reply: ResponsesReply, status: str, content: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": _message_id(reply),
        "type": "message",
        "role": "assistant",
        "status": status,
        "phase": None,
        "content": content,
    }


def _text_part(reply: ResponsesReply, text: str, annotated: bool = True) -> dict[str, Any]:
    annotations = [annotation(s) for s in reply.spans] if annotated else []
    return {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}


def annotation(span: CitedSpan) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": span.url,
        "title": span.title,
        "start_index": span.start,
        "end_index": span.end,
    }


def stream_events(reply: ResponsesReply) -> tuple[list[Event], int]:
    """The events of a streamed answer (without sequence numbers; see `frame`) and the
    position of the text delta, the first event that waits for the research."""
    events: list[Event] = []

    def add(kind: str, **fields: Any) -> None:
        events.append((kind, {"type": kind, **fields}))

    in_progress = response_object(reply, "in_progress", [])
    add("response.created", response=in_progress)
    add("response.in_progress", response=in_progress)
    for index, action in enumerate(reply.actions):
        item = _search_item(reply, index, action, "in_progress")
        add("response.output_item.added", output_index=index, item=item)
        for step in ("in_progress", "searching"):
            add(f"response.web_search_call.{step}", output_index=index, item_id=item["id"])
    at = len(reply.actions)
    where = {"item_id": _message_id(reply), "output_index": at}
    add("response.output_item.added", output_index=at, item=_message_item(reply, "in_progress", []))
    add("response.content_part.added", **where, content_index=0, part=_text_part(reply, "", False))
    research = len(events)
    add("response.output_text.delta", **where, content_index=0, delta=reply.text, logprobs=[])
    for index, action in enumerate(reply.actions):
        item = _search_item(reply, index, action, "completed")
        add("response.web_search_call.completed", output_index=index, item_id=item["id"])
        add("response.output_item.done", output_index=index, item=item)
    for index, span in enumerate(reply.spans):
        add(
            "response.output_text.annotation.added",
            **where,
            content_index=0,
            annotation_index=index,
            annotation=annotation(span),
        )
    add("response.output_text.done", **where, content_index=0, text=reply.text, logprobs=[])
    add("response.content_part.done", **where, content_index=0, part=_text_part(reply, reply.text))
    done = _message_item(reply, "completed", [_text_part(reply, reply.text)])
    add("response.output_item.done", output_index=at, item=done)
    add("response.completed", response=response_object(reply, "completed", output_items(reply)))
    return events, research


def failed_event(reply: ResponsesReply, message: str = FAILED_MESSAGE) -> Event:
    kind = "response.failed"
    return kind, {"type": kind, "response": response_object(reply, "failed", [], message)}


def frame(event: Event, sequence_number: int) -> tuple[bytes, bytes]:
    """The SSE frame's `event:` line and its JSON data (numbered in stream order)."""
    kind, payload = event
    return f"event: {kind}\n".encode(), dumps({**payload, "sequence_number": sequence_number})
