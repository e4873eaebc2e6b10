"""Errors a client must handle: 401, 422 in FastAPI's form, 403 for an unknown model,
404/405, each arriving as the OpenAI SDK's matching exception."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import ask, body


def _post(emulator: ParallelEmulator, payload: Any, **headers: str) -> httpx.Response:
    headers.setdefault("authorization", "Bearer test-key")
    if isinstance(payload, bytes):
        return httpx.post(f"{emulator.base_url}/chat/completions", headers=headers, content=payload)
    return httpx.post(f"{emulator.base_url}/chat/completions", headers=headers, json=payload)


def test_wrong_key_is_an_authentication_error(emulator: ParallelEmulator) -> None:
    with (
        openai.OpenAI(base_url=emulator.base_url, api_key="wrong", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.chat.completions.create(model="base", messages=ask())
    assert caught.value.status_code == 401
    assert caught.value.body == {
        "ref_id": caught.value.body["ref_id"],  # type: ignore[index]
        "message": "Unauthorized: invalid or missing credentials",
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": ""},
        {"authorization": "Bearer"},
        {"authorization": "Basic test-key"},
        {"authorization": "", "x-api-key": "nope"},
    ],
    ids=["missing", "empty-bearer", "not-bearer", "wrong-x-api-key"],
)
def test_missing_or_malformed_credentials_get_401(
    emulator: ParallelEmulator, headers: dict[str, str]
) -> None:
    response = _post(emulator, body(), **headers)
    assert response.status_code == 401
    assert response.json()["type"] == "error"


def test_any_key_mode_accepts_any_non_empty_key() -> None:
    with ParallelEmulator(api_key=None) as open_door:
        accepted = httpx.post(
            f"{open_door.base_url}/chat/completions",
            headers={"authorization": "Bearer whatever"},
            json=body(),
        )
        refused = httpx.post(f"{open_door.base_url}/chat/completions", json=body())
    assert accepted.status_code == 200
    assert refused.status_code == 401


def test_validation_error_through_the_sdk(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(
            model="base",
            messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        )
    assert caught.value.status_code == 422
    assert caught.value.body == {
        "detail": [
            {
                "type": "string_type",
                "loc": ["body", "messages", 0, "content"],
                "msg": "Input should be a valid string",
                "input": [{"type": "text", "text": "hi"}],
            }
        ]
    }


INVALID_BODIES: list[tuple[str, Any, list[tuple[str, list[Any]]]]] = [
    ("no model", {"messages": ask()}, [("missing", ["body", "model"])]),
    ("no messages", {"model": "base"}, [("missing", ["body", "messages"])]),
    ("nothing", {}, [("missing", ["body", "model"]), ("missing", ["body", "messages"])]),
    ("model not a string", body(model=5), [("string_type", ["body", "model"])]),  # type: ignore[arg-type]
    (
        "messages not a list",
        {"model": "base", "messages": "hi"},
        [("list_type", ["body", "messages"])],
    ),
    (
        "unknown role",
        {"model": "base", "messages": [{"role": "tool", "content": "x"}]},
        [("literal_error", ["body", "messages", 0, "role"])],
    ),
    (
        "developer role",
        {"model": "base", "messages": [{"role": "developer", "content": "x"}]},
        [("literal_error", ["body", "messages", 0, "role"])],
    ),
    (
        "null content",
        {"model": "base", "messages": [{"role": "assistant", "content": None}]},
        [("string_type", ["body", "messages", 0, "content"])],
    ),
    (
        "no content",
        {"model": "base", "messages": [{"role": "user"}]},
        [("missing", ["body", "messages", 0, "content"])],
    ),
    (
        "message not an object",
        {"model": "base", "messages": ["hi"]},
        [("model_attributes_type", ["body", "messages", 0])],
    ),
    ("stream not boolean", body(stream="maybe"), [("bool_parsing", ["body", "stream"])]),
    (
        "unknown response_format type",
        body(response_format={"type": "xml"}),
        [("literal_error", ["body", "response_format", "type"])],
    ),
    (
        "json_schema without its schema object",
        body(response_format={"type": "json_schema"}),
        [("missing", ["body", "response_format", "json_schema"])],
    ),
    (
        "json_schema without a name",
        body(response_format={"type": "json_schema", "json_schema": {"schema": {}}}),
        [("missing", ["body", "response_format", "json_schema", "name"])],
    ),
    (
        "schema not an object",
        body(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": []}}),
        [("dict_type", ["body", "response_format", "json_schema", "schema"])],
    ),
    (
        "temperature not a number",
        body(temperature="hot"),
        [("float_parsing", ["body", "temperature"])],  # pydantic's code for a non-numeric str
    ),
    ("body is a list", [], [("model_attributes_type", ["body"])]),
    ("body is not JSON", b"{not json", [("json_invalid", ["body", 1])]),
    ("empty body", b"", [("missing", ["body"])]),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [pytest.param(p, e, id=name) for name, p, e in INVALID_BODIES],
)
def test_invalid_bodies_get_fastapi_422(
    emulator: ParallelEmulator, payload: Any, expected: list[tuple[str, list[Any]]]
) -> None:
    response = _post(emulator, payload)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [(item["type"], item["loc"]) for item in detail] == expected
    assert all(isinstance(item["msg"], str) and item["msg"] for item in detail)


def test_lax_booleans_are_accepted_like_pydantic(emulator: ParallelEmulator) -> None:
    response = _post(emulator, body(stream="false"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_unknown_model_is_forbidden_in_parallels_envelope(client: openai.OpenAI) -> None:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=ask())
    assert caught.value.status_code == 403
    error: dict[str, Any] = caught.value.body  # type: ignore[assignment]
    assert error["message"] == "Forbidden: invalid model in request"
    assert error["detail"] == {
        "model": "gpt-4o",
        "supported_models": ["speed", "lite", "base", "core"],
    }
    assert error["ref_id"].startswith("ref_")


def test_auth_is_checked_before_validation(emulator: ParallelEmulator) -> None:
    assert _post(emulator, {}, authorization="Bearer wrong").status_code == 401


def test_unknown_path_and_wrong_method(emulator: ParallelEmulator) -> None:
    # Parallel answers every error, routing ones included, in its own envelope.
    missing = httpx.post(f"{emulator.base_url}/v1/chat/completions", json=body())
    wrong_method = httpx.get(f"{emulator.base_url}/chat/completions")
    assert missing.status_code == 404
    assert missing.json()["type"] == "error"
    assert missing.json()["error"]["ref_id"].startswith("ref_")
    assert missing.json()["error"]["message"] == (
        "Not found: no endpoint at POST /v1/chat/completions"
    )
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "error"
    assert wrong_method.json()["error"]["message"] == (
        "Method not allowed: /chat/completions accepts POST, not GET"
    )
    assert wrong_method.headers["allow"] == "POST"
