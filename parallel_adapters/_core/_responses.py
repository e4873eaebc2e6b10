"""The Responses API (`POST /v1/responses`, model `parallel`): shape requests, read answers.

The same `Completion` comes out as from the Chat API. What differs on the wire:
system text travels as `instructions`, the tier as `reasoning.effort`, structured output
as `text.format`, and citations as `url_citation` annotations on spans of the text
instead of a per-field `basis`. The kit rebuilds a per-field basis from those spans.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from ._basis import Citation, FieldBasis
from ._config import (
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    REASONING_EFFORTS,
    RESPONSES_MAX_INPUT_CHARS,
    RESPONSES_MODEL,
    RESPONSES_MODELS,
)
from ._errors import InputError, ResponseFailedError, ServerError
from ._messages import MessagesInput, merge_messages
from ._request import (
    IGNORED_PARAMS,
    MEANINGFUL_IGNORED_PARAMS,
    ChatRequest,
    _check_wire_body,
    _user_stacklevel,
    normalize_response_format,
)
from ._response import Completion, _parse_output
from ._spans import CitedSpan, web_search_calls

logger = logging.getLogger("parallel_adapters")

__all__ = [
    "ResponsesAccumulator",
    "completion_from_responses_body",
    "is_responses_model",
    "shape_responses_request",
]

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_once(param: str, hint: str = "") -> None:
    with _warned_lock:
        if param in _warned:
            return
        _warned.add(param)
    warnings.warn(
        f"the Parallel Responses API ignores {param!r}; it was not sent{hint}",
        UserWarning,
        stacklevel=_user_stacklevel(),
    )


def is_responses_model(model: str) -> bool:
    """`parallel` and `parallel-low|medium|high` go to the Responses API."""
    return isinstance(model, str) and model.strip().lower() in RESPONSES_MODELS


def _effort(model: str, effort: Any) -> str | None:
    if effort is not None and effort not in REASONING_EFFORTS:
        raise InputError(
            f"reasoning_effort must be one of {list(REASONING_EFFORTS)}, got {effort!r}"
        )
    pinned = RESPONSES_MODELS[model.strip().lower()]
    if pinned is not None and effort is not None and effort != pinned:
        raise InputError(
            f"model {model!r} pins reasoning_effort={pinned!r}; got reasoning_effort={effort!r}. "
            "Use model='parallel' to choose the effort per call"
        )
    return pinned or effort


def _check_metadata(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, Mapping):
        raise InputError(f"metadata must be a dict of strings, got {type(metadata).__name__}")
    if len(metadata) > METADATA_MAX_KEYS:
        raise InputError(f"metadata has {len(metadata)} keys; at most {METADATA_MAX_KEYS}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InputError(f"metadata keys and values must be strings, got {key!r}: {value!r}")
        if len(key) > METADATA_MAX_KEY_CHARS:
            raise InputError(
                f"metadata key {key[:20]!r}... is {len(key)} characters; "
                f"at most {METADATA_MAX_KEY_CHARS}"
            )
        if len(value) > METADATA_MAX_VALUE_CHARS:
            raise InputError(
                f"metadata value for {key!r} is {len(value)} characters; "
                f"at most {METADATA_MAX_VALUE_CHARS}"
            )
    return dict(metadata)


def _text_format(response_format: Any) -> tuple[dict[str, Any] | None, Any]:
    """`text.format` for a response format in any form the core accepts."""
    wire, output_model = normalize_response_format(response_format)
    if wire is None or wire["type"] == "text":
        return None, output_model
    if wire["type"] == "json_object":
        _warn_once("response_format json_object", ": it produces plain text; use a JSON schema")
        return None, output_model
    inner = wire["json_schema"]
    return {"type": "json_schema", **inner}, output_model


def _input(messages: MessagesInput) -> tuple[str | None, str | list[dict[str, str]], int]:
    """(instructions, input, code points counted against the limit)."""
    merged = merge_messages(messages)
    instructions: str | None = None
    if merged[0]["role"] == "system":
        instructions = merged[0]["content"]
        merged = merged[1:]
    if not any(m["role"] == "user" for m in merged):
        raise InputError(
            "the Responses API needs at least one user message; got "
            + (", ".join(m["role"] for m in merged) or "only system text")
        )
    turns: list[dict[str, str]] = []
    for message in merged:
        # The Responses API has no `name`: keep who spoke in the text, as merging does.
        name = message.get("name")
        content = f"{name}: {message['content']}" if name else message["content"]
        turns.append({"role": message["role"], "content": content})
    # A lone user turn travels as a plain string, the documented simplest form.
    wire: str | list[dict[str, str]] = turns[0]["content"] if len(turns) == 1 else turns
    # Parallel's own clients count instructions + "\n" + input in code points.
    size = sum(len(t["content"]) for t in turns) + len(turns) - 1
    if instructions is not None:
        size += len(instructions) + 1
    return instructions, wire, size


def shape_responses_request(
    messages: MessagesInput,
    *,
    model: str,
    stream: bool = False,
    response_format: Any = None,
    previous_interaction_id: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
    reasoning_effort: Any = None,
    metadata: Any = None,
    **params: Any,
) -> ChatRequest:
    """Validate and build a `/v1/responses` body; raises `InputError` before any I/O."""
    effort = _effort(model, reasoning_effort)
    n = params.get("n")
    if n is not None and n != 1:
        raise InputError(f"n={n!r} is not supported: the Parallel Responses API returns one answer")
    for param in params:
        if param in MEANINGFUL_IGNORED_PARAMS:
            if params[param]:
                hint = " (pass web_search or mcp tools in extra_body)" if param == "tools" else ""
                _warn_once(param, hint)
        elif param not in IGNORED_PARAMS:
            raise InputError(
                f"unknown parameter {param!r}; pass provider-specific fields in extra_body"
            )
    if previous_interaction_id is not None and not isinstance(previous_interaction_id, str):
        raise InputError("previous_interaction_id must be a string")

    instructions, wire_input, size = _input(messages)
    if size > RESPONSES_MAX_INPUT_CHARS:
        raise InputError(
            f"input and instructions total {size} characters; the Responses API accepts at "
            f"most {RESPONSES_MAX_INPUT_CHARS}"
        )
    text_format, output_model = _text_format(response_format)
    body: dict[str, Any] = {"model": RESPONSES_MODEL, "input": wire_input}
    if instructions is not None:
        body["instructions"] = instructions
    if effort is not None:
        body["reasoning"] = {"effort": effort}
    if text_format is not None:
        body["text"] = {"format": text_format}
    if previous_interaction_id:
        body["previous_response_id"] = previous_interaction_id
    if metadata is not None:
        body["metadata"] = _check_metadata(metadata)
    if stream:
        body["stream"] = True
    if extra_body:
        body.update(extra_body)
    _check_wire_body(body)
    return ChatRequest(body=body, output_model=output_model, api="responses", effort=effort)


# -- reading answers ---------------------------------------------------------------------


def _message_text(output: Any) -> tuple[str, list[CitedSpan]]:
    """The joined `output_text` of the `message` items, with annotation offsets shifted to
    match; items are found by type, never by position."""
    pieces: list[str] = []
    spans: list[CitedSpan] = []
    offset = 0
    for item in output if isinstance(output, list) else []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if not isinstance(part, dict) or part.get("type") != "output_text":
                continue
            text = part.get("text")
            if not isinstance(text, str):
                continue
            spans.extend(_spans(part.get("annotations"), len(text), offset))
            pieces.append(text)
            offset += len(text)
    return "".join(pieces), spans


def _spans(annotations: Any, length: int, offset: int = 0) -> list[CitedSpan]:
    spans: list[CitedSpan] = []
    for note in annotations if isinstance(annotations, list) else []:
        span = _span(note, length, offset)
        if span is not None:
            spans.append(span)
    return spans


def _span(note: Any, length: int, offset: int = 0) -> CitedSpan | None:
    if not isinstance(note, dict) or note.get("type") != "url_citation":
        return None
    url, start, end = note.get("url"), note.get("start_index"), note.get("end_index")
    if not isinstance(url, str) or not url:
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        start, end = 0, 0  # a citation without a usable span still names its source
    start, end = max(0, min(start, length)), max(0, min(end, length))
    title = note.get("title")
    return CitedSpan(
        start=start + offset,
        end=max(start, end) + offset,
        url=url,
        title=title if isinstance(title, str) else None,
    )


def _citations(text: str, spans: list[CitedSpan]) -> list[Citation]:
    """One per URL, first-seen order; excerpts are the cited passages."""
    by_url: dict[str, Citation] = {}
    for span in spans:
        citation = by_url.get(span.url)
        if citation is None:
            citation = by_url[span.url] = Citation(url=span.url, title=span.title)
        elif citation.title is None and span.title is not None:
            citation.title = span.title
        excerpt = text[span.start : span.end]
        if excerpt.strip() and excerpt not in citation.excerpts:
            citation.excerpts.append(excerpt)
    return list(by_url.values())


def _field_ranges(text: str) -> list[tuple[str, int, int]] | None:
    """(field, start, end) of each top-level value of a JSON object text; None if not one."""
    decoder = json.JSONDecoder()
    ws = " \t\n\r"
    index = 0
    length = len(text)

    def skip(i: int) -> int:
        while i < length and text[i] in ws:
            i += 1
        return i

    try:
        index = skip(index)
        if index >= length or text[index] != "{":
            return None
        index = skip(index + 1)
        ranges: list[tuple[str, int, int]] = []
        if index < length and text[index] == "}":
            return ranges
        while True:
            key, index = decoder.raw_decode(text, index)
            index = skip(index)
            if text[index] != ":" or not isinstance(key, str):
                return None
            start = skip(index + 1)
            _, end = decoder.raw_decode(text, start)
            ranges.append((key, start, end))
            index = skip(end)
            if text[index] == "}":
                return ranges
            if text[index] != ",":
                return None
            index = skip(index + 1)
    except (ValueError, IndexError):
        return None


def _basis(
    text: str, spans: list[CitedSpan], citations: list[Citation], structured: bool
) -> list[FieldBasis]:
    """One `FieldBasis` per output field, as the Chat API gives; no reasoning or confidence."""
    ranges = _field_ranges(text) if structured else None
    if ranges is None:
        return [FieldBasis(field="output", citations=[c.model_copy(deep=True) for c in citations])]
    basis: list[FieldBasis] = []
    for name, start, end in ranges:
        inside = [s for s in spans if start <= s.start and s.end <= end and s.end > s.start]
        basis.append(FieldBasis(field=name, citations=_citations(text, inside)))
    return basis


def _is_structured(request: ChatRequest) -> bool:
    text = request.body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    return isinstance(fmt, dict) and fmt.get("type") == "json_schema"


def _failure(body: dict[str, Any]) -> ResponseFailedError:
    error = body.get("error")
    message = code = None
    if isinstance(error, dict):
        message, code = error.get("message"), error.get("code")
    return ResponseFailedError(
        message if isinstance(message, str) and message else "the research run failed",
        code=code if isinstance(code, str) else None,
        body=body,
    )


def _finish_reason(body: dict[str, Any]) -> str | None:
    status = body.get("status")
    if status == "incomplete":
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return reason if isinstance(reason, str) and reason else "incomplete"
    return "stop" if status in ("completed", None) else str(status)


def completion_from_responses_body(body: Any, request: ChatRequest) -> Completion:
    """A `Completion` from a Responses object; `ResponseFailedError` when it failed."""
    if not isinstance(body, dict):
        raise ServerError(
            f"the server sent a {type(body).__name__} instead of a JSON object",
            status_code=None,
            retryable=False,
        )
    if body.get("status") in ("failed", "cancelled"):
        raise _failure(body)
    output = body.get("output")
    if not isinstance(output, list):
        raise ServerError(
            "the server's answer has no output", status_code=None, body=body, retryable=False
        )
    text, spans = _message_text(output)
    citations = _citations(text, spans)
    created = body.get("created_at")
    usage = body.get("usage")
    response_id = body.get("id") if isinstance(body.get("id"), str) and body.get("id") else None
    model = body.get("model")
    return Completion(
        text=text,
        model=model if isinstance(model, str) and model else RESPONSES_MODEL,
        basis=_basis(text, spans, citations, _is_structured(request)),
        citations=citations,
        interaction_id=response_id,
        id=response_id,
        created=int(created) if isinstance(created, (int, float)) and created is not True else None,
        finish_reason=_finish_reason(body),
        usage=usage if isinstance(usage, dict) and usage else None,
        parsed=_parse_output(text, request.output_model),
        raw=body,
        cited_spans=spans,
        web_search_calls=web_search_calls(output),
    )


class ResponsesAccumulator:
    """Collects Responses stream events into the final `Completion`.

    The text comes from `response.output_text.delta` events; the final object of
    `response.completed` is authoritative when it arrives. Unknown events are ignored.
    """

    def __init__(self, request: ChatRequest) -> None:
        self.request = request
        self._parts: list[str] = []
        self._annotations: list[Any] = []
        self._final: dict[str, Any] | None = None
        self._last: dict[str, Any] = {}
        # Set by whoever reads the events when `data: [DONE]` arrives.
        self.saw_done = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, event: Any) -> str:
        """Take one event; returns its text delta ("" when it has none)."""
        if isinstance(event, dict) and "type" not in event and isinstance(event.get("data"), dict):
            event = event["data"]  # an SDK that wraps events it does not know
        if not isinstance(event, dict):
            return ""
        kind = event.get("type")
        response = event.get("response")
        if isinstance(response, dict):
            self._last = response
        if kind == "response.output_text.delta":
            delta = event.get("delta")
            if isinstance(delta, str) and delta:
                self._parts.append(delta)
                return delta
        elif kind == "response.output_text.annotation.added":
            self._annotations.append(event.get("annotation"))
        elif kind in ("response.completed", "response.incomplete") and isinstance(response, dict):
            self._final = response
        elif kind == "response.failed":
            raise _failure(response if isinstance(response, dict) else {})
        elif kind == "error":
            message = event.get("message")
            raise ServerError(
                message if isinstance(message, str) and message else "the stream reported an error",
                status_code=None,
                body=event,
                retryable=False,
            )
        return ""

    def finish(self) -> Completion:
        final = self._final
        if final is not None and _message_text(final.get("output"))[0]:
            return completion_from_responses_body(final, self.request)
        # No usable final object: build one from the deltas and annotation events.
        raw = dict(final or self._last)
        raw.setdefault("object", "response")
        raw["status"] = (final or {}).get("status") or "completed"
        message = {
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [
                {
                    "type": "output_text",
                    "text": self.text,
                    "annotations": [a for a in self._annotations if isinstance(a, dict)],
                }
            ],
        }
        others = [i for i in raw.get("output") or [] if isinstance(i, dict)]
        raw["output"] = [i for i in others if i.get("type") != "message"] + [message]
        completion = completion_from_responses_body(raw, self.request)
        if final is not None:
            return completion
        # The final object always closes a whole answer; without it the connection
        # ended cleanly but the answer may be cut short (as on the Chat API).
        logger.warning(
            "the Responses stream ended with no response.completed; the answer "
            "(%d characters) may be cut short (Completion.incomplete)",
            len(self.text),
        )
        return dataclasses.replace(completion, incomplete=True)
