"""Emulator responses validate against Parallel's published OpenAPI schemas.

The spec (tests/testing/data/openapi_chat.json, transcribed unchanged) has one bug that
every client works around: `ChatCompletion.choices` points at the streaming `Choice`,
which requires `delta` and has no `message`, while every real client (the OpenAI SDK,
Parallel's cookbook) reads `choices[0].message`. The emulator serves `message`, so this test
validates non-streaming bodies against a copy of the spec whose `ChatCompletion.choices`
items are `MessageChoice` (index, message{role, content}, finish_reason), defined below, and
a separate test pins the bug itself.

The "documented" profile sends `object: ""` because the compatibility table says the field is
"Always empty"; the spec's `const` contradicts that, so that profile is validated with
`object` allowed to be "" as well. Everything else (FieldBasis, Citation, the chunk's `type`
constant, HTTPValidationError) is checked exactly as published.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import jsonschema
import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import body, openapi, sse_chunks

MESSAGE_CHOICE = {
    "type": "object",
    "properties": {
        "index": {"type": "integer"},
        "message": {
            "type": "object",
            "properties": {"role": {"const": "assistant"}, "content": {"type": "string"}},
            "required": ["role", "content"],
        },
        "finish_reason": {"anyOf": [{"enum": ["stop", "length"]}, {"type": "null"}]},
    },
    "required": ["index", "message"],
}


def _validator(component: str, profile: str, fix_choices: bool = True) -> jsonschema.Validator:
    spec = copy.deepcopy(openapi())
    schemas = spec["components"]["schemas"]
    if fix_choices:
        schemas["MessageChoice"] = MESSAGE_CHOICE
        schemas["ChatCompletion"]["properties"]["choices"]["items"] = {
            "$ref": "#/components/schemas/MessageChoice"
        }
    if profile == "documented":
        for name in ("ChatCompletion", "ChatCompletionResponseChunk"):
            published = schemas[name]["properties"]["object"]["const"]
            schemas[name]["properties"]["object"] = {"enum": [published, ""]}
    root = {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(root)


def _post(emulator: ParallelEmulator, payload: Any) -> httpx.Response:
    return httpx.post(
        f"{emulator.base_url}/v1beta/chat/completions",
        headers={"x-api-key": "test-key"},
        json=payload,
    )


STRUCTURED = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "schema": {
            "type": "object",
            "properties": {
                "answer": {"type": "string"},
                "sources": {"type": "array", "items": {"type": "string", "format": "uri"}},
            },
        },
    },
}


@pytest.mark.parametrize("profile", ["documented", "openai"])
@pytest.mark.parametrize("model", ["speed", "base"])
@pytest.mark.parametrize("response_format", [None, STRUCTURED], ids=["text", "json_schema"])
def test_completions_match_the_spec(
    emulator: ParallelEmulator, profile: str, model: str, response_format: Any
) -> None:
    emulator.profile = profile  # type: ignore[assignment]
    payload = body(model, response_format=response_format)
    completion = _post(emulator, payload).json()
    _validator("ChatCompletion", profile).validate(completion)
    assert isinstance(completion["interaction_id"], str)  # newer spec field, not in 0.1.2

    chunks = sse_chunks(_post(emulator, {**payload, "stream": True}).text)
    chunk_validator = _validator("ChatCompletionResponseChunk", profile)
    for chunk in chunks:
        chunk_validator.validate(chunk)
    assert chunks[-1]["basis"] == completion["basis"]


def test_basis_entries_match_fieldbasis_and_citation(emulator: ParallelEmulator) -> None:
    basis = _post(emulator, body("core", response_format=STRUCTURED)).json()["basis"]
    field_validator = _validator("FieldBasis", "openai")
    citation_validator = _validator("Citation", "openai")
    assert [entry["field"] for entry in basis] == ["answer", "sources"]
    for entry in basis:
        field_validator.validate(entry)
        for citation in entry["citations"]:
            citation_validator.validate(citation)
            assert citation["title"] and citation["excerpts"]


def test_validation_errors_match_httpvalidationerror(emulator: ParallelEmulator) -> None:
    response = _post(emulator, {"model": 1, "messages": [{"role": "robot", "content": 2}]})
    assert response.status_code == 422
    _validator("HTTPValidationError", "openai").validate(response.json())
    assert len(response.json()["detail"]) == 3


def test_the_spec_bug_non_streaming_choices_require_delta(emulator: ParallelEmulator) -> None:
    emulator.profile = "openai"
    completion = _post(emulator, body()).json()
    errors = list(_validator("ChatCompletion", "openai", fix_choices=False).iter_errors(completion))
    assert [e.message for e in errors] == ["'delta' is a required property"]
