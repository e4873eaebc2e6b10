"""Reading every body and chunk shape that public sources show (research note, §1-2)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from parallel_adapters import OutputParseError, ServerError
from parallel_adapters._core import StreamAccumulator, completion_from_body, shape_request

REQUEST = shape_request("q", model="base")
BASIS = [
    {
        "field": "output",
        "reasoning": "Two sources agree.",
        "citations": [{"url": "https://a.example", "title": "A", "excerpts": ["alpha"]}],
        "confidence": "high",
    }
]


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "",
        "object": "",
        "created": 1764043410,
        "model": "",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Answer."},
                "finish_reason": None,
            }
        ],
        "basis": BASIS,
        "interaction_id": "int_1",
    }
    body.update(overrides)
    return body


def test_documented_body_blank_fields_become_none_and_model_falls_back() -> None:
    completion = completion_from_body(_body(), REQUEST)
    assert completion.text == "Answer." == str(completion)
    assert completion.id is None
    assert completion.model == "base"
    assert completion.finish_reason is None
    assert completion.usage is None
    assert completion.created == 1764043410
    assert completion.interaction_id == "int_1"
    assert completion.basis[0].reasoning == "Two sources agree."
    assert [c.url for c in completion.citations] == ["https://a.example"]
    assert completion.raw["basis"] == BASIS


def test_spec_example_with_delta_instead_of_message() -> None:
    body = _body(
        choices=[{"index": 0, "delta": {"content": "From delta."}, "finish_reason": "stop"}]
    )
    completion = completion_from_body(body, REQUEST)
    assert completion.text == "From delta."
    assert completion.finish_reason == "stop"


def test_openai_shaped_mock_with_usage_and_answer_field() -> None:
    body = {
        "id": "chatcmpl-789",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "core",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "grounded"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        "basis": [
            {
                "field": "answer",
                "citations": [
                    {"url": "https://example.com/a", "excerpts": ["one"]},
                    {"url": "https://example.com/b"},
                ],
                "reasoning": "compared both sources",
                "confidence": "high",
            }
        ],
    }
    completion = completion_from_body(body, shape_request("q", model="core"))
    assert completion.id == "chatcmpl-789"
    assert completion.model == "core"
    assert completion.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert completion.interaction_id is None
    assert [c.url for c in completion.citations] == [
        "https://example.com/a",
        "https://example.com/b",
    ]


@pytest.mark.parametrize("finish_reason", [None, "", "stop"])
def test_finish_reason_variants(finish_reason: Any) -> None:
    body = _body()
    body["choices"][0]["finish_reason"] = finish_reason
    assert completion_from_body(body, REQUEST).finish_reason == (finish_reason or None)


def test_missing_optional_fields_and_basis() -> None:
    body = {"choices": [{"message": {"content": "speedy"}}]}
    completion = completion_from_body(body, shape_request("q", model="speed"))
    assert (completion.text, completion.model, completion.basis, completion.citations) == (
        "speedy",
        "speed",
        [],
        [],
    )
    assert (
        completion.id is None and completion.created is None and completion.interaction_id is None
    )


def test_a_body_without_choices_is_a_server_error_not_an_empty_answer() -> None:
    with pytest.raises(ServerError, match="no choices"):
        completion_from_body({"id": "x", "choices": []}, REQUEST)
    with pytest.raises(ServerError):
        completion_from_body(["not", "an", "object"], REQUEST)


class Answer(BaseModel):
    answer: str


def test_parsed_output_and_parse_failure_keeps_the_text() -> None:
    request = shape_request("q", model="base", response_format=Answer)
    ok = _body(choices=[{"message": {"content": '{"answer": "42"}'}}])
    assert completion_from_body(ok, request).parsed == Answer(answer="42")
    bad = _body(choices=[{"message": {"content": "forty-two"}}])
    with pytest.raises(OutputParseError) as caught:
        completion_from_body(bad, request)
    assert caught.value.text == "forty-two"


def test_json_helper() -> None:
    completion = completion_from_body(
        _body(choices=[{"message": {"content": '{"a": 1}'}}]), REQUEST
    )
    assert completion.json() == {"a": 1}
    with pytest.raises(OutputParseError):
        completion_from_body(_body(), REQUEST).json()


def _chunk(content: str | None, **extra: Any) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "type": "chat.completion.chunk",
        "id": "",
        "object": "",
        "model": "",
        "created": 5,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }
    chunk.update(extra)
    return chunk


def test_stream_takes_basis_and_interaction_id_from_the_last_chunk_that_has_them() -> None:
    accumulator = StreamAccumulator(REQUEST)
    deltas = [
        accumulator.add(_chunk(None, choices=[{"index": 0, "delta": {"role": "assistant"}}])),
        accumulator.add(_chunk("Hel", interaction_id="int_early")),
        accumulator.add(_chunk("lo", basis=BASIS, interaction_id="int_9")),
        accumulator.add(_chunk(None, basis=[], interaction_id="")),
    ]
    assert deltas == ["", "Hel", "lo", ""]
    completion = accumulator.finish()
    assert completion.text == "Hello"
    assert completion.interaction_id == "int_9"
    assert completion.basis[0].field == "output"
    assert completion.model == "base"
    # raw is shaped like a whole body, so code reading raw has one path.
    assert completion.raw["choices"][0]["message"]["content"] == "Hello"
    assert completion.raw["basis"] == BASIS


def test_stream_finish_reason_and_usage_on_the_final_chunk() -> None:
    accumulator = StreamAccumulator(REQUEST)
    accumulator.add(_chunk("a"))
    final = _chunk(".", model="base", usage={"total_tokens": 3})
    final["choices"][0]["finish_reason"] = "stop"
    accumulator.add(final)
    completion = accumulator.finish()
    assert (completion.text, completion.finish_reason, completion.usage) == (
        "a.",
        "stop",
        {"total_tokens": 3},
    )


def test_non_dict_chunks_are_ignored() -> None:
    accumulator = StreamAccumulator(REQUEST)
    assert accumulator.add("garbage") == ""
    assert accumulator.add(_chunk("x")) == "x"
    assert accumulator.finish().text == "x"


def test_parsed_as_returns_the_parsed_model_or_validates_the_text() -> None:
    from pydantic import BaseModel

    from parallel_adapters import Completion, OutputParseError

    class City(BaseModel):
        name: str

    parsed = City(name="Paris")
    assert Completion(text="{}", model="base", parsed=parsed).parsed_as(City) is parsed
    # Asked with a dict schema: no class was known, the text is validated now.
    assert Completion(text='{"name": "Lima"}', model="base").parsed_as(City) == City(name="Lima")
    with pytest.raises(OutputParseError):
        Completion(text="Lima", model="base").parsed_as(City)
