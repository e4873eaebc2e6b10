"""Shape a chat request into the body the Parallel Chat API understands."""

from __future__ import annotations

import json
import os
import sys
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ._config import MODELS, effort_on_chat_model_message, unknown_model_message
from ._errors import InputError
from ._messages import MessagesInput, merge_messages

__all__ = [
    "ChatRequest",
    "check_previous_interaction_id",
    "normalize_response_format",
    "shape_request",
]

# Accepted for OpenAI compatibility, documented as ignored by the server: not sent.
IGNORED_PARAMS = frozenset(
    {
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "seed",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "metadata",
        "store",
        "service_tier",
        "stream_options",
        "parallel_tool_calls",
        "prediction",
        "audio",
        "modalities",
        "reasoning_effort",
        "n",
    }
)
# Ignored too, but dropping them silently changes what the caller meant.
MEANINGFUL_IGNORED_PARAMS = frozenset(
    {"stop", "tools", "tool_choice", "functions", "function_call"}
)

# Fields the request shapes itself; extra_body may not override them.
_OWN_FIELDS = frozenset(
    {"model", "messages", "stream", "response_format", "previous_interaction_id"}
)

_warned: set[str] = set()
_warned_lock = threading.Lock()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _user_stacklevel() -> int:
    """The `stacklevel` that makes a warning given by the calling function point at the
    first frame outside this package: the user's line, whichever entry point they used
    (a fixed level is right for one call path and points inside the kit for the others)."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def _warn_once(param: str) -> None:
    with _warned_lock:
        if param in _warned:
            return
        _warned.add(param)
    warnings.warn(
        f"the Parallel Chat API ignores {param!r}; it was not sent, and the answer will not "
        "honour it",
        UserWarning,
        stacklevel=_user_stacklevel(),
    )


def _warn_speed_format_once() -> None:
    # Parallel's docs mark response_format fully supported and use it on speed, so it is
    # sent; but speed has no basis, which is easy to miss when asking for fields.
    with _warned_lock:
        if "speed-response-format" in _warned:
            return
        _warned.add("speed-response-format")
    warnings.warn(
        "model 'speed' returns no basis: a response_format answer from it has no citations, "
        "reasoning or confidence per field; use lite, base or core for those",
        UserWarning,
        stacklevel=_user_stacklevel(),
    )


@dataclass(frozen=True)
class ChatRequest:
    """A validated request: the JSON body, plus what is needed to read the answer.

    Built by `ParallelChat.request(...)` and sent by `ParallelChat.send(...)` (or
    `asend`, `send_stream`, `asend_stream`): build once, inspect or log `body`, then send.
    """

    body: dict[str, Any]
    """The JSON body that will be sent, exactly (the key travels in a header, never here)."""
    output_model: type[BaseModel] | None = field(default=None, compare=False)
    """The pydantic model given as `response_format`, used to fill `Completion.parsed`."""
    api: str = "chat"
    """`"chat"` (sent to `/chat/completions`) or `"responses"` (to `/v1/responses`)."""
    # The server echoes `reasoning: null`, so the answer cannot say which effort ran.
    effort: str | None = None
    """The Responses API reasoning effort that was sent; None for the server's default."""

    @property
    def model(self) -> str:
        """The model the body names."""
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        """True when the body asks for a stream."""
        return bool(self.body.get("stream"))


def _schema_name(name: Any) -> str:
    text = name if isinstance(name, str) and name else "response"
    # OpenAI's rule for json_schema names: a-z, A-Z, 0-9, _ and -, at most 64.
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in text)[:64]
    return cleaned or "response"


def _wire_json_schema(
    schema: Any, *, name: Any = None, strict: Any = None, description: Any = None
) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise InputError(f"response_format schema must be a JSON-schema object, got {schema!r}")
    inner: dict[str, Any] = {"name": _schema_name(name or schema.get("title")), "schema": schema}
    if strict is not None:
        inner["strict"] = bool(strict)
    if isinstance(description, str) and description:
        inner["description"] = description
    return {"type": "json_schema", "json_schema": inner}


