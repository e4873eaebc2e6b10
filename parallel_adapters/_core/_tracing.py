"""OpenTelemetry spans for each logical call, in the GenAI semantic conventions.

Only `opentelemetry-api` is used, and never imported here: an application that set a
tracer provider has imported `opentelemetry.trace` already, so the module is looked up in
`sys.modules`. With no provider set, a call pays for that lookup and nothing else.

The conventions followed are `GENAI_SEMCONV` (`_config.py`): the inference client span of
`open-telemetry/semantic-conventions-genai`, still in Development. The kit never emitted
the older `gen_ai.system` names, so it emits the current ones only.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from .._version import __version__
from ._config import CAPTURE_CONTENT_ENV
from ._errors import ParallelError
from ._prices import billed_model
from ._request import ChatRequest
from ._response import Completion

__all__ = ["CallSpan", "start_span"]

OPERATION = "chat"
PROVIDER = "parallel"
_SCOPE = "parallel_adapters"

# (provider, tracer): a tracer is made once per provider the application sets.
_cached: tuple[Any, Any] | None = None


def _recording_tracer() -> tuple[Any, Any] | None:
    """(the `opentelemetry.trace` module, a tracer), or None when no provider would record."""
    global _cached
    api = sys.modules.get("opentelemetry.trace")
    if api is None:
        return None
    try:
        provider = api.get_tracer_provider()
        if isinstance(provider, (api.ProxyTracerProvider, api.NoOpTracerProvider)):
            return None
    except AttributeError:  # pragma: no cover - the module is still being imported
        return None
    cached = _cached
    if cached is None or cached[0] is not provider:
        cached = (provider, provider.get_tracer(_SCOPE, __version__))
        _cached = cached
    return api, cached[1]


@functools.lru_cache(maxsize=64)
def _server(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def _capture_content() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() == "true"


def _text_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, list):  # Responses API content parts
        return [
            {"type": "text", "content": str(part.get("text", ""))}
            for part in content
            if isinstance(part, dict)
        ]
    return []


def _input_messages(request: ChatRequest) -> str:
    body = request.body
    messages = body.get("messages") if request.api == "chat" else body.get("input")
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    shaped = [
        {"role": str(m.get("role", "user")), "parts": _text_parts(m.get("content"))}
        for m in messages or []
        if isinstance(m, dict)
    ]
    instructions = body.get("instructions")
    if isinstance(instructions, str):  # the Responses API's system prompt
        shaped.insert(0, {"role": "system", "parts": _text_parts(instructions)})
    return json.dumps(shaped, ensure_ascii=False)


def _error_type(error: BaseException) -> str:
    return type(error).__name__


def _usage(usage: dict[str, Any] | None) -> dict[str, int]:
    if not usage:
        return {}
    found: dict[str, int] = {}
    for attribute, keys in (
        ("gen_ai.usage.input_tokens", ("prompt_tokens", "input_tokens")),
        ("gen_ai.usage.output_tokens", ("completion_tokens", "output_tokens")),
    ):
        for key in keys:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                found[attribute] = value
                break
    return found


class CallSpan:
    """The span of one logical call: retries are its events, not spans of their own."""

    __slots__ = ("_api", "_capture", "_first_chunk", "_span", "_started", "retries")

    def __init__(self, api: Any, span: Any, capture: bool) -> None:
        self._api = api
        self._span = span
        self._capture = capture
        self._started = time.perf_counter()
        self._first_chunk: float | None = None
        self.retries = 0

    def retry(self, error: ParallelError, attempt: int, delay: float) -> None:
        """Record a failed attempt that will be tried again after `delay` seconds."""
        self.retries = attempt + 1
        attributes: dict[str, Any] = {
            "parallel.retry.attempt": attempt + 1,
            "parallel.retry.delay_s": delay,
            "error.type": _error_type(error),
        }
        if error.status_code is not None:
            attributes["http.response.status_code"] = error.status_code
        self._span.add_event("parallel.retry", attributes)

    def first_chunk(self) -> None:
        """Note the time the first text of a stream reached the caller."""
        if self._first_chunk is None:
            self._first_chunk = time.perf_counter() - self._started

    def finish(self, completion: Completion, cost: float | None) -> None:
        """End the span of a call that answered."""
        attributes: dict[str, Any] = {
            "gen_ai.response.model": completion.model,
            "parallel.citation_count": len(completion.citations),
            "parallel.retries": self.retries,
            **_usage(completion.usage),
        }
        if completion.id:
            attributes["gen_ai.response.id"] = completion.id
        if completion.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = (completion.finish_reason,)
        if cost is not None:
            attributes["parallel.cost_usd"] = cost
        if self._first_chunk is not None:
            attributes["gen_ai.response.time_to_first_chunk"] = self._first_chunk
        if self._capture:
            output = {
                "role": "assistant",
                "parts": [{"type": "text", "content": completion.text}],
                "finish_reason": completion.finish_reason or "stop",
            }
            attributes["gen_ai.output.messages"] = json.dumps([output], ensure_ascii=False)
        self._span.set_attributes(attributes)
        self._span.end()

    def fail(self, error: BaseException, cost: float | None) -> None:
        """End the span of a call that failed: `error.type` and status ERROR."""
        attributes: dict[str, Any] = {
            "error.type": _error_type(error),
            "parallel.retries": self.retries,
        }
        if cost:
            attributes["parallel.cost_usd"] = cost
        self._span.set_attributes(attributes)
        # The server's words may quote the prompt: only with content capture on.
        described = isinstance(error, ParallelError) and self._capture
        description = str(error) if described else _error_type(error)
        self._span.set_status(self._api.Status(self._api.StatusCode.ERROR, description))
        self._span.end()

    def abandon(self, cost: float | None) -> None:
        """End the span of a stream its reader closed before the end: not an error."""
        attributes: dict[str, Any] = {
            "parallel.retries": self.retries,
            "parallel.closed_early": True,
        }
        if cost:
            attributes["parallel.cost_usd"] = cost
        self._span.set_attributes(attributes)
        self._span.end()


def start_span(request: ChatRequest, base_url: str) -> CallSpan | None:
    """A started CLIENT span under the current one, or None when nothing records spans."""
    found = _recording_tracer()
    if found is None:
        return None
    api, tracer = found
    model = billed_model(request.model, request.effort)
    host, port = _server(base_url)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": PROVIDER,
        "gen_ai.request.model": model,
        "gen_ai.request.stream": request.stream,
        "server.address": host,
        "server.port": port,
    }
    if request.effort is not None:
        attributes["parallel.reasoning.effort"] = request.effort
    capture = _capture_content()
    if capture:
        attributes["gen_ai.input.messages"] = _input_messages(request)
    span = tracer.start_span(
        f"{OPERATION} {model}", kind=api.SpanKind.CLIENT, attributes=attributes
    )
    return CallSpan(api, span, capture)
