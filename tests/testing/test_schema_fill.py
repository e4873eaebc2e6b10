"""Structured answers: for any schema a caller may send, JSON valid against it, with one
basis field per top-level property. Schemas come from pydantic (as the adapters generate
them), from the docs' quickstart, hand-written edge cases and hypothesis."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from parallel_adapters.testing import load_default_corpus
from parallel_adapters.testing._research._evidence import Evidence, gather_evidence
from parallel_adapters.testing._research._retrieval import BM25Index
from parallel_adapters.testing._research._schema import SchemaError, fill_schema


@cache
def _index() -> BM25Index:
    return BM25Index(load_default_corpus())


def _evidence(question: str = "What is the capital and population of France?") -> Evidence:
    return gather_evidence(_index(), question, "core")


class Source(BaseModel):
    url: str
    title: str | None = None


class Country(BaseModel):
    name: str
    capital: str
    population: int = Field(ge=0)
    currency: Literal["euro", "yen", "dollar"]
    founded_year: int | None = None
    sources: list[Source] = Field(min_length=1)
    confidence: float = Field(ge=0, le=1)
    official: bool


class Node(BaseModel):
    label: str
    children: list[Node] = []


QUICKSTART = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string", "description": "Think step by step"},
        "answer": {"type": "string", "description": "The direct answer to the question"},
        "citations": {"type": "array", "items": {"type": "string"}},
    },
}

SCHEMAS: dict[str, Any] = {
    "quickstart": QUICKSTART,
    "pydantic": Country.model_json_schema(),
    "recursive": Node.model_json_schema(),
    "strict": {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "facts": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            "meta": {
                "type": "object",
                "properties": {
                    "checked": {"type": "boolean"},
                    "note": {"type": ["string", "null"]},
                },
                "required": ["checked", "note"],
                "additionalProperties": False,
            },
        },
        "required": ["answer", "facts", "meta"],
        "additionalProperties": False,
    },
    "numbers": {
        "type": "object",
        "properties": {
            "even": {"type": "integer", "multipleOf": 2, "exclusiveMinimum": 7},
            "ratio": {"type": "number", "minimum": 0.25, "maximum": 0.5},
            "negative": {"type": "integer", "maximum": -3},
            "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
        },
        "required": ["even", "ratio", "negative", "year"],
    },
    "strings": {
        "type": "object",
        "properties": {
            "short": {"type": "string", "maxLength": 5},
            "long": {"type": "string", "minLength": 400},
            "when": {"type": "string", "format": "date"},
            "stamp": {"type": "string", "format": "date-time"},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "homepage": {"type": "string", "format": "uri"},
            "mood": {"enum": ["calm", "Paris", 3]},
            "fixed": {"const": "x"},
        },
    },
    "composed": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 5}]}}},
        ]
    },
    "tuple": {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "minItems": 2,
    },
    "map": {"type": "object", "additionalProperties": {"type": "integer"}},
    "anything": {},
    "unique": {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "maxItems": 2},
}

VALIDATOR = jsonschema.Draft202012Validator


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("found", [True, False], ids=["grounded", "unanswerable"])
def test_values_are_valid_against_the_schema(name: str, found: bool) -> None:
    schema = SCHEMAS[name]
    evidence = _evidence() if found else _evidence("Who painted the Sistine Chapel ceiling?")
    assert evidence.found is found
    value, fields = fill_schema(schema, evidence)
    VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER).validate(value)
    if isinstance(value, dict):
        assert [field for field, _ in fields] == list(value)
    else:
        assert [field for field, _ in fields] == ["output"]


def test_fields_are_filled_from_the_evidence() -> None:
    value, fields = fill_schema(Country.model_json_schema(), _evidence())
    assert value["capital"] == "Paris"  # the value a sentence gives, not the whole answer
    assert value["population"] == 68_000_000
    assert value["currency"] == "euro"
    assert value["sources"][0]["url"] == "https://corpus.parallel-adapters.example/france"
    assert value["sources"][0]["title"] == "France"
    fill = dict(fields)
    assert fill["population"].derived
    assert "68 million" in fill["population"].passages[0].text
    assert not fill["founded_year"].derived  # no source states it: only the schema decided
    # The capital cites the one sentence that names it.
    assert [p.text for p in fill["capital"].passages] == [
        "Its capital and largest city is Paris, which lies on the river Seine."
    ]


def test_quickstart_schema_gets_reasoning_answer_and_citations() -> None:
    value, _ = fill_schema(QUICKSTART, _evidence())
    assert "Paris" in value["answer"]
    assert value["reasoning"].startswith("Extracted")
    assert value["citations"] == ["https://corpus.parallel-adapters.example/france"]


@pytest.mark.parametrize(
    "schema",
    [{"$ref": "#/$defs/missing"}, {"enum": []}, False, {"$ref": "https://example.com/s.json"}],
)
def test_unsatisfiable_schemas_are_refused(schema: Any) -> None:
    with pytest.raises(SchemaError):
        fill_schema(schema, _evidence())


# -- hypothesis: random schemas from a grammar of what callers send ------------------------

_names = st.sampled_from(["answer", "url", "title", "year", "items", "score", "note", "tags"])


def _number_schema(kind: Literal["integer", "number"]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": kind}
        low = draw(st.none() | st.integers(-50, 50))
        high = draw(st.none() | st.integers(-50, 50))
        if low is not None:
            schema[draw(st.sampled_from(["minimum", "exclusiveMinimum"]))] = low
        if high is not None:
            schema["maximum"] = max(high, (low or 0) + 2)
        if high is None and draw(st.booleans()):
            schema["multipleOf"] = draw(st.sampled_from([2, 5, 10]))
        return schema

    return build()


@st.composite
def _string_schema(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    low = draw(st.integers(0, 300))
    if draw(st.booleans()):
        schema["minLength"] = low
    if draw(st.booleans()):
        schema["maxLength"] = low + draw(st.integers(0, 50))
    if draw(st.booleans()):
        schema["format"] = draw(st.sampled_from(["uri", "date", "date-time", "email", "uuid"]))
        schema.pop("minLength", None)
        schema.pop("maxLength", None)
    return schema


_leaf = st.one_of(
    _string_schema(),
    _number_schema("integer"),
    _number_schema("number"),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(st.text("abc", min_size=1, max_size=3), min_size=1, max_size=3, unique=True).map(
        lambda options: {"enum": options}
    ),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def obj(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(_names, children, max_size=4))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        schema["required"] = [k for k in properties if draw(st.booleans())]
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arr(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 2))
        return schema

    nullable = children.map(lambda child: {"anyOf": [child, {"type": "null"}]})
    return st.one_of(obj(), arr(), nullable)


_schemas = st.recursive(_leaf, _extend, max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_schemas, grounded=st.booleans())
def test_random_schemas_get_valid_values(schema: dict[str, Any], grounded: bool) -> None:
    evidence = _evidence() if grounded else _evidence("Who painted the Sistine Chapel ceiling?")
    value, _ = fill_schema(schema, evidence)
    VALIDATOR(schema, format_checker=VALIDATOR.FORMAT_CHECKER).validate(value)
