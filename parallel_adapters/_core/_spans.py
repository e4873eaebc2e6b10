"""Where the Responses API's citations sit in the answer, and what research it did.

The Chat API attaches citations to output fields; the Responses API anchors them to
spans of the answer text (`url_citation` annotations). Offsets count code points and
the end is exclusive, so Python's `text[start:end]` is the cited passage.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._graphemes import boundaries

__all__ = ["CitedSpan", "WebSearchAction", "WebSearchCall", "insert_markers", "mark_spans"]


class CitedSpan(BaseModel):
    """One `url_citation` annotation of a Responses API answer: `text[start:end]` is
    supported by `url`.

    Found in `Completion.cited_spans`; `Completion.text_with_markers()` numbers them.
    """

    model_config = ConfigDict(frozen=True)

    start: int
    """Offset of the span's first character in `Completion.text` (code points)."""
    end: int
    """Offset just past the span's last character (exclusive), so `text[start:end]`."""
    url: str
    """The source that supports the span (also listed in `Completion.citations`)."""
    title: str | None = None
    """The source page's title, when the server gave one."""


class WebSearchAction(BaseModel):
    """A search (`type="search"`, `query`/`queries`) or a page read (`type="open_page"`, `url`)."""

    # Kept open: the API has added item fields in minor releases.
    model_config = ConfigDict(extra="allow")

    type: str | None = None
    """`"search"` or `"open_page"`, as the server sent it."""
    query: str | None = None
    """A search's query, when the server sent one."""
    queries: list[str] | None = None
    """A search's queries, when the server sent several."""
    url: str | None = None
    """The page read, for `type="open_page"`."""


class WebSearchCall(BaseModel):
    """A `web_search_call` output item of a Responses API answer: one search or page
    read behind it. Found in `Completion.web_search_calls`.

    Fields the API adds later are kept (extra fields are allowed), so
    `call.model_extra` holds what is not typed here.
    """

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    """The item's id, as the server sent it."""
    status: str | None = None
    """The item's status (e.g. `"completed"`), as the server sent it."""
    action: WebSearchAction | None = None
    """What was done: `type="search"` with `query`/`queries`, or `type="open_page"`
    with `url`; None when the server did not say."""


def insert_markers(
    text: str, spans: Sequence[CitedSpan], numbers: dict[str, int], template: str
) -> str:
    """`text` with `template.format(n=...)` after each span, `n` being its URL's number.

    Numbers at one insertion point appear once each, ascending; spans whose URL has no
    number, or whose end lies outside the text, are skipped. A marker never splits a
    grapheme cluster (an emoji sequence, a letter and its accent): it goes after it.
    """
    return mark_spans(text, spans, numbers, template)[0]


def mark_spans(
    text: str, spans: Sequence[CitedSpan], numbers: dict[str, int], template: str
) -> tuple[str, list[CitedSpan]]:
    """`insert_markers`, and the spans moved into the marked text, in the same order.

    A moved span covers the same passage: `marked[s.start:s.end]` is the original passage,
    plus the markers of spans that end strictly inside it. Its own marker follows it. Spans
    whose end lies outside the text are left out.
    """
    bounds = boundaries(text)
    inside = [
        _snapped(s, bounds.floor(s.start), bounds.ceil(s.end))
        for s in spans
        if 0 <= s.start <= s.end <= len(text)
    ]
    at: dict[int, set[int]] = {}
    for span in inside:
        number = numbers.get(span.url)
        if number is not None:
            at.setdefault(span.end, set()).add(number)
    if not at:
        return text, inside
    points = sorted(at)
    pieces: list[str] = []
    shifts: list[int] = []  # characters inserted at or before points[i]
    previous = inserted = 0
    for point in points:
        pieces.append(text[previous:point])
        markers = "".join(template.format(n=n) for n in sorted(at[point]))
        pieces.append(markers)
        inserted += len(markers)
        shifts.append(inserted)
        previous = point
    pieces.append(text[previous:])

    def shift(index: int, *, including: bool) -> int:
        count = bisect_right(points, index) if including else bisect_left(points, index)
        return shifts[count - 1] if count else 0

    # Markers at a span's start precede its passage; markers at its end follow it.
    moved = [
        _snapped(
            span,
            span.start + shift(span.start, including=True),
            span.end + shift(span.end, including=False),
        )
        for span in inside
    ]
    return "".join(pieces), moved


_SPAN_FIELDS = frozenset(CitedSpan.model_fields)


def trusted_span(start: int, end: int, url: str, title: str | None) -> CitedSpan:
    """A `CitedSpan` from values already checked, as `model_construct` builds one but
    without its per-call bookkeeping, which dominates reading 100,000 annotations."""
    span = object.__new__(CitedSpan)
    fields = {"start": start, "end": end, "url": url, "title": title}
    object.__setattr__(span, "__dict__", fields)
    object.__setattr__(span, "__pydantic_fields_set__", set(_SPAN_FIELDS))
    object.__setattr__(span, "__pydantic_extra__", None)
    object.__setattr__(span, "__pydantic_private__", None)
    return span


def _snapped(span: CitedSpan, start: int, end: int) -> CitedSpan:
    if (start, end) == (span.start, span.end):
        return span
    return trusted_span(start, end, span.url, span.title)


def web_search_calls(items: Any) -> list[WebSearchCall]:
    """The typed `web_search_call` items of a Responses `output` list; others skipped."""
    if not isinstance(items, list):
        return []
    calls: list[WebSearchCall] = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "web_search_call":
            try:
                calls.append(WebSearchCall.model_validate(item))
            except ValueError:
                continue
    return calls
