"""Responses API validation: the documented rules answer 400 with their exact messages in the
OpenAI envelope; bodies of the wrong shape answer FastAPI's 422."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import responses_body

_MCP = {
    "type": "mcp",
    "server_label": "wiki",
    "server_url": "https://mcp.example/mcp",
    "require_approval": "never",
}
_FILTER_FORMAT = (
    "Expected format: plain domains (e.g., example.com, subdomain.example.gov) or bare "
    "domain extension starting with a period (e.g., .gov, .edu, .co.uk)."
)


def _post(emulator: ParallelEmulator, payload: Any) -> httpx.Response:
    return httpx.post(
        f"{emulator.base_url}/v1/responses",
        headers={"authorization": "Bearer test-key"},
        json=payload,
    )


def _search(**filters: list[str]) -> dict[str, Any]:
    return {"type": "web_search", "filters": filters}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"model": "gpt-4o"}, "The Responses API only supports model 'parallel'."),
        (
            {"background": True},
            "background mode is not supported on /v1/responses; submit long-running work via "
            "the Task API (POST /v1/tasks/runs) instead.",
        ),
        (
            {
                "input": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": "What is this?"},
                            {"type": "input_image", "image_url": "https://x.example/a.png"},
                        ],
                    }
                ]
            },
            "input contains unsupported non-text content parts: input_image (this endpoint "
            "only accepts text input today)",
        ),
        ({"input": ""}, "input must not be empty."),
        ({"input": []}, "input must not be empty."),
        (
            {"input": [{"role": "assistant", "content": "Hello"}]},
            "input must contain at least one user message.",
        ),
        (
            {"tools": [_search(), _search()]},
            "tools may contain at most one web_search tool.",
        ),
        (
            {"tools": [_search(allowed_domains=["https://example.com"])]},
            f"Invalid source filter(s) in source_policy: ['https://example.com']. {_FILTER_FORMAT}",
        ),
        (
            {"tools": [_search(allowed_domains=[f"d{n}.example" for n in range(201)])]},
            "Total number of source filters in source_policy cannot exceed 200.",
        ),
        (
            {"tools": [_search(allowed_domains=["a.gov"], blocked_domains=["a.gov"])]},
            "include_domains and exclude_domains cannot have overlapping entries.",
        ),
        (
            {"tools": [{**_MCP, "allowed_tools": []}]},
            "MCP server configuration requires either null or a non-empty list of allowed tools.",
        ),
        (
            {"tools": [{**_MCP, "server_label": f"s{n}"} for n in range(11)]},
            "Number of MCP servers provided (11) exceeds the maximum allowed limit of 10.",
        ),
        (
            {"reasoning": {"effort": "low"}, "data_sources": {"free": ["x"]}},
            "data_sources requires reasoning.effort='medium' or 'high'.",
        ),
    ],
    ids=[
        "model",
        "background",
        "non-text",
        "empty-string",
        "empty-list",
        "no-user",
        "two-web-search",
        "filter-scheme",
        "too-many-filters",
        "overlap",
        "mcp-allowed-tools",
        "eleven-mcp",
        "data-sources-low",
    ],
)
def test_documented_rules_answer_400_with_their_exact_message(
    emulator: ParallelEmulator, extra: dict[str, Any], message: str
) -> None:
    response = _post(emulator, responses_body(**extra))
    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


@pytest.mark.parametrize(
    ("tool", "detail"),
    [
        ({**_MCP, "require_approval": "always"}, "require_approval"),
        ({k: v for k, v in _MCP.items() if k != "server_url"}, "server_url"),
        ({**_MCP, "server_label": "  "}, "server_label"),
        ({**_MCP, "connector_id": "c"}, "connector_id"),
        (_search(allowed_domains="example.com"), "allowed_domains"),  # type: ignore[arg-type]
    ],
)
def test_malformed_tools_are_request_validation_errors(
    emulator: ParallelEmulator, tool: dict[str, Any], detail: str
) -> None:
    response = _post(emulator, responses_body(tools=[tool]))
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("Request validation error. ")
    assert detail in message


def test_accepted_tools_and_domain_forms(emulator: ParallelEmulator) -> None:
    search = _search(allowed_domains=["example.com", ".gov", "example.com/blog", "a.co.uk"])
    other = {"type": "function", "name": "f", "parameters": {}}
    assert _post(emulator, responses_body(tools=[search, _MCP, other])).status_code == 200


def test_model_name_is_matched_case_insensitively(emulator: ParallelEmulator) -> None:
    assert _post(emulator, responses_body(model="Parallel")).status_code == 200


def test_input_limit_counts_code_points_of_instructions_and_input(
    emulator: ParallelEmulator,
) -> None:
    # instructions + "\n" + input, in code points: 9,999 + 1 + 10,000 is exactly 20,000.
    fits = responses_body(instructions="é" * 9_999, input="🙂" * 10_000)
    over = responses_body(instructions="é" * 10_000, input="🙂" * 10_000)
    assert _post(emulator, fits).status_code == 200
    refused = _post(emulator, over)
    assert refused.status_code == 400
    assert "at most 20,000 characters" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{n}": "v" for n in range(17)},
        {"k" * 65: "v"},
        {"k": "v" * 513},
    ],
    ids=["17-keys", "long-key", "long-value"],
)
def test_metadata_over_its_limits_is_refused(
    emulator: ParallelEmulator, metadata: dict[str, str]
) -> None:
    response = _post(emulator, responses_body(metadata=metadata))
    assert response.status_code == 400
    assert "metadata" in response.json()["error"]["message"]


def test_metadata_at_its_limits_is_accepted(emulator: ParallelEmulator) -> None:
    metadata = {f"{n:02d}" + "k" * 62: "v" * 512 for n in range(16)}
    assert _post(emulator, responses_body(metadata=metadata)).status_code == 200


@pytest.mark.parametrize(
    ("payload", "loc", "kind"),
    [
        ({"model": "parallel"}, ["body", "input"], "missing"),
        ({"input": "q"}, ["body", "model"], "missing"),
        (responses_body(instructions=3), ["body", "instructions"], "string_type"),
        (
            responses_body(reasoning={"effort": "max"}),
            ["body", "reasoning", "effort"],
            "literal_error",
        ),
        (
            responses_body(input=[{"role": "robot", "content": "hi"}]),
            ["body", "input", "list[ResponseInputMessage]", 0, "role"],
            "literal_error",
        ),
        (
            responses_body(text={"format": {"type": "json_schema", "schema": {}}}),
            ["body", "text", "format", "json_schema", "name"],
            "missing",
        ),
    ],
    ids=["no-input", "no-model", "instructions-type", "effort", "role", "schema-name"],
)
def test_bodies_of_the_wrong_shape_get_fastapi_422(
    emulator: ParallelEmulator, payload: dict[str, Any], loc: list[Any], kind: str
) -> None:
    response = _post(emulator, payload)
    assert response.status_code == 422
    locs = {(tuple(item["loc"]), item["type"]) for item in response.json()["detail"]}
    assert (tuple(loc), kind) in locs


def test_invalid_json_is_a_422(emulator: ParallelEmulator) -> None:
    response = httpx.post(
        f"{emulator.base_url}/v1/responses",
        headers={"authorization": "Bearer test-key"},
        content=b'{"model": ',
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_unknown_fields_are_dropped(emulator: ParallelEmulator) -> None:
    payload = responses_body(store=True, include=["x"], some_future_field={"a": 1})
    assert _post(emulator, payload).status_code == 200


def test_sdk_raises_bad_request_for_400(emulator: ParallelEmulator) -> None:
    with (
        openai.OpenAI(base_url=f"{emulator.base_url}/v1", api_key="test-key", max_retries=0) as sdk,
        pytest.raises(openai.BadRequestError) as caught,
    ):
        sdk.responses.create(model="gpt-4o", input="q")
    assert caught.value.body == {
        "message": "The Responses API only supports model 'parallel'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }


def test_unsatisfiable_schema_is_a_400(emulator: ParallelEmulator) -> None:
    schema = {"$ref": "#/$defs/missing"}
    fmt = {"type": "json_schema", "name": "x", "schema": schema}
    response = _post(emulator, responses_body(text={"format": fmt}))
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Request validation error. ")