def normalize_response_format(
    response_format: Any,
) -> tuple[dict[str, Any] | None, type[BaseModel] | None]:
    """OpenAI's wire form of a response format, and the pydantic class to parse into.

    Accepts a pydantic model class, a bare JSON-schema dict, OpenAI's
    `{"type": "json_schema", "json_schema": {...}}`, DSPy's canonical
    `{"type": "json_schema", "name", "schema", "strict"}`, `{"type": "json_object"}`
    and `{"type": "text"}`.
    """
    if response_format is None:
        return None, None
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        schema = response_format.model_json_schema()
        wire = _wire_json_schema(schema, name=response_format.__name__, strict=True)
        return wire, response_format
    if not isinstance(response_format, Mapping):
        raise InputError(
            "response_format must be a pydantic model class or a dict, got "
            f"{type(response_format).__name__}"
        )
    if not response_format:
        raise InputError("response_format is an empty dict")
    kind = response_format.get("type")
    if kind == "json_schema":
        inner = response_format.get("json_schema")
        if isinstance(inner, Mapping):
            return (
                _wire_json_schema(
                    inner.get("schema"),
                    name=inner.get("name"),
                    strict=inner.get("strict"),
                    description=inner.get("description"),
                ),
                None,
            )
        if "schema" in response_format:  # DSPy / lm15 canonical form
            return (
                _wire_json_schema(
                    response_format["schema"],
                    name=response_format.get("name"),
                    strict=response_format.get("strict"),
                    description=response_format.get("description"),
                ),
                None,
            )
        raise InputError("a json_schema response_format needs a 'json_schema' or 'schema' object")
    if kind in ("json_object", "text") and len(response_format) == 1:
        return {"type": kind}, None
    if kind is None or kind == "object" or "properties" in response_format:
        # A bare JSON schema (its own "type" is "object").
        return _wire_json_schema(response_format, name=response_format.get("title")), None
    raise InputError(
        f"unsupported response_format type {kind!r}; use json_schema, json_object or text"
    )


def _surrogate_path(value: Any, path: str) -> str | None:
    """Where the first string UTF-8 cannot encode sits in the body: messages[0].content."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found = _surrogate_path(key, path or "a key") or _surrogate_path(item, where)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _surrogate_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _check_wire_body(body: dict[str, Any]) -> None:
    """Fail now, with `InputError`, on a body the SDK could not serialize at send time.

    The SDK encodes with `ensure_ascii=False, allow_nan=False` and then UTF-8, so a lone
    surrogate (text decoded with `surrogateescape`, a split emoji pair) or a NaN in a
    schema would otherwise surface as a bare UnicodeEncodeError/ValueError from inside
    the retry loop. One extra dumps costs a few µs for a short prompt, ~50 ms for 10 MB.
    """
    try:
        json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        where = _surrogate_path(body, "") or "the request"
        raise InputError(
            f"{where} holds a lone surrogate character, which cannot be sent as UTF-8 JSON; "
            "fix the text's decoding (e.g. errors='replace')"
        ) from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"the request cannot be sent as JSON: {exc}") from None


def check_previous_interaction_id(value: object) -> None:
    """Refuses a follow-up id that is not a non-blank string, on both APIs: dropping an
    empty one would start a new conversation where the caller asked to continue one."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InputError("previous_interaction_id must be a string")
    if not value.strip():
        raise InputError(
            "previous_interaction_id is empty; pass the id of the answer to follow up on "
            "(Completion.interaction_id), or None to start a new conversation"
        )


def shape_request(
    messages: MessagesInput,
    *,
    model: str,
    stream: bool = False,
    response_format: Any = None,
    previous_interaction_id: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
    **params: Any,
) -> ChatRequest:
    """Validate everything and build the request body; raises `InputError` before any I/O."""
    if not isinstance(model, str) or not model.strip():
        raise InputError(f"model must be a non-empty string, got {model!r}")
    if model not in MODELS:
        raise InputError(unknown_model_message(model))
    if params.get("reasoning_effort") is not None:
        # Dropped like the sampling parameters, it would be an option that does nothing.
        raise InputError(effort_on_chat_model_message(model))
    n = params.get("n")
    if n is not None and n != 1:
        raise InputError(f"n={n!r} is not supported: the Parallel Chat API returns one choice")
    for param in params:
        if param in MEANINGFUL_IGNORED_PARAMS:
            if params[param]:
                _warn_once(param)
        elif param not in IGNORED_PARAMS:
            raise InputError(
                f"unknown parameter {param!r}; pass provider-specific fields in extra_body"
            )
    check_previous_interaction_id(previous_interaction_id)
    if extra_body is not None and not isinstance(extra_body, Mapping):
        raise InputError(f"extra_body must be a dict, got {type(extra_body).__name__}")

    wire_format, output_model = normalize_response_format(response_format)
    body: dict[str, Any] = {"model": model, "messages": merge_messages(messages)}
    if stream:
        body["stream"] = True
    if wire_format is not None:
        body["response_format"] = wire_format
        if model == "speed" and wire_format["type"] != "text":
            _warn_speed_format_once()
    if previous_interaction_id:
        body["previous_interaction_id"] = previous_interaction_id
    if extra_body:
        clash = sorted(str(k) for k in extra_body if k in body or k in _OWN_FIELDS)
        if clash:
            # extra_body adds provider fields; it must not silently replace the request's own.
            raise InputError(
                f"extra_body may not set {clash}: pass them as arguments (model=, the "
                "messages, stream via .stream(), response_format=, previous_interaction_id=)"
            )
        body.update(extra_body)
    _check_wire_body(body)
    return ChatRequest(body=body, output_model=output_model)
