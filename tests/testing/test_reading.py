"""The default research responder reads a request as a user means it (issue 24): possessives,
contractions and instruction words are not topic terms, structured fields get the value the
evidence supports, follow-ups resolve against earlier turns, and json_object answers with the
keys the prompt names."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from parallel_adapters.testing import EmulatorRequest, Message, ResponseFormat
from parallel_adapters.testing._research import ResearchResponder
from parallel_adapters.testing._research._evidence import NOT_FOUND_ANSWER

from .support import ask

_RESPONDER = ResearchResponder()


class Country(BaseModel):
    capital: str
    population: int


class Founder(BaseModel):
    name: str
    company: str


def _parse(client: openai.OpenAI) -> Any:
    """`chat.completions.parse`, or `beta.chat.completions.parse` on openai releases before it."""
    return getattr(client.chat.completions, "parse", None) or client.beta.chat.completions.parse


def _basis(completion: Any) -> list[dict[str, Any]]:
    return list((completion.model_extra or {})["basis"])


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("France's capital and population?", "Paris"),
        ("Who's the founder of DSPy?", "Omar Khattab"),
        ("What's Japan's capital?", "Tokyo"),
    ],
)
def test_possessives_and_contractions_are_not_terms(
    client: openai.OpenAI, question: str, expected: str
) -> None:
    completion = client.chat.completions.create(model="base", messages=ask(question))
    assert expected in (completion.choices[0].message.content or "")


@pytest.mark.parametrize(
    "question",
    [
        "Answer briefly: what is the capital of France?",
        "What is the capital of France? Answer in one sentence.",
        "Return the capital of France as JSON.",
        "Respond concisely, in a few words: what is the capital of France?",
    ],
)
def test_instruction_words_are_not_terms(client: openai.OpenAI, question: str) -> None:
    completion = client.chat.completions.create(model="base", messages=ask(question))
    text = completion.choices[0].message.content or ""
    assert NOT_FOUND_ANSWER not in text
    assert "Paris" in text


def test_format_words_still_count_when_they_are_the_topic(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="base", messages=ask("What is JSON Schema?"))
    assert "JSON Schema" in (completion.choices[0].message.content or "")


def test_structured_fields_get_the_value_and_cite_it(responses_client: openai.OpenAI) -> None:
    parsed = responses_client.responses.parse(
        model="parallel", input="France's capital and population?", text_format=Country
    )
    assert parsed.output_parsed == Country(capital="Paris", population=68_000_000)
    text = parsed.output_text
    spans = {
        text[a.start_index : a.end_index]
        for a in parsed.output[-1].content[0].annotations  # type: ignore[union-attr]
    }
    assert '"Paris"' in spans or "Paris" in spans


def test_structured_fields_differ_per_field(client: openai.OpenAI) -> None:
    completion = _parse(client)(
        model="base", messages=ask("Who's the founder of DSPy?"), response_format=Founder
    )
    founder = completion.choices[0].message.parsed
    assert founder is not None
    assert founder.name == "Omar Khattab"
    assert founder.company != founder.name
    basis = {entry["field"]: entry for entry in _basis(completion)}
    excerpts = [e for c in basis["name"]["citations"] for e in c["excerpts"]]
    assert excerpts and all("Omar Khattab" in e for e in excerpts)


def test_chat_follow_up_resolves_against_earlier_turns(client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "What is its population?"},
    ]
    completion = client.chat.completions.create(model="base", messages=messages)
    text = completion.choices[0].message.content or ""
    assert "68 million" in text
    assert "Japan" not in text and "Brazil" not in text
    urls = {c["url"] for entry in _basis(completion) for c in entry["citations"]}
    assert urls == {"https://corpus.parallel-adapters.example/france"}


@pytest.mark.parametrize(
    ("first", "follow_up", "expected", "elsewhere"),
    [
        ("What is the capital of France?", "What is its population?", "68 million", "Japan"),
        ("Tell me about Germany.", "What is its capital?", "Berlin", "Paris"),
    ],
)
def test_responses_follow_up_resolves_against_earlier_input(
    responses_client: openai.OpenAI, first: str, follow_up: str, expected: str, elsewhere: str
) -> None:
    response = responses_client.responses.create(
        model="parallel",
        input=[
            {"role": "user", "content": first},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": follow_up},
        ],
    )
    assert expected in response.output_text
    assert elsewhere not in response.output_text


def test_a_question_naming_its_subject_ignores_earlier_turns(client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "What is it that DSPy optimizers compile?"},
    ]
    completion = client.chat.completions.create(model="base", messages=messages)
    text = completion.choices[0].message.content or ""
    assert "Optimizers compile a program" in text
    assert "France" not in text


def test_json_object_returns_the_keys_the_prompt_names(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="base",
        messages=ask(
            "What are the capital and population of France? "
            "Return a JSON object with the keys `capital` and `population`."
        ),
        response_format={"type": "json_object"},
    )
    answer = json.loads(completion.choices[0].message.content or "")
    assert set(answer) == {"capital", "population"}
    assert answer["capital"] == "Paris"
    assert answer["population"] == 68_000_000  # a number, as a model would write it
    assert "Berlin" not in completion.choices[0].message.content  # type: ignore[operator]


def test_json_object_keeps_answer_when_the_prompt_names_no_keys(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="base", messages=ask(), response_format={"type": "json_object"}
    )
    answer = json.loads(completion.choices[0].message.content or "")
    assert list(answer) == ["answer"]
    assert "Paris" in answer["answer"]
    assert "Berlin" not in answer["answer"]


def test_an_embedded_json_schema_is_filled(client: openai.OpenAI) -> None:
    schema = Country.model_json_schema()
    prompt = (
        "What are the capital and population of France?\n\n"
        f"Here's a JSON schema to follow:\n{json.dumps(schema)}\n\n"
        "Output a valid JSON object but do not repeat the schema."
    )
    completion = client.chat.completions.create(model="base", messages=ask(prompt))
    assert Country.model_validate_json(completion.choices[0].message.content or "") == Country(
        capital="Paris", population=68_000_000
    )


def test_a_json_example_is_filled_in_its_shape(client: openai.OpenAI) -> None:
    prompt = (
        "What is the capital of Japan?\n"
        'Reply with JSON like this example: {"capital": "Canberra", "population": 27000000}'
    )
    completion = client.chat.completions.create(model="base", messages=ask(prompt))
    assert json.loads(completion.choices[0].message.content or "") == {
        "capital": "Tokyo",
        "population": 124_000_000,
    }


def test_a_numbered_choice_is_picked_with_a_reason(client: openai.OpenAI) -> None:
    prompt = (
        "Choices:\n(1) Facts about the Moon and the Solar System\n"
        "(2) Facts about countries such as France and Japan\n"
        "Which choice is most relevant to the question 'What is the capital of France?' "
        'Answer with JSON in this format: [{"choice": 1, "reason": "<why>"}]'
    )
    completion = client.chat.completions.create(model="base", messages=ask(prompt))
    [picked] = json.loads(completion.choices[0].message.content or "")
    assert picked["choice"] == 2
    assert "France" in picked["reason"]


@pytest.mark.parametrize("model", ["lite", "base", "core"])
def test_a_sentence_about_another_country_is_not_stitched_on(
    client: openai.OpenAI, model: str
) -> None:
    completion = client.chat.completions.create(
        model=model,
        messages=ask("What is the capital city of France?"),
        response_format={"type": "json_object"},
    )
    answer = json.loads(completion.choices[0].message.content or "")["answer"]
    assert "Paris" in answer
    assert "Berlin" not in answer and "Nairobi" not in answer


_COUNTRIES = ["France", "Germany", "Japan", "Australia", "Canada", "Brazil", "Kenya", "India"]
_FIELDS = ["capital", "currency", "language", "population", "founder", "continent"]


@settings(max_examples=60, deadline=None)
@given(country=st.sampled_from(_COUNTRIES), field=st.sampled_from(_FIELDS))
def test_a_field_value_is_a_span_of_the_sentence_it_cites(country: str, field: str) -> None:
    schema = {
        "type": "object",
        "properties": {field: {"type": "string"}},
        "required": [field],
        "additionalProperties": False,
    }
    answer = _RESPONDER(
        EmulatorRequest(
            "chat",
            "base",
            (Message("user", f"What is the {field} of {country}?"),),
            response_format=ResponseFormat("json_schema", schema=schema),
        )
    )
    value = json.loads(answer.text)[field]
    [entry] = answer.basis
    excerpts = [e for citation in entry.citations for e in citation.excerpts]
    if excerpts:
        # A value is a span of the sentence it cites; when no sentence gives one, the field
        # holds the extractive answer: exactly the cited sentences.
        assert any(value in excerpt for excerpt in excerpts) or value == " ".join(excerpts)
