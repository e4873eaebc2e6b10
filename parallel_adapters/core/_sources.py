"""The basis as framework-neutral records: one cited page per output field, and JSON.

Adapters surface evidence in their framework's own shapes (LlamaIndex source nodes,
DSPy passages, plain dicts); this module does the flattening they all need, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ._basis import Citation, FieldBasis, parse_basis, unique_citations
from ._response import Completion

__all__ = ["Research", "Source", "research_from_dict", "research_to_dict", "sources_from_basis"]


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


@dataclass(frozen=True)
class Research:
    """What backs an answer: the basis, its unique citations and the interaction id."""

    basis: list[FieldBasis]
    """Per output field: citations, reasoning and confidence."""
    citations: list[Citation]
    """Every cited page once, in first-seen order."""
    interaction_id: str | None
    """The answer's id for a follow-up (`previous_interaction_id=`)."""

    @property
    def sources(self) -> list[Source]:
        """One `Source` per (field, page): the citations with their field's confidence."""
        return sources_from_basis(self.basis)


def research_to_dict(completion: Completion) -> dict[str, Any]:
    """JSON-safe `basis`, `citations` and `interaction_id` of a completion.

    For frameworks that carry metadata as plain dicts (and may serialize or log them).
    """
    return {
        "basis": [b.model_dump(mode="json") for b in completion.basis],
        "citations": [c.model_dump(mode="json") for c in completion.citations],
        "interaction_id": completion.interaction_id,
    }


def research_from_dict(data: Mapping[str, Any]) -> Research:
    """The typed `Research` back from a `research_to_dict` mapping; never raises.

    Missing keys give empty values; citations are recomputed from the basis when absent.
    """
    basis = parse_basis(data.get("basis"))
    raw_citations = data.get("citations")
    citations: list[Citation] = []
    if isinstance(raw_citations, list) and raw_citations:
        for item in raw_citations:
            if isinstance(item, Citation):
                citations.append(item)
            elif isinstance(item, Mapping):
                try:
                    citations.append(Citation.model_validate(item))
                except ValidationError:
                    continue
    else:
        citations = unique_citations(basis)
    interaction_id = data.get("interaction_id")
    return Research(
        basis=basis,
        citations=citations,
        interaction_id=interaction_id
        if isinstance(interaction_id, str) and interaction_id
        else None,
    )
