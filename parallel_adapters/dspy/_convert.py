"""Translate between DSPy's canonical lm15 types and the core's requests and answers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dspy import lm15  # type: ignore[import-untyped]

from .._chat import ParallelChat
from .._core import (
    ChatRequest,
    Citation,
    Completion,
    InputError,
    WireMessage,
    basis_from_ranges,
    is_responses_model,
    research_to_dict,
)
from ._cost import mark_live

__all__ = [
    "EFFORT_KEY",
    "ENDPOINT_KEY",
    "METADATA",
    "MODEL_PREFIX",
    "chat_request",
    "closing_events",
    "per_field",
    "response_from_completion",
    "uniform_outputs",
    "wire_model",
    "with_cited_spans",
]

MODEL_PREFIX = "parallel/"

# DSPy's cache key is the model, the messages and the LM's kwargs, minus `api_key`,
# `api_base` and `base_url`: nothing says which server answered. `ParallelLM` puts the
# endpoint (never the key) in its kwargs as `metadata={ENDPOINT_KEY: ...}`, so an
# emulator's answer is never replayed for the live API. `metadata` because DSPy hands it
# to the engine as a request extension (it refuses unknown kwargs, and strips the
# connection ones from the key) and the Parallel API ignores it: `chat_request` removes
# the entry, and the core never sends `metadata`.
METADATA = "metadata"
ENDPOINT_KEY = "parallel_endpoint"
# The Responses API's effort set on the engine (`ParallelLM("parallel",
# reasoning_effort="high")`) is not in DSPy's kwargs either: it joins the endpoint here,
# so a `high` answer is never replayed for a `low` LM. A per-call `reasoning_effort=` is
# a kwarg already, and `parallel-high` is in the model name.
EFFORT_KEY = "parallel_reasoning_effort"
_CACHE_ONLY_KEYS = frozenset({ENDPOINT_KEY, EFFORT_KEY})

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


def checked_model(model: object) -> str:
    """The wire model name of a `ParallelLM` model; `InputError` for another provider's."""
    if not isinstance(model, str) or not wire_model(model).strip():
        raise InputError(f"model must be a non-empty string, got {model!r}")
    name = wire_model(model)
    if "/" in name:
        # dspy.LM's "provider/model" form: ParallelLM("openai/gpt-4o") would otherwise
        # become parallel/openai/gpt-4o and fail at the server with an unclear error.
        raise InputError(
            f"ParallelLM serves Parallel's models only (e.g. 'base' or 'parallel/base'); "
            f"{model!r} names another provider's model: use dspy.LM({model!r}) for it"
        )
    return name


def endpoint_of(base_url: str) -> str:
    """The base URL without credentials, query or fragment: what DSPy's cache keys on."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path.rstrip("/"), "", ""))


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


def chat_request(client: ParallelChat, request: Any, *, stream: bool) -> ChatRequest:
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
        if name == METADATA and isinstance(value, dict) and _CACHE_ONLY_KEYS & value.keys():
            value = {k: v for k, v in value.items() if k not in _CACHE_ONLY_KEYS}  # cache only
            if not value:
                continue
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

    # The Chat API's names first, then the Responses API's (`input_tokens`, ...).
    prompt_details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    completion_details = (
        usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    )
    prompt = usage.get("prompt_tokens", usage.get("input_tokens"))
    return lm15.Usage(
        input_tokens=count(prompt),
        output_tokens=count(usage.get("completion_tokens", usage.get("output_tokens"))),
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


# DSPy's ChatAdapter field headers, as its own parser reads them.
_SECTION_HEADER = re.compile(r"\[\[ ## (\w+) ## \]\]")
_END_SECTION = "completed"


def section_ranges(text: str) -> list[tuple[str, int, int]]:
    """(field, start, end) of each `[[ ## field ## ]]` section's value, whitespace
    trimmed; the first section of a name counts, as in DSPy's parser."""
    headers = list(_SECTION_HEADER.finditer(text))
    ranges: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        name = header.group(1)
        start = header.end()
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if name != _END_SECTION and name not in seen:
            seen.add(name)
            ranges.append((name, start, end))
    return ranges


def per_field(completion: Completion) -> Completion:
    """A Responses answer in DSPy's `[[ ## field ## ]]` sections gets one basis entry per
    section, built from the spans inside it, as the Chat API gives one per field (a JSON
    answer already has one per value). Other answers are returned unchanged."""
    basis = completion.basis
    if not is_responses_model(completion.model) or [b.field for b in basis] != ["output"]:
        return completion
    ranges = section_ranges(completion.text)
    if not ranges:
        return completion
    sectioned = basis_from_ranges(completion.text, completion.cited_spans, ranges)
    return dataclasses.replace(completion, basis=sectioned)


def _provider_data(completion: Completion) -> dict[str, Any]:
    """The research; on the Responses API also its cited spans (the Chat API has none);
    and the live call's price and id (`_cost.mark_live`)."""
    data = research_to_dict(completion)
    if is_responses_model(completion.model):
        data["cited_spans"] = [span.model_dump(mode="json") for span in completion.cited_spans]
    mark_live(data, completion.cost)
    return data


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
        provider_data=_provider_data(completion),
    )


def start_event(model: str) -> Any:
    return lm15.StreamStartEvent(model=model)


def text_event(text: str) -> Any:
    return lm15.StreamDeltaEvent(delta=lm15.TextDelta(text=text, part_index=0))


_WORDS = re.compile(r"\s*\S+\s*|\s+")


def text_events(text: str, request: ChatRequest) -> Iterator[Any]:
    """The stream events of one text delta.

    The Responses API sends the whole answer as one delta once research is done. DSPy
    treats a one-delta stream like a cache hit, so `streamify` would yield no chunk:
    that delta goes out word by word (the Chat API's deltas pass through as they came).
    """
    if request.api != "responses":
        yield text_event(text)
        return
    for match in _WORDS.finditer(text):
        yield text_event(match.group())


def closing_events(completion: Completion) -> Iterator[Any]:
    """After the text: the citations, then the single end event carrying the research."""
    for fields in _citation_fields(completion.citations):
        yield lm15.StreamDeltaEvent(delta=lm15.CitationDelta(part_index=1, **fields))
    yield lm15.StreamEndEvent(
        finish_reason=_finish_reason(completion.finish_reason),
        usage=_usage(completion.usage),
        provider_data=_provider_data(completion),
    )


def uniform_outputs(outputs: Any) -> Any:
    """`lm(...)`'s outputs, each as `{"text", "citations", ...}` (empty citations for none).

    Anything else (an `lm15.Response` for an explicit `Request`) is returned unchanged.
    """
    if not isinstance(outputs, list):
        return outputs
    uniform: list[Any] = []
    for output in outputs:
        if isinstance(output, str):
            output = {"text": output}
        if isinstance(output, dict):
            output = {**output, "citations": output.get("citations") or []}
        uniform.append(output)
    return uniform


def with_cited_spans(outputs: Any, entry: dict[str, Any]) -> Any:
    """A history entry's outputs; a Responses answer's one output gets its `cited_spans`.

    Spans are offsets into the one answer text, so only a single output gets them; Chat
    API entries are left as they were.
    """
    response = entry.get("response")
    data = getattr(response, "provider_data", None)
    spans = data.get("cited_spans") if isinstance(data, dict) else None
    if not isinstance(spans, list) or not isinstance(outputs, list) or len(outputs) != 1:
        return outputs
    if not isinstance(outputs[0], dict):
        return outputs
    return [{**outputs[0], "cited_spans": list(spans)}]
