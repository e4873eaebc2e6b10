"""The official `openai` SDK against the emulator: Chat and Responses, as its users call it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import EXPECTED, FRANCE, PARSE_QUESTION, QUESTION, Country


@pytest.fixture
def chat(emulator: ParallelEmulator) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=emulator.base_url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def responses(emulator: ParallelEmulator) -> Iterator[openai.OpenAI]:
    base_url = f"{emulator.base_url}/v1"
    with openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def _parse(client: openai.OpenAI) -> Any:
    """`chat.completions.parse`, or `beta.chat.completions.parse` on openai releases before it."""
    return getattr(client.chat.completions, "parse", None) or client.beta.chat.completions.parse


def _extra(model: Any) -> dict[str, Any]:
    return dict(model.model_extra or {})


def test_chat_create_answers_with_basis(chat: openai.OpenAI) -> None:
    completion = chat.chat.completions.create(
        model="base", messages=[{"role": "user", "content": QUESTION}]
    )
    assert "Paris" in (completion.choices[0].message.content or "")
    basis = _extra(completion)["basis"]
    assert FRANCE in {c["url"] for entry in basis for c in entry["citations"]}
    assert _extra(completion)["interaction_id"]


def test_chat_stream_joins_to_the_answer_with_one_interaction_id(chat: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": QUESTION}]
    whole = chat.chat.completions.create(model="base", messages=messages)
    chunks = list(chat.chat.completions.create(model="base", messages=messages, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        whole.choices[0].message.content
    )
    ids = [_extra(c)["interaction_id"] for c in chunks if _extra(c).get("interaction_id")]
    assert ids == [_extra(whole)["interaction_id"]]


def test_chat_parse_fills_the_model(chat: openai.OpenAI) -> None:
    completion = _parse(chat)(
        model="base",
        messages=[{"role": "user", "content": PARSE_QUESTION}],
        response_format=Country,
    )
    assert completion.choices[0].message.parsed == EXPECTED


def test_responses_create_cites_spans(responses: openai.OpenAI) -> None:
    response = responses.responses.create(
        model="parallel", input=QUESTION, reasoning={"effort": "low"}
    )
    text = response.output_text
    assert "Paris" in text
    annotations = response.output[-1].content[0].annotations  # type: ignore[union-attr]
    assert annotations
    for annotation in annotations:
        assert annotation.url == FRANCE  # type: ignore[union-attr]
        assert text[annotation.start_index : annotation.end_index].strip()  # type: ignore[union-attr]


def test_responses_parse_fills_the_model(responses: openai.OpenAI) -> None:
    parsed = responses.responses.parse(model="parallel", input=PARSE_QUESTION, text_format=Country)
    assert parsed.output_parsed == EXPECTED


def test_responses_stream_ends_with_the_whole_answer(responses: openai.OpenAI) -> None:
    whole = responses.responses.create(model="parallel", input=QUESTION)
    with responses.responses.stream(model="parallel", input=QUESTION) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert final.output_text == whole.output_text


def test_responses_stream_parses(responses: openai.OpenAI) -> None:
    with responses.responses.stream(
        model="parallel", input=PARSE_QUESTION, text_format=Country
    ) as stream:
        final = stream.get_final_response()
    assert final.output_parsed == EXPECTED


def test_unknown_path_is_a_typed_error_with_parallel_message(emulator: ParallelEmulator) -> None:
    with (
        openai.OpenAI(base_url=f"{emulator.base_url}/v9", api_key="k", max_retries=0) as sdk,
        pytest.raises(openai.NotFoundError, match="Not found: no endpoint at POST"),
    ):
        sdk.chat.completions.create(model="base", messages=[{"role": "user", "content": "x"}])
