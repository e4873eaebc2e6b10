"""Request validation with FastAPI's 422 body: `{"detail": [{type, loc, msg, input}]}`.

The real endpoint is a FastAPI app (its spec's only documented error is FastAPI's
HTTPValidationError), so invalid bodies get pydantic v2's error items: the same `type`
codes and messages, `loc` starting with "body", every error at once in field order.
Union errors (`response_format`) are simplified to one error for the variant the `type`
names, instead of pydantic's one-error-per-variant listing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ROLES = ("system", "user", "assistant")
ResponseFormatType = Literal["text", "json_object", "json_schema"]
_FORMAT_TYPES = ("text", "json_schema", "json_object")
_OPTIONAL_INTS = ("max_tokens", "n")
_OPTIONAL_NUMBERS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


@dataclass(frozen=True)
class Message:
    role: str
    content: str
    name: str | None = None


@dataclass(frozen=True)
class ResponseFormat:
    type: ResponseFormatType
    schema: Mapping[str, Any] | None = None
    name: str | None = None

    def canonical(self) -> dict[str, Any]:
        return {"type": self.type, "schema": self.schema, "name": self.name}


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
        body = json.loads(raw)
    except ValueError as error:
        position = getattr(error, "pos", 0)
        reason = getattr(error, "msg", str(error))
        return [_error("json_invalid", [position], "JSON decode error", {}, {"error": reason})]
    if not isinstance(body, dict):
        return [_error("model_attributes_type", [], _DICT_MSG, body)]
    errors: list[ErrorItem] = []
    model = _required_string(body, "model", [], errors)
    messages = _messages(body, errors)
    stream = _optional_bool(body, "stream", errors)
    response_format = _response_format(body.get("response_format"), errors)
    for key in _OPTIONAL_INTS:
        _optional_number(body, key, errors, integer=True)
    for key in _OPTIONAL_NUMBERS:
        _optional_number(body, key, errors, integer=False)
    previous = body.get("previous_interaction_id")
    if previous is not None and not isinstance(previous, str):
        errors.append(_error("string_type", ["previous_interaction_id"], _STR_MSG, previous))
    if errors:
        return errors
    assert model is not None and messages is not None
    return ChatRequest(
        model=model,
        messages=messages,
        stream=bool(stream),
        response_format=response_format,
        previous_interaction_id=previous,
    )


_DICT_MSG = "Input should be a valid dictionary or object to extract fields from"
_STR_MSG = "Input should be a valid string"


def _error(
    kind: str, loc: list[str | int], msg: str, value: Any, ctx: dict[str, Any] | None = None
) -> ErrorItem:
    item: ErrorItem = {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}
    if ctx is not None:
        item["ctx"] = ctx
    return item


def _required_string(
    container: Mapping[str, Any], key: str, loc: list[str | int], errors: list[ErrorItem]
) -> str | None:
    if key not in container:
        errors.append(_error("missing", [*loc, key], "Field required", dict(container)))
        return None
    value = container[key]
    if not isinstance(value, str):
        errors.append(_error("string_type", [*loc, key], _STR_MSG, value))
        return None
    return value


def _messages(body: Mapping[str, Any], errors: list[ErrorItem]) -> tuple[Message, ...] | None:
    if "messages" not in body:
        errors.append(_error("missing", ["messages"], "Field required", dict(body)))
        return None
    raw = body["messages"]
    if not isinstance(raw, list):
        errors.append(_error("list_type", ["messages"], "Input should be a valid list", raw))
        return None
    before = len(errors)
    messages: list[Message] = []
    for index, item in enumerate(raw):
        loc: list[str | int] = ["messages", index]
        if not isinstance(item, dict):
            errors.append(_error("model_attributes_type", loc, _DICT_MSG, item))
            continue
        role = item.get("role")
        if "role" not in item:
            errors.append(_error("missing", [*loc, "role"], "Field required", item))
        elif role not in ROLES:
            expected = "'system', 'user' or 'assistant'"
            errors.append(
                _error(
                    "literal_error",
                    [*loc, "role"],
                    f"Input should be {expected}",
                    role,
                    {"expected": expected},
                )
            )
        content = _required_string(item, "content", loc, errors)
        name = item.get("name")
        if name is not None and not isinstance(name, str):
            errors.append(_error("string_type", [*loc, "name"], _STR_MSG, name))
        if isinstance(role, str) and content is not None:
            messages.append(Message(role, content, name if isinstance(name, str) else None))
    return tuple(messages) if len(errors) == before else None


def _optional_bool(
    body: Mapping[str, Any], key: str, errors: list[ErrorItem], loc: list[str | int] | None = None
) -> bool | None:
    # pydantic's lax mode: true/false, 0/1 and the usual strings are all booleans.
    where: list[str | int] = [*(loc or []), key]
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if isinstance(value, str):
        msg = "Input should be a valid boolean, unable to interpret input"
        errors.append(_error("bool_parsing", where, msg, value))
    else:
        errors.append(_error("bool_type", where, "Input should be a valid boolean", value))
    return None


def _optional_number(
    body: Mapping[str, Any], key: str, errors: list[ErrorItem], *, integer: bool
) -> None:
    # Ignored by the API, but still validated by its request model.
    value = body.get(key)
    if value is None:
        return
    number_like = isinstance(value, (int, float)) and not isinstance(value, bool)
    if integer and number_like and float(value).is_integer():
        return
    if not integer and number_like:
        return
    if integer:
        errors.append(_error("int_type", [key], "Input should be a valid integer", value))
    else:
        errors.append(_error("float_type", [key], "Input should be a valid number", value))


def _response_format(value: Any, errors: list[ErrorItem]) -> ResponseFormat | None:
    loc: list[str | int] = ["response_format"]
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.append(_error("model_attributes_type", loc, _DICT_MSG, value))
        return None
    kind = value.get("type")
    if kind not in _FORMAT_TYPES:
        expected = "'text', 'json_schema' or 'json_object'"
        if "type" not in value:
            errors.append(_error("missing", [*loc, "type"], "Field required", value))
        else:
            errors.append(
                _error(
                    "literal_error",
                    [*loc, "type"],
                    f"Input should be {expected}",
                    kind,
                    {"expected": expected},
                )
            )
        return None
    if kind != "json_schema":
        return ResponseFormat(kind)
    spec = value.get("json_schema")
    spec_loc: list[str | int] = [*loc, "json_schema"]
    if "json_schema" not in value:
        errors.append(_error("missing", spec_loc, "Field required", value))
        return None
    if not isinstance(spec, dict):
        errors.append(_error("model_attributes_type", spec_loc, _DICT_MSG, spec))
        return None
    before = len(errors)
    name = _required_string(spec, "name", spec_loc, errors)
    schema = spec.get("schema")
    if schema is not None and not isinstance(schema, dict):
        msg = "Input should be a valid dictionary"
        errors.append(_error("dict_type", [*spec_loc, "schema"], msg, schema))
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        errors.append(_error("string_type", [*spec_loc, "description"], _STR_MSG, description))
    _optional_bool(spec, "strict", errors, spec_loc)
    if len(errors) != before:
        return None
    return ResponseFormat("json_schema", schema, name)
