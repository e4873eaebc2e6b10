"""Structured output: the schema travels as response_format, never as prompt prose."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel, Field, field_validator

from parallel_adapters import OutputParseError
from parallel_adapters.llama_index import ParallelLLM, collect_basis

Wire = Callable[[], list[dict[str, Any]]]

pytestmark = pytest.mark.vcr

PROMPT = PromptTemplate("What is the capital of {country}, and what is its population?")


class Country(BaseModel):
    """A country and its capital."""

    name: str = Field(description="The country's name")
    capital: str = Field(description="The capital city")
    population: int = Field(description="How many people live there")


def _assert_native_schema(body: dict[str, Any]) -> None:
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Country"
    assert response_format["json_schema"]["strict"] is True
    schema = response_format["json_schema"]["schema"]
    assert set(schema["properties"]) == {"name", "capital", "population"}
    text = " ".join(m["content"] for m in body["messages"])
    # LlamaIndex's text program appends "Here's a JSON schema to follow: {...}".
    assert "schema" not in text.lower()
    assert "properties" not in text
    assert body["messages"][-1] == {
        "role": "user",
        "content": "What is the capital of France, and what is its population?",
    }


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_structured_predict_sends_response_format_and_parses(
    llm: ParallelLLM, wire: Wire, profile: str
) -> None:
    with collect_basis() as calls:
        country = llm.structured_predict(Country, PROMPT, country="France")
    assert isinstance(country, Country)
    assert country.capital
    [body] = wire()
    _assert_native_schema(body)
    # One FieldBasis per top-level property, reachable through the collector.
    assert {b.field for b in calls.last.basis} == {"name", "capital", "population"}


async def test_astructured_predict(llm: ParallelLLM, wire: Wire) -> None:
    country = await llm.astructured_predict(Country, PROMPT, country="France")
    assert isinstance(country, Country)
    _assert_native_schema(wire()[0])


def test_structured_predict_applies_system_prompt(
    make_llm: Callable[..., ParallelLLM], wire: Wire
) -> None:
    make_llm("base", system_prompt="Use official sources.").structured_predict(
        Country, PROMPT, country="France"
    )
    assert wire()[0]["messages"][0] == {"role": "system", "content": "Use official sources."}


def test_as_structured_llm_chat(llm: ParallelLLM, wire: Wire) -> None:
    structured = llm.as_structured_llm(Country)
    response = structured.chat(
        [
            ChatMessage(
                role=MessageRole.USER,
                content="What is the capital of France, and what is its population?",
            )
        ]
    )
    assert isinstance(response.raw, Country)
    assert Country.model_validate_json(response.message.content or "") == response.raw
    _assert_native_schema(wire()[0])


def test_stream_structured_predict_ends_with_the_validated_object(
    llm: ParallelLLM, wire: Wire
) -> None:
    partials = list(llm.stream_structured_predict(Country, PROMPT, country="France"))
    assert len(partials) > 1, "partial objects arrive while the JSON streams"
    assert isinstance(partials[-1], Country)
    assert not isinstance(partials[0], Country), "early partials are incomplete"
    body = wire()[0]
    assert body["stream"] is True
    _assert_native_schema(body)


async def test_astream_structured_predict(llm: ParallelLLM) -> None:
    stream = await llm.astream_structured_predict(Country, PROMPT, country="France")
    partials = [partial async for partial in stream]
    assert isinstance(partials[-1], Country)


class StrictCountry(Country):
    """The server's JSON satisfies the schema, but not this validator (not in the schema)."""

    @field_validator("capital")
    @classmethod
    def _never(cls, value: str) -> str:
        raise ValueError("capital rejected")


def test_parse_failure_raises_output_parse_error(llm: ParallelLLM) -> None:
    with pytest.raises(OutputParseError) as raised:
        llm.structured_predict(StrictCountry, PROMPT, country="France")
    assert '"capital"' in raised.value.text, "the unparsed answer comes with the error"


def test_llm_program_mode_keeps_llamaindex_text_program(
    make_llm: Callable[..., ParallelLLM], wire: Wire
) -> None:
    """Opting out (pydantic_program_mode=LLM) gives LlamaIndex's own prompt-based program."""
    llm = make_llm("base", pydantic_program_mode=PydanticProgramMode.LLM)
    with pytest.raises(ValueError, match=r"Could not extract json|Could not parse"):
        # The emulator answers that prompt in prose, which the text program cannot parse.
        llm.structured_predict(Country, PROMPT, country="France")
    body = wire()[0]
    assert "response_format" not in body
    assert "schema" in body["messages"][-1]["content"].lower()
