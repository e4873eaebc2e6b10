"""Basis as sources (one per field and page) and its JSON round trip."""

from __future__ import annotations

import json

from parallel_adapters._core import Completion, parse_basis
from parallel_adapters._core._sources import (
    Source,
    research_from_dict,
    research_to_dict,
    sources_from_basis,
)

A = "https://a.example/page"
B = "https://b.example/page"

BASIS = parse_basis(
    [
        {
            "field": "capital",
            "reasoning": "stated on both pages",
            "confidence": "high",
            "citations": [
                {"url": A, "title": None, "excerpts": ["Paris is the capital."]},
                {"url": B, "title": "B", "excerpts": ["The capital is Paris."]},
                {"url": A, "title": "A", "excerpts": ["Paris is the capital.", "Since 987."]},
            ],
        },
        {
            "field": "language",
            "reasoning": "one page",
            "confidence": "low",
            "citations": [{"url": A, "title": "A", "excerpts": None}],
        },
    ]
)


def test_one_source_per_field_and_page_with_excerpts_merged() -> None:
    assert sources_from_basis(BASIS) == [
        Source(
            A,
            "A",
            ("Paris is the capital.", "Since 987."),
            "capital",
            "high",
            "stated on both pages",
        ),
        Source(B, "B", ("The capital is Paris.",), "capital", "high", "stated on both pages"),
        Source(A, "A", (), "language", "low", "one page"),
    ]


def test_no_basis_no_sources() -> None:
    assert sources_from_basis([]) == []


def test_research_dict_is_json_safe_and_round_trips() -> None:
    completion = Completion(
        text="Paris",
        model="base",
        basis=BASIS,
        citations=[],
        interaction_id="int-1",
    )
    data = json.loads(json.dumps(research_to_dict(completion)))
    research = research_from_dict(data)
    assert research.basis == BASIS
    assert research.interaction_id == "int-1"
    assert research.sources == sources_from_basis(BASIS)


def test_research_from_partial_or_malformed_dicts_never_raises() -> None:
    empty = research_from_dict({})
    assert (empty.basis, empty.citations, empty.interaction_id) == ([], [], None)
    derived = research_from_dict({"basis": [b.model_dump() for b in BASIS]})
    assert [c.url for c in derived.citations] == [A, B], "citations derived from the basis"
    odd = research_from_dict(
        {"basis": "nonsense", "citations": [{"url": A}, {"title": "no url"}], "interaction_id": ""}
    )
    assert [c.url for c in odd.citations] == [A]
    assert odd.basis == [] and odd.interaction_id is None


def test_completion_sources_are_the_basis_per_field_and_page() -> None:
    completion = Completion(text="Paris", model="base", basis=BASIS)
    assert completion.sources == sources_from_basis(BASIS)
    assert [(s.field, s.url) for s in completion.sources] == [
        ("capital", A),
        ("capital", B),
        ("language", A),
    ]
