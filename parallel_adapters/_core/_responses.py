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
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._basis import Citation, FieldBasis, is_web_url
from ._config import (
    METADATA_MAX_KEY_CHARS,
    METADATA_MAX_KEYS,
    METADATA_MAX_VALUE_CHARS,
    REASONING_EFFORTS,
    RESPONSES_MAX_INPUT_CHARS,
    RESPONSES_MODEL,
    RESPONSES_MODELS,
)
from ._errors import InputError, ResponseFailedError, ResponseNotFinishedError, ServerError
from ._graphemes import boundaries
from ._messages import MessagesInput, merge_messages
from ._request import (
    IGNORED_PARAMS,
    MEANINGFUL_IGNORED_PARAMS,
    ChatRequest,
    _check_wire_body,
    _user_stacklevel,
    check_previous_interaction_id,
    normalize_response_format,
)
from ._response import Completion, _parse_output
from ._spans import CitedSpan, trusted_span, web_search_calls

logger = logging.getLogger("parallel_adapters")

__all__ = [
    "ResponsesAccumulator",
    "basis_from_ranges",
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
    check_previous_interaction_id(previous_interaction_id)

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
    if previous_interaction_id is not None:
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


# One usable `url_citation`: (url, title, start, end); start is -1 when its offsets were
# not usable (the page is still a source). Tuples: 100,000 of them are read per answer.
_Note = tuple[str, str | None, int, int]
_NO_SPAN = -1


class _Dropped:
    def __init__(self) -> None:
        self.offsets = 0
        self.urls = 0

    def log(self) -> None:
        if self.urls:
            logger.warning(
                "dropped %d url_citation annotation(s) whose URL is not an http(s) address",
                self.urls,
            )
        if self.offsets:
            logger.warning(
                "dropped the span of %d url_citation annotation(s) with unusable offsets "
                "(reversed, negative, past the end, or not integers); their sources are kept",
                self.offsets,
            )


def _notes(
    annotations: list[Any], length: int, offset: int, dropped: _Dropped, notes: list[_Note]
) -> None:
    """Appends the usable `url_citation`s of one text part to `notes`, offsets shifted by
    `offset`. `type(x) is int`: a bool is an int to Python, never to the API."""
    append = notes.append
    for raw in annotations:
        if type(raw) is not dict or raw.get("type") != "url_citation":
            continue
        url = raw.get("url")
        if type(url) is not str or not url:
            continue
        if not is_web_url(url):
            dropped.urls += 1
            continue
        title = raw.get("title")
        if type(title) is not str or not title:
            title = None
        start, end = raw.get("start_index"), raw.get("end_index")
        if type(start) is int and type(end) is int and 0 <= start <= end <= length:
            append((url, title, start + offset, end + offset))
        else:
            dropped.offsets += 1
            append((url, title, _NO_SPAN, _NO_SPAN))


def _message_text(output: Any) -> tuple[str, list[_Note]]:
    """The joined `output_text` of the `message` items and their usable citations, spans
    shifted into the joined text and snapped outward to grapheme clusters; items are found
    by type, never by position."""
    pieces: list[str] = []
    notes: list[_Note] = []
    dropped = _Dropped()
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
            annotations = part.get("annotations")
            if isinstance(annotations, list):
                _notes(annotations, len(text), offset, dropped, notes)
            pieces.append(text)
            offset += len(text)
    dropped.log()
    joined = "".join(pieces)
    bounds = boundaries(joined)
    if not bounds.trivial:
        floor, ceil = bounds.floor, bounds.ceil
        notes = [
            note if note[2] == _NO_SPAN else (note[0], note[1], floor(note[2]), ceil(note[3]))
            for note in notes
        ]
    return joined, notes


def _spans_of(notes: list[_Note]) -> list[CitedSpan]:
    return [
        trusted_span(start, end, url, title)
        for url, title, start, end in notes
        if start != _NO_SPAN
    ]


def _answer_text(output: Any) -> str:
    return _message_text(output)[0]


def _citations(text: str, notes: Iterable[_Note]) -> list[Citation]:
    """One per URL, first-seen order; excerpts are the cited passages. Linear: a set of
    the excerpts kept per URL, however often a page is cited."""
    by_url: dict[str, tuple[Citation, set[str]]] = {}
    for url, title, start, end in notes:
        entry = by_url.get(url)
        if entry is None:
            entry = by_url[url] = (Citation(url=url, title=title), set())
        citation, kept = entry
        if citation.title is None and title is not None:
            citation.title = title
        if start == _NO_SPAN:
            continue
        excerpt = text[start:end]
        if excerpt not in kept and excerpt.strip():
            kept.add(excerpt)
            citation.excerpts.append(excerpt)
    return [citation for citation, _ in by_url.values()]


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


def basis_from_ranges(
    text: str, spans: Sequence[CitedSpan], ranges: Sequence[tuple[str, int, int]]
) -> list[FieldBasis]:
    """One `FieldBasis` per (field, start, end) range of `text`, citing the spans that
    lie inside it. Ranges must not overlap; a span that crosses two backs neither. Linear
    in the spans (a binary search each), so 2,000 fields and 20,000 spans stay cheap."""
    order = sorted(range(len(ranges)), key=lambda i: ranges[i][1])
    starts = [ranges[i][1] for i in order]
    inside: list[list[_Note]] = [[] for _ in ranges]
    for span in spans:
        if span.end <= span.start:
            continue
        at = bisect_right(starts, span.start) - 1
        if at >= 0 and span.end <= ranges[order[at]][2]:
            inside[order[at]].append((span.url, span.title, span.start, span.end))
    return [
        FieldBasis(field=name, citations=_citations(text, notes))
        for (name, _, _), notes in zip(ranges, inside, strict=True)
    ]


def _basis(
    text: str, spans: list[CitedSpan], citations: list[Citation], structured: bool
) -> list[FieldBasis]:
    """One `FieldBasis` per output field, as the Chat API gives; no reasoning or confidence."""
    ranges = _field_ranges(text) if structured else None
    if ranges is None:
        # Copies, so that editing one list leaves the other alone; the excerpts are strings.
        copies = [c.model_copy(update={"excerpts": list(c.excerpts)}) for c in citations]
        return [FieldBasis(field="output", citations=copies)]
    return basis_from_ranges(text, spans, ranges)


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


# Statuses of a run that has no answer (yet, or ever); `failed` has its own error.
_UNFINISHED = frozenset({"queued", "in_progress", "cancelled"})


def _finish_reason(body: dict[str, Any]) -> str | None:
    reason = _incomplete_reason(body)
    if reason is not None:
        return reason
    status = body.get("status")
    return "stop" if status in ("completed", None) else str(status)


def _incomplete_reason(body: dict[str, Any]) -> str | None:
    if body.get("status") != "incomplete":
        return None
    details = body.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return reason if isinstance(reason, str) and reason else "incomplete"


def completion_from_responses_body(body: Any, request: ChatRequest) -> Completion:
    """A `Completion` from a Responses object; `ResponseFailedError` when it failed,
    `ResponseNotFinishedError` when it is queued, in progress or cancelled."""
    if not isinstance(body, dict):
        raise ServerError(
            f"the server sent a {type(body).__name__} instead of a JSON object",
            status_code=None,
            retryable=False,
        )
    status = body.get("status")
    if status == "failed":
        raise _failure(body)
    if status in _UNFINISHED:
        raise ResponseNotFinishedError(
            f"the research run is {status}, not finished: it has no answer to return"
            + (" (it was cancelled, so it is not asked again)" if status == "cancelled" else ""),
            status=str(status),
            body=body,
        )
    output = body.get("output")
    if not isinstance(output, list):
        raise ServerError(
            "the server's answer has no output", status_code=None, body=body, retryable=False
        )
    text, notes = _message_text(output)
    citations = _citations(text, notes)
    spans = _spans_of(notes)
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
        incomplete=status == "incomplete",
        incomplete_reason=_incomplete_reason(body),
    )


class ResponsesAccumulator:
    """Collects Responses stream events into the final `Completion`.

    The text comes from `response.output_text.delta` events; the final object of
    `response.completed` is authoritative when it arrives. Unknown events are ignored.
    The first `response.completed` (or `response.incomplete`) ends the answer: anything
    after it is ignored and logged, so what the caller saw is what `finish()` returns.
    """

    def __init__(self, request: ChatRequest) -> None:
        self.request = request
        self._parts: list[str] = []
        self._annotations: list[Any] = []
        self._final: dict[str, Any] | None = None
        self._last: dict[str, Any] = {}
        # Set by whoever reads the events when `data: [DONE]` arrives.
        self.saw_done = False
        self._ignored = 0

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
        if self._final is not None:
            self._ignore(kind)
            return ""
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

    def _ignore(self, kind: Any) -> None:
        self._ignored += 1
        if self._ignored == 1:
            logger.warning(
                "ignoring a %r event after the stream's end (response.completed): the "
                "answer is the one completed first",
                kind,
            )

    def finish(self) -> Completion:
        if self._ignored > 1:
            logger.warning("ignored %d events after response.completed", self._ignored)
        final = self._final
        if final is not None and _answer_text(final.get("output")):
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
