"""The same request always gets the same bytes (apart from `created`): cassettes recorded
twice, or by two machines, agree."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import body, without_created

SCHEMA = {
    "type": "object",
    "properties": {
        "capital": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["capital", "sources"],
    "additionalProperties": False,
}
REQUESTS = {
    "text": body("base"),
    "stream": body("core", stream=True),
    "json_schema": body(
        "lite",
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": SCHEMA}},
    ),
    "unanswerable": body("base", question="Who painted the ceiling of the Sistine Chapel?"),
}


def _fetch(base_url: str, payload: dict[str, Any]) -> bytes:
    response = httpx.post(
        f"{base_url}/chat/completions",
        headers={"authorization": "Bearer test-key"},
        json=payload,
    )
    assert response.status_code == 200
    return without_created(response.content)


@pytest.mark.parametrize("profile", ["documented", "openai"])
@pytest.mark.parametrize("kind", list(REQUESTS))
def test_same_request_same_bytes(emulator: ParallelEmulator, profile: str, kind: str) -> None:
    emulator.profile = profile  # type: ignore[assignment]
    first = _fetch(emulator.base_url, REQUESTS[kind])
    emulator.reset()  # a fresh conversation memory must not matter either
    assert _fetch(emulator.base_url, REQUESTS[kind]) == first


def test_another_emulator_instance_answers_identically(emulator: ParallelEmulator) -> None:
    with ParallelEmulator() as other:
        for payload in REQUESTS.values():
            assert _fetch(other.base_url, payload) == _fetch(emulator.base_url, payload)


def test_different_questions_get_different_interaction_ids(emulator: ParallelEmulator) -> None:
    ids = {
        httpx.post(
            f"{emulator.base_url}/chat/completions",
            headers={"authorization": "Bearer test-key"},
            json=payload,
        ).json()["interaction_id"]
        for payload in (REQUESTS["text"], REQUESTS["unanswerable"], body("lite"))
    }
    assert len(ids) == 3
