"""The emulator's seam: a request in, one protocol-neutral answer out.

Both wire layers (Chat and Responses) validate their own body, turn it into an
`EmulatorRequest`, ask the responder for an `EmulatorAnswer` and render that answer in
their own shape. The default responder is the research simulator (`_research`); a test
can pass its own callable to script exact answers:

```python
def responder(request: EmulatorRequest) -> EmulatorAnswer:
    return EmulatorAnswer(
        "Paris is the capital of France.",
        citations=(Citation("https://example.org/paris", "Paris", ("Paris is the capital",)),),
    )

ParallelEmulator(responder=responder)
```

An answer states its sources in whichever form is natural: `citations` (one basis entry
for the whole text), a `basis` per output field, and/or exact `spans`. What is missing is
derived by the wire layer (see `spans_for` and `basis_for`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Api = Literal["chat", "responses"]
Effort = Literal["low", "medium", "high"]
FormatType = Literal["text", "json_object", "json_schema"]

TEXT_FIELD = "output"
"""The basis field of a plain-text answer (the Task API's name for a text output)."""


class SchemaError(ValueError):
    """The requested JSON schema cannot be satisfied.

    A responder raises it to refuse a `response_format`; the emulator answers the
    request with the API's validation error (422 on the Chat API, 400 on the Responses
    API) carrying the message.
    """


@dataclass(frozen=True)
class Message:
    """One message of the conversation, text only (system/developer/user/assistant)."""

    role: str
    """`"system"`, `"developer"`, `"user"` or `"assistant"`."""
    content: str
    """The message's text."""
    name: str | None = None
    """The participant name a Chat API message carried, else None."""


@dataclass(frozen=True)
class ResponseFormat:
    """The output format asked for: Chat's `response_format`, Responses' `text.format`."""

    type: FormatType
    """`"text"`, `"json_object"` or `"json_schema"`."""
    schema: Mapping[str, Any] | None = None
    """The JSON schema the answer must follow (`json_schema` only), else None."""
    name: str | None = None
    """The schema's name as the client sent it, if any."""

    def canonical(self) -> dict[str, Any]:
        """The format as a plain dict (`type`, `schema`, `name`), the same whichever API
        it came from."""
        return {"type": self.type, "schema": self.schema, "name": self.name}


@dataclass(frozen=True)
class Turn:
    """An earlier turn of the conversation, linked by `previous_interaction_id` or
    `previous_response_id`."""

    messages: tuple[Message, ...]
    """The messages that turn sent, in order."""
    text: str
    """The answer text the emulator gave in that turn."""


@dataclass(frozen=True)
class EmulatorRequest:
    """What a client asked, whichever API it used.

    `messages` holds the conversation in order; for the Responses API `instructions` come
    first as a system message and a string `input` is one user message.
    """

    api: Api
    """Which API was called: `"chat"` (`/chat/completions`) or `"responses"`
    (`/v1/responses`)."""
    model: str
    """speed/lite/base/core (Chat) or "parallel" (Responses)."""
    messages: tuple[Message, ...]
    """The conversation, in order (see above for how the Responses API's fields map)."""
    effort: Effort | None = None
    """Responses only: `reasoning.effort` as sent (None: the server default, medium)."""
    response_format: ResponseFormat | None = None
    """The output format asked for; None for plain text."""
    history: tuple[Turn, ...] = ()
    """Earlier turns of a linked conversation, oldest first (at most the last three)."""
    body: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The JSON body exactly as the client sent it."""

    @property
    def question(self) -> str:
        """The last user message (the question, when no template wraps it)."""
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")

    @property
    def schema(self) -> Mapping[str, Any] | None:
        """The JSON schema the answer must follow, if any."""
        return self.response_format.schema if self.response_format else None


@dataclass(frozen=True)
class Citation:
    """One source of an emulated answer: rendered as a basis citation on the Chat API
    and, through its excerpts, as `url_citation` spans on the Responses API."""

    url: str
    """The source page's URL."""
    title: str = ""
    """The page's title (empty: none)."""
    excerpts: tuple[str, ...] = ()
    """Passages of the page that support the answer. Where one appears verbatim in the
    answer text, that passage becomes the cited span."""


@dataclass(frozen=True)
class FieldBasis:
    """Citations (and, on the Chat API, reasoning and confidence) for one output field."""

    field: str
    """The output field: `"output"` for a text answer, else a top-level key of the JSON
    answer."""
    citations: tuple[Citation, ...] = ()
    """The sources behind this field."""
    reasoning: str | None = None
    """Why the sources support the field (Chat API only; None: not sent)."""
    confidence: Literal["low", "medium", "high"] | None = None
    """How sure the answer is (Chat API only; None: not sent)."""


@dataclass(frozen=True)
class CitedSpan:
    """`text[start:end]` (code points, end exclusive) is supported by `url`; rendered as
    a `url_citation` annotation on the Responses API."""

    start: int
    """Offset of the span's first character in the answer text (code points)."""
    end: int
    """Offset just past the span's last character (exclusive)."""
    url: str
    """The source that supports the span."""
    title: str = ""
    """The source page's title (empty: none)."""


@dataclass(frozen=True)
class WebAction:
    """One `web_search_call` item: a `search` (query) or an `open_page` (url)."""

    type: Literal["search", "open_page"]
    """`"search"` (a web search for `query`) or `"open_page"` (a read of `url`)."""
    query: str | None = None
    """What was searched for (`search` only)."""
    url: str | None = None
    """The page read (`open_page` only)."""


@dataclass(frozen=True)
class EmulatorAnswer:
    """One answer, rendered by the Chat wire (content + basis) or the Responses wire
    (output_text + url_citation annotations + web_search_call items)."""

    text: str
    """The answer: plain text, or a JSON document when a JSON format was asked for."""
    citations: tuple[Citation, ...] = ()
    """Sources for the whole text; shorthand for `basis=(FieldBasis("output", citations),)`."""
    basis: tuple[FieldBasis, ...] | None = None
    """Per-field basis. None: derived from `citations`, else from `spans`."""
    spans: tuple[CitedSpan, ...] | None = None
    """Exact cited spans. None: derived from the basis (excerpts located in the text, or,
    for a JSON object, each field's value)."""
    web_actions: tuple[WebAction, ...] | None = None
    """The `web_search_call` items. None: one search for the question and one open_page per
    cited page, if anything is cited."""


Responder = Callable[[EmulatorRequest], EmulatorAnswer | str | Awaitable[EmulatorAnswer | str]]
"""A request in, an answer out (a str is an answer without sources); may be async."""


def as_answer(value: object) -> EmulatorAnswer:
    if isinstance(value, EmulatorAnswer):
        return value
    if isinstance(value, str):
        return EmulatorAnswer(value)
    raise TypeError(f"a responder must return an EmulatorAnswer or a str, not {type(value)!r}")


# -- deriving what an answer left out ------------------------------------------------------


def basis_for(answer: EmulatorAnswer) -> tuple[FieldBasis, ...]:
    """The answer's basis: as given, else from its citations, else from its spans."""
    if answer.basis is not None:
        return answer.basis
    if answer.citations:
        return (FieldBasis(TEXT_FIELD, answer.citations),)
    if answer.spans:
        pages: dict[str, Citation] = {}
        for span in answer.spans:
            cited = pages.get(span.url, Citation(span.url, span.title))
            excerpt = answer.text[span.start : span.end]
            if excerpt and excerpt not in cited.excerpts:
                cited = Citation(cited.url, cited.title, (*cited.excerpts, excerpt))
            pages[span.url] = cited
        return (FieldBasis(TEXT_FIELD, tuple(pages.values())),)
    return ()


def spans_for(answer: EmulatorAnswer) -> tuple[CitedSpan, ...]:
    """The answer's cited spans: as given, else derived from its basis.

    A JSON object's fields are anchored on their values (a string value without its
    quotes), as the Responses API documents; otherwise each excerpt is found in the text,
    and a citation none of whose excerpts appears covers the whole text.
    """
    if answer.spans is not None:
        return answer.spans
    text = answer.text
    values = json_value_spans(text)
    spans: list[CitedSpan] = []
    for entry in basis_for(answer):
        for citation in entry.citations:
            if entry.field in values:
                start, end = values[entry.field]
                spans.append(CitedSpan(start, end, citation.url, citation.title))
                continue
            located = [
                (at, at + len(excerpt))
                for excerpt in citation.excerpts
                if excerpt and (at := text.find(excerpt)) >= 0
            ]
            for start, end in located or [(0, len(text))]:
                spans.append(CitedSpan(start, end, citation.url, citation.title))
    # Stable: spans of one place keep their citation order.
    return tuple(sorted(spans, key=lambda s: (s.start, s.end)))


def json_value_spans(text: str) -> dict[str, tuple[int, int]]:
    """Top-level field -> (start, end) of its value in a JSON object text; {} otherwise."""
    decoder = json.JSONDecoder()
    spans: dict[str, tuple[int, int]] = {}
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return {}
    at = _skip(text, at + 1)
    try:
        while at < len(text) and text[at] != "}":
            key, at = decoder.raw_decode(text, at)
            at = _skip(text, at)
            if not text.startswith(":", at):
                return {}
            start = _skip(text, at + 1)
            value, end = decoder.raw_decode(text, start)
            if isinstance(value, str):
                start, end = start + 1, end - 1  # the value itself, not its quotes
            spans[str(key)] = (start, end)
            at = _skip(text, end + (1 if isinstance(value, str) else 0))
            if text.startswith(",", at):
                at = _skip(text, at + 1)
    except ValueError:
        return {}
    return spans


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def default_web_actions(answer: EmulatorAnswer, question: str) -> tuple[WebAction, ...]:
    if answer.web_actions is not None:
        return answer.web_actions
    urls = dict.fromkeys(s.url for s in spans_for(answer))
    if not urls:
        return ()
    return (WebAction("search", query=question), *(WebAction("open_page", url=u) for u in urls))
