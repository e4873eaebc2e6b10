"""shape_request: what is sent, what is dropped, what is refused before any I/O."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from pydantic import BaseModel

from parallel_adapters import InputError
from parallel_adapters._core import _request, normalize_response_format, shape_request


class Company(BaseModel):
    name: str
    founded: int


def test_body_has_model_messages_and_nothing_the_api_ignores() -> None:
    request = shape_request(
        "Hi",
        model="lite",
        temperature=0.1,
        max_tokens=10,
        max_completion_tokens=5,
        top_p=0.9,
        seed=1,
        logprobs=True,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        user="u",
        n=1,
    )
    assert request.body == {"model": "lite", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.mark.parametrize("model", ["gpt-4o", "ultra-9000", "SPEED", "openai/gpt-4o"])
def test_an_unknown_model_is_refused_naming_the_models(model: str) -> None:
    with pytest.raises(InputError) as caught:
        shape_request("x", model=model)
    message = str(caught.value)
    assert repr(model) in message
    assert "speed, lite, base, core" in message


def test_response_format_on_speed_is_sent_with_a_warning_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from parallel_adapters._core import _request

    monkeypatch.setattr(_request, "_warned", set())
    schema = {"type": "object", "properties": {"year": {"type": "integer"}}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = shape_request("x", model="speed", response_format=schema)
        shape_request("y", model="speed", response_format=schema)
    assert [str(w.message) for w in caught if "no basis" in str(w.message)] == [
        str(caught[0].message)
    ]
    assert "'speed' returns no basis" in str(caught[0].message)
    # Parallel's docs mark response_format fully supported and use it on speed.
    assert first.body["response_format"]["type"] == "json_schema"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shape_request("x", model="base", response_format=schema)
        monkeypatch.setattr(_request, "_warned", set())
        shape_request("x", model="speed")


def test_stream_previous_interaction_and_extra_body() -> None:
    request = shape_request(
        "x", model="base", stream=True, previous_interaction_id="int_1", extra_body={"beta": 1}
    )
    assert request.body["stream"] is True
    assert request.body["previous_interaction_id"] == "int_1"
    assert request.body["beta"] == 1
    assert request.stream and request.model == "base"


@pytest.mark.parametrize("param", ["stop", "tools", "tool_choice"])
def test_meaningful_ignored_params_warn_once_per_process(
    param: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_request, "_warned", set())
    with pytest.warns(UserWarning, match=param):
        body = shape_request("x", model="speed", **{param: ["END"]}).body
    assert param not in body
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shape_request("x", model="speed", **{param: ["END"]})


def test_n_above_one_and_unknown_params_are_refused() -> None:
    with pytest.raises(InputError, match="n=3"):
        shape_request("x", model="speed", n=3)
    with pytest.raises(InputError, match="temprature"):
        shape_request("x", model="speed", temprature=0.2)
    with pytest.raises(InputError, match="model"):
        shape_request("x", model="")
    with pytest.raises(InputError, match="previous_interaction_id"):
        shape_request("x", model="speed", previous_interaction_id=5)  # type: ignore[arg-type]


_SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {
                "type": "json_schema",
                "json_schema": {"name": "s", "schema": _SCHEMA, "strict": True},
            },
            {
                "type": "json_schema",
                "json_schema": {"name": "s", "schema": _SCHEMA, "strict": True},
            },
        ),
        (
            {
                "type": "json_schema",
                "name": "DSPyProgramOutputs",
                "schema": _SCHEMA,
                "strict": True,
            },
            {
                "type": "json_schema",
                "json_schema": {"name": "DSPyProgramOutputs", "schema": _SCHEMA, "strict": True},
            },
        ),
        (_SCHEMA, {"type": "json_schema", "json_schema": {"name": "response", "schema": _SCHEMA}}),
        (
            {**_SCHEMA, "title": "My Answer"},
            {
                "type": "json_schema",
                "json_schema": {"name": "My_Answer", "schema": {**_SCHEMA, "title": "My Answer"}},
            },
        ),
        ({"type": "json_object"}, {"type": "json_object"}),
        ({"type": "text"}, {"type": "text"}),
    ],
)
def test_response_formats_normalize_to_openai_wire_form(given: Any, expected: Any) -> None:
    wire, model = normalize_response_format(given)
    assert wire == expected
    assert model is None
    assert (
        shape_request("x", model="base", response_format=given).body["response_format"] == expected
    )


def test_pydantic_class_becomes_a_strict_schema_and_is_remembered_for_parsing() -> None:
    request = shape_request("x", model="base", response_format=Company)
    wire = request.body["response_format"]
    assert wire["type"] == "json_schema"
    assert wire["json_schema"]["name"] == "Company"
    assert wire["json_schema"]["strict"] is True
    assert set(wire["json_schema"]["schema"]["properties"]) == {"name", "founded"}
    assert request.output_model is Company


@pytest.mark.parametrize(
    "bad",
    [
        "json",
        {},
        {"type": "xml"},
        {"type": "json_schema"},
        {"type": "json_schema", "json_schema": {"name": "s", "schema": "not a schema"}},
        int,
    ],
)
def test_bad_response_formats_raise_input_error(bad: Any) -> None:
    with pytest.raises(InputError):
        shape_request("x", model="base", response_format=bad)
