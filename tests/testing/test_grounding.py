"""Answers are grounded: extracted from the corpus, cited with the excerpts used, with a
confidence that follows retrieval, and an honest "not found" when nothing matches."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from parallel_adapters.testing import CorpusPage, ParallelEmulator, load_default_corpus

from .support import UNANSWERABLE, ask

DEMO_QUESTIONS = [
    "What is the capital of France?",
    "What does Parallel Web Systems do?",
    "Which models does the Parallel Chat API offer?",
    "What is the research basis in a Parallel response?",
    "What is DSPy?",
    "What is LlamaIndex?",
    "Who invented the World Wide Web?",
    "What does HTTP status 429 mean?",
    "How does BM25 rank documents?",
    "What is retrieval-augmented generation?",
]


def _basis(completion: Any) -> list[dict[str, Any]]:
    basis: list[dict[str, Any]] = (completion.model_extra or {})["basis"]
    return basis


@pytest.mark.parametrize("question", DEMO_QUESTIONS)
def test_answer_is_exactly_the_cited_excerpts(client: openai.OpenAI, question: str) -> None:
    completion = client.chat.completions.create(model="core", messages=ask(question))
    [entry] = _basis(completion)
    pages = {page.url: page for page in load_default_corpus()}

    excerpts = [e for citation in entry["citations"] for e in citation["excerpts"]]
    assert completion.choices[0].message.content == " ".join(excerpts)
    for citation in entry["citations"]:
        page = pages[citation["url"]]
        assert citation["title"] == page.title
        assert all(excerpt in page.sentences for excerpt in citation["excerpts"])
    assert entry["confidence"] in ("high", "medium")


def test_unanswerable_question_says_so_with_low_confidence(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="base", messages=ask(UNANSWERABLE))
    [entry] = _basis(completion)
    assert (completion.choices[0].message.content or "").startswith("I could not find")
    assert entry["citations"] == []
    assert entry["confidence"] == "low"


def test_confidence_follows_how_much_of_the_question_matched(client: openai.OpenAI) -> None:
    direct = client.chat.completions.create(
        model="base", messages=ask("What is the capital of Kenya?")
    )
    vague = client.chat.completions.create(
        model="base", messages=ask("What is the capital city of Kenya and its motto?")
    )
    assert _basis(direct)[0]["confidence"] == "high"
    assert _basis(vague)[0]["confidence"] in ("medium", "low")
    assert "Nairobi" in (vague.choices[0].message.content or "")


def test_deeper_models_cite_more(client: openai.OpenAI) -> None:
    question = ask("What is the capital of France?")
    speed = client.chat.completions.create(model="speed", messages=question)
    core = client.chat.completions.create(model="core", messages=question)
    assert len(speed.choices[0].message.content or "") < len(core.choices[0].message.content or "")


def test_json_schema_answer_has_one_basis_entry_per_field(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "capital": {"type": "string"},
            "population": {"type": "integer"},
            "source_url": {"type": "string", "format": "uri"},
        },
        "required": ["capital", "population", "source_url"],
        "additionalProperties": False,
    }
    completion = client.chat.completions.create(
        model="base",
        messages=ask("What is the capital and the population of France?"),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "country", "schema": schema, "strict": True},
        },
    )
    value = json.loads(completion.choices[0].message.content or "")
    basis = _basis(completion)

    assert set(value) == {"capital", "population", "source_url"}
    assert value["population"] == 68_000_000
    assert [entry["field"] for entry in basis] == ["capital", "population", "source_url"]
    cited = {entry["field"]: {c["url"] for c in entry["citations"]} for entry in basis}
    assert cited["source_url"] == {value["source_url"]}
    population_excerpts = basis[1]["citations"][0]["excerpts"]
    assert any("68 million" in excerpt for excerpt in population_excerpts)


def test_json_object_answer(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="lite", messages=ask(), response_format={"type": "json_object"}
    )
    value = json.loads(completion.choices[0].message.content or "")
    assert list(value) == ["answer"]
    assert "Paris" in value["answer"]
    assert [entry["field"] for entry in _basis(completion)] == ["answer"]


def test_speed_structured_answer_has_no_basis(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="speed", messages=ask(), response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content or "")["answer"]
    assert _basis(completion) == []


def test_broken_schema_reference_is_a_422(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(
            model="base",
            messages=ask(),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"$ref": "#/$defs/Nowhere"}},
            },
        )
    [item] = caught.value.body["detail"]  # type: ignore[index]
    assert item["loc"] == ["body", "response_format", "json_schema", "schema"]


def test_custom_corpus() -> None:
    page = CorpusPage(
        url="https://docs.example.com/widgets",
        title="Widgets",
        text="Widgets are blue. Every widget has three gears.",
    )
    with (
        ParallelEmulator(corpus=[page]) as emulator,
        openai.OpenAI(base_url=emulator.base_url, api_key="test-key") as sdk,
    ):
        completion = sdk.chat.completions.create(
            model="lite", messages=ask("How many gears does a widget have?")
        )
    assert completion.choices[0].message.content == "Every widget has three gears."
    assert _basis(completion)[0]["citations"][0]["url"] == page.url
