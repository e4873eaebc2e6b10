"""Validation of `POST /v1/responses` bodies, as Parallel documents it.

Two layers, because the docs give two:
- the request model (pydantic, like the real FastAPI app): a body of the wrong shape
  (missing `model`/`input`, a number for `instructions`, an unknown effort, ...) gets
  FastAPI's 422 `{"detail": [{type, loc, msg, input}]}`;
- the documented rules, each with its exact message in the OpenAI envelope with status 400
  (the compatibility page's table; the OpenAPI text says 422 for `background` and
  non-text parts, the table 400: the table is the more specific source).

Rules whose wording is not documented (the 20,000-character input limit, metadata limits)
get a message in the same style; the docs' own elided parts (`[...]`) are filled with the
offending values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._responder import Effort, EmulatorRequest, Message, ResponseFormat, Turn

MAX_INPUT_CHARS = 20_000
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_MAX_FILTERS = 200
_MAX_MCP = 10
_FILTER_FORMAT = (
    "Expected format: plain domains (e.g., example.com, subdomain.example.gov) or bare "
    "domain extension starting with a period (e.g., .gov, .edu, .co.uk)."
)

ErrorItem = dict[str, Any]


class RequestRejected(Exception):
    """A documented rule refused the request: `status` and the server's `message`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _Model(BaseModel):
    # Unknown fields are dropped, "so newer OpenAI SDK versions won't break".
    model_config = ConfigDict(extra="ignore")


class _Part(_Model):
    type: str
    text: str | None = None


class ResponseInputMessage(_Model):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[_Part]
    type: Literal["message"] | None = None


class _Reasoning(_Model):
    effort: Effort | None = None


class _JSONSchemaFormat(_Model):
    type: Literal["json_schema"]
    name: str
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class _PlainFormat(_Model):
    type: Literal["text", "json_object"]


class _Text(_Model):
    format: _JSONSchemaFormat | _PlainFormat | None = Field(default=None, discriminator="type")
    verbosity: Literal["low", "medium", "high"] | None = None


class _Filters(_Model):
    allowed_domains: list[str] | None = None
    blocked_domains: list[str] | None = None


class _WebSearchTool(_Model):
    type: Literal["web_search", "web_search_2025_08_26"]
    filters: _Filters | None = None


class _McpTool(BaseModel):
    # Extra keys are checked by hand: connector_id, tunnel_id, defer_loading are refused.
    model_config = ConfigDict(extra="allow")
    type: Literal["mcp"]
    server_label: str = Field(min_length=1, pattern=r"\S")
    server_url: str
    require_approval: Literal["never"]
    allowed_tools: list[str] | None = None
    headers: dict[str, str] | None = None
    authorization: str | None = None


class _DataSources(_Model):
    free: list[str] = []
    pay_per_use: list[str] = []


class ResponsesBody(_Model):
    """The fields the endpoint reads (the rest are accepted and ignored)."""

    model: str
    input: str | list[ResponseInputMessage]
    instructions: str | None = None
    reasoning: _Reasoning | None = None
    text: _Text | None = None
    stream: bool | None = False
    previous_response_id: str | None = None
    metadata: dict[str, str] | None = None
    tools: list[dict[str, Any]] | None = None
    background: bool | None = None
    data_sources: _DataSources | None = None
    additional_data_providers: Any = None


