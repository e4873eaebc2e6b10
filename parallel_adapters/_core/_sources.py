"""The basis as one framework-neutral record (`Research`), and as JSON.

Adapters surface evidence in their framework's own shapes (LlamaIndex source nodes,
DSPy passages, plain dicts); this module does the flattening they all need, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ._basis import Citation, FieldBasis, Source, parse_basis, sources_from_basis, unique_citations
from ._response import Completion

__all__ = ["Research", "Source", "research_from_dict", "research_to_dict", "sources_from_basis"]


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
