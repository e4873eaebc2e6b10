"""The research basis: citations, reasoning and confidence behind each output field."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "Citation",
    "FieldBasis",
    "Source",
    "is_web_url",
    "parse_basis",
    "sources_from_basis",
    "unique_citations",
]

logger = logging.getLogger("parallel_adapters")


class Citation(BaseModel):
    """A web source supporting a field: its URL, title and the excerpts used."""

    # Unknown keys are kept: the API is in beta and may add fields we should not drop.
    model_config = ConfigDict(extra="allow")

    url: str
    """The source's web address."""
    title: str | None = None
    """The page title, when the API gave one."""
    excerpts: list[str] = Field(default_factory=list)
    """Passages of the page the answer relies on (may be empty)."""

    @field_validator("excerpts", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class FieldBasis(BaseModel):
    """Why the answer says what it says about one output field.

    A plain-text answer has one entry (field `"content"` or blank); a structured answer
    has one per field of its JSON object. Unknown keys the API adds are kept.
    """

    model_config = ConfigDict(extra="allow")

    field: str = ""
    """The output field this entry explains ("" when the API named none)."""
    reasoning: str | None = None
    """The model's explanation of how it reached the field's value."""
    citations: list[Citation] = Field(default_factory=list)
    """The web sources supporting the field."""
    confidence: str | None = None
    """The API's confidence level, as text (e.g. `"high"`, `"medium"`, `"low"`)."""

    @field_validator("field", mode="before")
    @classmethod
    def _none_field(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("citations", mode="before")
    @classmethod
    def _none_citations(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence_text(cls, value: Any) -> Any:
        # Task API docs show "high"; numeric scores are plausible too. Keep both, as text.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return value


# Whitespace and control characters: urlsplit strips some, and a browser may read them
# differently; a source URL has none.
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


@functools.lru_cache(maxsize=4096)
def is_web_url(url: str) -> bool:
    """Only http(s) pages are sources, on both APIs: a `javascript:` or `data:` link in a
    rendered answer is one click from script. (Cached: an answer cites few pages many times.)"""
    if _NOT_IN_URL.search(url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def parse_basis(raw: Any) -> list[FieldBasis]:
    """Typed basis from the raw JSON value; never raises.

    A malformed item is skipped with a warning: a call must not fail because its
    supporting evidence is oddly shaped. The raw value stays on `Completion.raw`.
    """
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list):
        logger.warning("ignoring malformed basis (expected a list, got %s)", type(raw).__name__)
        return []
    parsed: list[FieldBasis] = []
    dropped = 0
    for index, item in enumerate(raw):
        try:
            entry = FieldBasis.model_validate(item)
        except ValidationError as exc:
            logger.warning(
                "ignoring malformed basis item %d: %s",
                index,
                exc.errors(include_url=False, include_input=False),
            )
            continue
        web = [citation for citation in entry.citations if is_web_url(citation.url)]
        dropped += len(entry.citations) - len(web)
        entry.citations = web
        parsed.append(entry)
    if dropped:
        logger.warning("dropped %d citation(s) whose URL is not an http(s) address", dropped)
    return parsed


def unique_citations(basis: Iterable[FieldBasis]) -> list[Citation]:
    """Citations across all fields, one per URL in first-seen order, excerpts merged."""
    # A set of the excerpts kept per URL: a page cited 100,000 times stays linear.
    by_url: dict[str, tuple[Citation, set[str]]] = {}
    for field_basis in basis:
        for citation in field_basis.citations:
            entry = by_url.get(citation.url)
            if entry is None:
                first = citation.model_copy(deep=True)
                kept = set(first.excerpts)
                by_url[citation.url] = (first, kept)
                continue
            seen, kept = entry
            if seen.title is None and citation.title is not None:
                seen.title = citation.title
            for excerpt in citation.excerpts:
                if excerpt not in kept:
                    kept.add(excerpt)
                    seen.excerpts.append(excerpt)
    return [citation for citation, _ in by_url.values()]


@dataclass(frozen=True)
class Source:
    """One web page cited as evidence for one output field."""

    url: str
    """The page's web address."""
    title: str | None
    """The page title, when the API gave one."""
    excerpts: tuple[str, ...]
    """Passages of the page cited for this field, merged across its citations."""
    field: str
    """The output field the page supports."""
    confidence: str | None
    """That field's confidence level (a source is only as strong as its field)."""
    reasoning: str | None
    """That field's reasoning."""


def sources_from_basis(basis: Iterable[FieldBasis]) -> list[Source]:
    """One `Source` per (field, url), in first-seen order, excerpts merged.

    A page cited for two fields gives two sources: each field has its own confidence
    and reasoning, and a source is only as strong as the field it supports.
    """
    # A set beside each excerpt list: merging stays linear however often a page recurs.
    merged: dict[tuple[str, str], tuple[FieldBasis, str | None, list[str], set[str]]] = {}
    for field_basis in basis:
        for citation in field_basis.citations:
            key = (field_basis.field, citation.url)
            seen = merged.get(key)
            if seen is None:
                excerpts = list(citation.excerpts)
                merged[key] = (field_basis, citation.title, excerpts, set(excerpts))
                continue
            owner, title, excerpts, kept = seen
            for excerpt in citation.excerpts:
                if excerpt not in kept:
                    kept.add(excerpt)
                    excerpts.append(excerpt)
            merged[key] = (owner, title or citation.title, excerpts, kept)
    return [
        Source(
            url=url,
            title=title,
            excerpts=tuple(excerpts),
            field=field,
            confidence=owner.confidence,
            reasoning=owner.reasoning,
        )
        for (field, url), (owner, title, excerpts, _) in merged.items()
    ]
