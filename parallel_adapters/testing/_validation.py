"""Request validation with FastAPI's 422 body: `{"detail": [{type, loc, msg, input}]}`.

The real endpoint is a FastAPI app (its spec's only documented error is FastAPI's
HTTPValidationError), so bodies are validated by a pydantic request model and invalid ones
get its error items: `type` codes and messages, `loc` starting with "body", every error at
once in field order. The `response_format` union is discriminated by `type` and its errors
are reported without the tag pydantic puts in `loc`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from ._responder import Message, ResponseFormat

MODELS = ("speed", "lite", "base", "core")


@dataclass(frozen=True)
class ChatRequest:
    """A validated request: only what the emulator reads (the API ignores the rest)."""

    model: str
    messages: tuple[Message, ...]
    stream: bool
    response_format: ResponseFormat | None
    previous_interaction_id: str | None

    def canonical(self) -> str:
        """The request's meaning as a stable string (for ids, caching and seeds)."""
        return json.dumps(
            {
                "model": self.model,
                "messages": [[m.role, m.content, m.name] for m in self.messages],
                "response_format": self.response_format and self.response_format.canonical(),
                "previous_interaction_id": self.previous_interaction_id,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )


ErrorItem = dict[str, Any]


class _Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str
    name: str | None = None


class _JSONSchema(BaseModel):
    name: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None


class _TextFormat(BaseModel):
    type: Literal["text"]


class _JSONObjectFormat(BaseModel):
    type: Literal["json_object"]


class _JSONSchemaFormat(BaseModel):
    type: Literal["json_schema"]
    json_schema: _JSONSchema


class _ChatBody(BaseModel):
    """The request model: what the API validates (ignored parameters included)."""

    model: str
    messages: list[_Message]
    stream: bool | None = None
    response_format: (
        Annotated[
            _TextFormat | _JSONSchemaFormat | _JSONObjectFormat,
            Field(discriminator="type"),
        ]
        | None
    ) = None
    max_tokens: int | None = None
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    previous_interaction_id: str | None = None


def parse_chat_request(raw: bytes) -> ChatRequest | list[ErrorItem]:
    """The validated request, or the list of FastAPI-style error items."""
    try:
        return _parse_chat_request(raw)
    except RecursionError:
        # JSON (or a schema inside it) nested past what the parser can walk: a client
        # error, not a 500.
        return [_error("json_invalid", [], "JSON decode error", {}, {"error": "nested too deeply"})]


def _parse_chat_request(raw: bytes) -> ChatRequest | list[ErrorItem]:
    if not raw.strip():
        return [_error("missing", [], "Field required", None)]
    try:
        data = json.loads(raw)
    except ValueError as error:
        position = getattr(error, "pos", 0)
        reason = getattr(error, "msg", str(error))
        return [_error("json_invalid", [position], "JSON decode error", {}, {"error": reason})]
    try:
        # from_attributes: FastAPI's way, hence "model_attributes_type" for non-objects.
        body = _ChatBody.model_validate(data, from_attributes=True)
    except ValidationError as error:
        return [_fastapi_item(item) for item in error.errors(include_url=False)]
    fmt = body.response_format
    response_format = None
    if isinstance(fmt, _JSONSchemaFormat):
        spec = fmt.json_schema
        response_format = ResponseFormat("json_schema", spec.schema_, spec.name)
    elif fmt is not None:
        response_format = ResponseFormat(fmt.type)
    return ChatRequest(
        model=body.model,
        messages=tuple(Message(m.role, m.content, m.name) for m in body.messages),
        stream=bool(body.stream),
        response_format=response_format,
        previous_interaction_id=body.previous_interaction_id,
    )


_EXPECTED_FORMATS = "'text', 'json_schema' or 'json_object'"


def _fastapi_item(item: Any) -> ErrorItem:
    """pydantic's error as FastAPI reports it, with `response_format`'s union simplified:
    no tag in `loc`, and a bad or missing tag reported on the `type` field."""
    loc = list(item["loc"])
    if loc[:1] == ["response_format"] and len(loc) > 1:
        del loc[1]  # the union tag pydantic inserts
    kind, msg, value, ctx = item["type"], item["msg"], item.get("input"), item.get("ctx")
    if kind == "union_tag_invalid":
        kind, msg, loc = "literal_error", f"Input should be {_EXPECTED_FORMATS}", [*loc, "type"]
        value, ctx = (ctx or {}).get("tag"), {"expected": _EXPECTED_FORMATS}
    elif kind == "union_tag_not_found":
        kind, msg, ctx, loc = "missing", "Field required", None, [*loc, "type"]
    return _error(kind, loc, msg, value, ctx)


def _error(
    kind: str, loc: list[str | int], msg: str, value: Any, ctx: dict[str, Any] | None = None
) -> ErrorItem:
    item: ErrorItem = {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = {k: v if isinstance(v, (str, int, float)) else str(v) for k, v in ctx.items()}
    return item