def parse_responses_body(raw: bytes) -> ResponsesBody | list[ErrorItem]:
    """The body, or FastAPI's error items (for a 422)."""
    if not raw.strip():
        return [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
    try:
        data = json.loads(raw)
    except ValueError as error:
        item: ErrorItem = {"type": "json_invalid", "loc": ["body", getattr(error, "pos", 0)]}
        item |= {"msg": "JSON decode error", "input": {}}
        item["ctx"] = {"error": getattr(error, "msg", str(error))}
        return [item]
    try:
        return ResponsesBody.model_validate(data)
    except ValidationError as error:
        return [_fastapi_item(item) for item in error.errors(include_url=False)]


def _fastapi_item(item: Any) -> ErrorItem:
    out: ErrorItem = {
        "type": item["type"],
        "loc": ["body", *item["loc"]],
        "msg": item["msg"],
        "input": _jsonable(item.get("input")),
    }
    if item.get("ctx"):
        out["ctx"] = {k: _jsonable(v) for k, v in item["ctx"].items()}
    return out


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def check_rules(body: ResponsesBody) -> None:
    """Raise `RequestRejected` for the first documented rule the body breaks."""
    if body.model.lower() != "parallel":
        raise RequestRejected("The Responses API only supports model 'parallel'.")
    if body.background:
        raise RequestRejected(
            "background mode is not supported on /v1/responses; submit long-running work "
            "via the Task API (POST /v1/tasks/runs) instead."
        )
    if body.additional_data_providers is not None:
        raise RequestRejected(
            "Request validation error. additional_data_providers was replaced by "
            "data_sources; pass data connectors in data_sources instead."
        )
    messages = _messages(body)
    if not messages:
        raise RequestRejected("input must not be empty.")
    if not any(m.role == "user" for m in _input_part(body, messages)):
        raise RequestRejected("input must contain at least one user message.")
    # Counted as Parallel's own clients count it: instructions + "\n" + input, code points.
    size = len("\n".join(m.content for m in messages))
    if size > MAX_INPUT_CHARS:
        raise RequestRejected(
            f"input and instructions together may total at most {MAX_INPUT_CHARS:,} "
            f"characters (got {size:,})."
        )
    _check_metadata(body.metadata)
    _check_tools(body.tools or [])
    if body.data_sources is not None and _effort(body) == "low":
        raise RequestRejected("data_sources requires reasoning.effort='medium' or 'high'.")


def _effort(body: ResponsesBody) -> Effort | None:
    return body.reasoning.effort if body.reasoning else None


def _messages(body: ResponsesBody) -> tuple[Message, ...]:
    """`instructions` (as a system message) and the input, text only; refuses other parts."""
    found: list[Message] = []
    if body.instructions:
        found.append(Message("system", body.instructions))
    if isinstance(body.input, str):
        return (*found, Message("user", body.input)) if body.input.strip() else ()
    other: dict[str, None] = {}
    for message in body.input:
        if isinstance(message.content, str):
            found.append(Message(message.role, message.content))
            continue
        for part in message.content:
            if part.type not in _TEXT_PARTS:
                other[part.type] = None
        text = "".join(p.text or "" for p in message.content if p.type in _TEXT_PARTS)
        found.append(Message(message.role, text))
    if other:
        raise RequestRejected(
            f"input contains unsupported non-text content parts: {', '.join(other)} "
            "(this endpoint only accepts text input today)"
        )
    if not any(m.content.strip() for m in _input_part(body, found)):
        return ()
    return tuple(found)


def _input_part(body: ResponsesBody, messages: Sequence[Message]) -> Sequence[Message]:
    return messages[1:] if body.instructions else messages


def _check_metadata(metadata: dict[str, str] | None) -> None:
    if not metadata:
        return
    if len(metadata) > 16:
        raise RequestRejected(f"metadata may have at most 16 keys (got {len(metadata)}).")
    for key, value in metadata.items():
        if len(key) > 64:
            raise RequestRejected(f"metadata keys may be at most 64 characters: {key!r}.")
        if len(value) > 512:
            raise RequestRejected(f"metadata values may be at most 512 characters ({key!r}).")


def _check_tools(tools: list[dict[str, Any]]) -> None:
    searches = [t for t in tools if t.get("type") in ("web_search", "web_search_2025_08_26")]
    mcps = [t for t in tools if t.get("type") == "mcp"]
    if len(searches) > 1:
        raise RequestRejected("tools may contain at most one web_search tool.")
    if len(mcps) > _MAX_MCP:
        raise RequestRejected(
            f"Number of MCP servers provided ({len(mcps)}) exceeds the maximum allowed "
            f"limit of {_MAX_MCP}."
        )
    for tool in searches:
        try:
            search = _WebSearchTool.model_validate(tool)
        except ValidationError as error:
            raise RequestRejected(f"Request validation error. {_summary(error)}") from None
        if search.filters is not None:
            _check_filters(search.filters)
    for tool in mcps:
        refused = sorted({"connector_id", "tunnel_id", "defer_loading"} & set(tool))
        if refused:
            raise RequestRejected(
                f"Request validation error. mcp tools do not support {', '.join(refused)}."
            )
        try:
            mcp = _McpTool.model_validate(tool)
        except ValidationError as error:
            raise RequestRejected(f"Request validation error. {_summary(error)}") from None
        if mcp.allowed_tools == []:
            raise RequestRejected(
                "MCP server configuration requires either null or a non-empty list of "
                "allowed tools."
            )


def _check_filters(filters: _Filters) -> None:
    allowed = filters.allowed_domains or []
    blocked = filters.blocked_domains or []
    if len(allowed) + len(blocked) > _MAX_FILTERS:
        raise RequestRejected(
            f"Total number of source filters in source_policy cannot exceed {_MAX_FILTERS}."
        )
    invalid = [d for d in (*allowed, *blocked) if not _plain_domain(d)]
    if invalid:
        raise RequestRejected(
            f"Invalid source filter(s) in source_policy: {invalid}. {_FILTER_FORMAT}"
        )
    if set(allowed) & set(blocked):
        raise RequestRejected(
            "include_domains and exclude_domains cannot have overlapping entries."
        )


def _plain_domain(entry: str) -> bool:
    # A path prefix (example.com/blog) is allowed; a scheme, port, query or fragment is not.
    host = entry.split("/", 1)[0]
    return bool(host) and "://" not in entry and not any(c in entry for c in ":?#@ ")


def _summary(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in error.errors(include_url=False)
    )


def emulator_request(
    body: ResponsesBody, history: tuple[Turn, ...], raw: Mapping[str, Any]
) -> EmulatorRequest:
    """The protocol-neutral request (after `check_rules`)."""
    fmt = body.text.format if body.text else None
    response_format = None
    if isinstance(fmt, _JSONSchemaFormat):
        response_format = ResponseFormat("json_schema", fmt.schema_, fmt.name)
    # json_object "is accepted for compatibility but produces plain text".
    return EmulatorRequest(
        api="responses",
        model="parallel",
        messages=_messages(body),
        effort=_effort(body),
        response_format=response_format,
        history=history,
        body=raw,
    )


def canonical(body: ResponsesBody) -> str:
    """The request's meaning as a stable string (for ids and seeds)."""
    meaning = body.model_dump(
        mode="json",
        include={"input", "instructions", "reasoning", "text", "previous_response_id"},
        by_alias=True,
        exclude_none=True,
    )
    return json.dumps(meaning, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
