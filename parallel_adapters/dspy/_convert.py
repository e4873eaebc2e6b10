"""Translate between DSPy's canonical lm15 types and the core's requests and answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dspy import lm15  # type: ignore[import-untyped]

from ..core import (
    ChatRequest,
    Citation,
    Completion,
    InputError,
    ParallelClient,
    WireMessage,
    research_to_dict,
)

__all__ = [
    "MODEL_PREFIX",
    "chat_request",
    "closing_events",
    "response_from_completion",
    "wire_model",
]

MODEL_PREFIX = "parallel/"

# lm15's `Config` fields that carry no meaning for the Parallel Chat API; the core
# drops or warns about them exactly as it does for OpenAI-style callers.
_CONFIG_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "service_tier",
    "store",
)
_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_call",
    "function_call": "tool_call",
    "tool_call": "tool_call",
    "error": "error",
}


def wire_model(model: str) -> str:
    """`parallel/base` -> `base`: the prefix only keeps DSPy's cache entries apart."""
    return model[len(MODEL_PREFIX) :] if model.startswith(MODEL_PREFIX) else model


def _text_of(parts: Any, where: str) -> str:
    texts: list[str] = []
    for part in parts:
        if isinstance(part, lm15.TextPart):
            texts.append(part.text)
        else:
            raise InputError(
                f"{where} has a {getattr(part, 'type', type(part).__name__)!r} part; the Parallel "
                "Chat API accepts text only"
            )
    return "\n".join(texts)


def _messages(request: Any) -> list[WireMessage | dict[str, Any]]:
    messages: list[WireMessage | dict[str, Any]] = []
    system = request.system
    if system is not None:
        text = system if isinstance(system, str) else _text_of(system, "the system prompt")
        messages.append({"role": "system", "content": text})
    for index, message in enumerate(request.messages):
        # The core maps developer -> system and folds tool results into user turns.
        text = _text_of(message.parts, f"message {index} ({message.role})")
        messages.append({"role": message.role, "content": text})
    return messages


def chat_request(client: ParallelClient, request: Any, *, stream: bool) -> ChatRequest:
    """The core's validated request for an lm15 `Request`; `InputError` before any I/O."""
    if request.tools:
        raise InputError("the Parallel Chat API has no tool calling; remove the tools")
    config = request.config
    params: dict[str, Any] = {
        name: getattr(config, name) for name in _CONFIG_PARAMS if getattr(config, name) is not None
    }
    if config.stop:
        params["stop"] = list(config.stop)
    if config.response_format is not None:
        # DSPy's canonical {"type": "json_schema", "name", "schema", "strict"}; the core
        # re-wraps it into OpenAI's {"json_schema": {...}} wire form.
        params["response_format"] = dict(config.response_format)
    for name, value in (config.extensions or {}).items():
        # Unknown keys raise InputError in the core rather than vanish.
        params[name] = value
    return client.request(
        _messages(request), model=wire_model(request.model), stream=stream, **params
    )


def _usage(usage: dict[str, Any] | None) -> Any:
    """lm15 `Usage`; `Usage()` (all unknown) when the server sent none, never zeros."""
    if not usage:
        return lm15.Usage()

    def count(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return lm15.Usage(
        input_tokens=count(usage.get("prompt_tokens")),
        output_tokens=count(usage.get("completion_tokens")),
        total_tokens=count(usage.get("total_tokens")),
        cache_read_tokens=count(prompt_details.get("cached_tokens"))
        if isinstance(prompt_details, dict)
        else None,
        reasoning_tokens=count(completion_details.get("reasoning_tokens"))
        if isinstance(completion_details, dict)
        else None,
    )


def _finish_reason(value: str | None) -> str:
    # The documented profile sends null; a finished answer is a "stop".
    return _FINISH_REASONS.get(value or "stop", "stop")


def _citation_fields(citations: list[Citation]) -> Iterator[dict[str, str | None]]:
    """DSPy's citation shape `{url, title, text}`: one per excerpt (the quoted span), or
    one per page that has no excerpt. Excerpts are regrouped by URL losslessly."""
    for citation in citations:
        excerpts: list[str | None] = [e for e in citation.excerpts if e.strip()] or [None]
        for excerpt in excerpts:
            fields = {"url": citation.url or None, "title": citation.title or None, "text": excerpt}
            if any(fields.values()):
                yield fields


def response_from_completion(completion: Completion) -> Any:
    """An lm15 `Response`: the text, then the citations; the research in `provider_data`."""
    parts: list[Any] = [lm15.TextPart(completion.text)]
    parts.extend(lm15.CitationPart(**fields) for fields in _citation_fields(completion.citations))
    return lm15.Response(
        id=completion.id,
        model=completion.model,
        message=lm15.Message(role="assistant", parts=tuple(parts)),
        finish_reason=_finish_reason(completion.finish_reason),
        usage=_usage(completion.usage),
        provider_data=research_to_dict(completion),
    )


def start_event(model: str) -> Any:
    return lm15.StreamStartEvent(model=model)


def text_event(text: str) -> Any:
    return lm15.StreamDeltaEvent(delta=lm15.TextDelta(text=text, part_index=0))


def closing_events(completion: Completion) -> Iterator[Any]:
    """After the text: the citations, then the single end event carrying the research."""
    for fields in _citation_fields(completion.citations):
        yield lm15.StreamDeltaEvent(delta=lm15.CitationDelta(part_index=1, **fields))
    yield lm15.StreamEndEvent(
        finish_reason=_finish_reason(completion.finish_reason),
        usage=_usage(completion.usage),
        provider_data=research_to_dict(completion),
    )
