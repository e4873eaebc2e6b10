"""FieldBasis and Citation: lenient parsing, never failing a call."""

from __future__ import annotations

import logging

import pytest

from parallel_adapters import Citation, FieldBasis
from parallel_adapters._core import parse_basis, sources_from_basis, unique_citations

_BLOG_EXAMPLE = {
    "field": "risk_factors",
    "citations": [{"url": "https://sec.gov/filings/acme-10k-2024", "excerpts": ["..."]}],
    "reasoning": "Listed in the filing.",
    "confidence": "high",
}


def test_documented_example_parses() -> None:
    (basis,) = parse_basis([_BLOG_EXAMPLE])
    assert basis.field == "risk_factors"
    assert basis.confidence == "high"
    assert basis.citations[0].url == "https://sec.gov/filings/acme-10k-2024"
    assert basis.citations[0].title is None


def test_nulls_are_accepted_and_unknown_keys_kept() -> None:
    (basis,) = parse_basis(
        [
            {
                "field": None,
                "reasoning": None,
                "citations": None,
                "confidence": 0.83,
                "new_key": {"x": 1},
            }
        ]
    )
    assert basis.field == ""
    assert basis.citations == []
    assert basis.confidence == "0.83"
    assert basis.model_extra == {"new_key": {"x": 1}}
    citation = Citation.model_validate({"url": "https://a", "excerpts": None, "rank": 2})
    assert citation.excerpts == []
    assert citation.model_dump()["rank"] == 2


@pytest.mark.parametrize("raw", [None, [], "oops", {"field": "x"}, 7])
def test_missing_or_malformed_basis_never_raises(raw: object) -> None:
    assert parse_basis(raw) == []


def test_a_malformed_item_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        parsed = parse_basis([_BLOG_EXAMPLE, "not a dict", {"citations": [{"title": "no url"}]}])
    assert [b.field for b in parsed] == ["risk_factors"]
    assert "malformed basis item 1" in caplog.text
    assert "malformed basis item 2" in caplog.text


def test_citations_are_unique_by_url_in_first_seen_order() -> None:
    basis = [
        FieldBasis(
            field="a",
            citations=[
                Citation(url="https://one", excerpts=["x"]),
                Citation(url="https://two", title="Two"),
            ],
        ),
        FieldBasis(
            field="b",
            citations=[
                Citation(url="https://one", title="One", excerpts=["x", "y"]),
                Citation(url="https://three"),
            ],
        ),
    ]
    merged = unique_citations(basis)
    assert [c.url for c in merged] == ["https://one", "https://two", "https://three"]
    assert merged[0].title == "One"
    assert merged[0].excerpts == ["x", "y"]
    # The originals are not mutated by merging.
    assert basis[0].citations[0].excerpts == ["x"]


def test_merging_keeps_every_excerpt_once_and_the_first_title() -> None:
    basis = [
        FieldBasis(field="a", citations=[Citation(url="https://one", excerpts=["x"])]),
        FieldBasis(
            field="b", citations=[Citation(url="https://one", title="First", excerpts=["y"])]
        ),
        FieldBasis(
            field="c",
            citations=[
                Citation(url="https://one", title="Second", excerpts=["y", "z"]),
                Citation(url="https://one", excerpts=["z", "x"]),
            ],
        ),
    ]
    (merged,) = unique_citations(basis)
    assert merged.url == "https://one"
    # The first title given wins; a later one does not replace it.
    assert merged.title == "First"
    assert merged.excerpts == ["x", "y", "z"]


def test_nothing_to_parse_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="parallel_adapters"):
        assert parse_basis(None) == []
        assert parse_basis([]) == []
    assert caplog.text == ""


def test_a_basis_that_is_not_a_list_is_named_in_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        assert parse_basis({"field": "x"}) == []
    assert [r.getMessage() for r in caplog.records] == [
        "ignoring malformed basis (expected a list, got dict)"
    ]


def test_a_malformed_item_warning_names_the_problem_but_not_the_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    item = {"citations": [{"title": "no url", "excerpts": ["PRIVATE-PASSAGE"]}]}
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        assert parse_basis([item]) == []
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith("ignoring malformed basis item 0: ")
    assert "'loc': ('citations', 0, 'url')" in message
    assert "Field required" in message
    # Neither the answer's own text nor a link to pydantic's docs goes into a user's logs.
    assert "PRIVATE-PASSAGE" not in message
    assert "errors.pydantic.dev" not in message


def test_a_page_cited_again_for_one_field_is_one_source_with_every_excerpt_once() -> None:
    basis = [
        FieldBasis(
            field="ceo",
            confidence="high",
            citations=[
                Citation(url="https://one", excerpts=["x"]),
                Citation(url="https://one", title="One", excerpts=["y"]),
                Citation(url="https://one", title="Later", excerpts=["y", "x", "z"]),
            ],
        ),
        FieldBasis(field="founded", citations=[Citation(url="https://one", excerpts=["w"])]),
    ]
    ceo, founded = sources_from_basis(basis)
    assert (ceo.field, ceo.url, ceo.confidence) == ("ceo", "https://one", "high")
    assert ceo.title == "One"
    assert ceo.excerpts == ("x", "y", "z")
    assert (founded.field, founded.excerpts, founded.confidence) == ("founded", ("w",), None)
