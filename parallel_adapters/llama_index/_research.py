"""Completions into LlamaIndex responses, and typed access to the basis they carry.

The basis goes in the response's `additional_kwargs`, never in
`message.additional_kwargs`: LlamaIndex appends a message's `additional_kwargs` to the
next prompt, which would feed the citations back to the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)

from .._core import (
    Citation,
    CitedSpan,
    Completion,
    FieldBasis,
    Research,
    research_from_dict,
    research_to_dict,
)

__all__ = [
    "CITED_SPANS_KEY",
    "basis_of",
    "chat_response",
    "citations_of",
    "final_chunk",
    "interaction_id_of",
    "research_of",
    "spans_of",
]

CITED_SPANS_KEY = "cited_spans"
"""The `additional_kwargs` key of a Responses answer's cited spans (JSON dicts)."""


_USAGE_KEYS = (
    ("prompt_tokens", "input_tokens"),
    ("completion_tokens", "output_tokens"),
    ("total_tokens", "total_tokens"),
)


def _is_responses_answer(completion: Completion) -> bool:
    return bool(completion.cited_spans) or completion.raw.get("object") == "response"


def _response_kwargs(completion: Completion) -> dict[str, Any]:
    kwargs = research_to_dict(completion)
    if _is_responses_answer(completion):
        # Only Responses answers get the key: Chat API responses stay exactly as they were,
        # and its presence tells `source_nodes_of` which kind of answer it reads.
        kwargs[CITED_SPANS_KEY] = [s.model_dump(mode="json") for s in completion.cited_spans]
    kwargs["model"] = completion.model
    # US dollars at the published price; None where none is published.
    kwargs["cost"] = completion.cost
    if completion.finish_reason is not None:
        kwargs["finish_reason"] = completion.finish_reason
    usage = completion.usage
    if usage is not None:
        # The names LlamaIndex's OpenAI integration uses; only when the server sent usage.
        # The Responses API's own names map onto them, as the DSPy adapter maps them.
        for key, responses_key in _USAGE_KEYS:
            value = usage.get(key, usage.get(responses_key))
            if isinstance(value, int) and not isinstance(value, bool):
                kwargs[key] = value
    return kwargs


def chat_response(completion: Completion) -> ChatResponse:
    """The whole answer as a `ChatResponse`; `raw` is the JSON body."""
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=completion.text),
        raw=completion.raw,
        additional_kwargs=_response_kwargs(completion),
    )


def final_chunk(completion: Completion) -> ChatResponse:
    """The closing chunk of a stream: no new text, the whole answer, and its basis."""
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=completion.text),
        delta="",
        raw=completion.raw,
        additional_kwargs=_response_kwargs(completion),
    )


def _research_mapping(obj: Any) -> Mapping[str, Any] | None:
    if isinstance(obj, (ChatResponse, CompletionResponse)):
        return obj.additional_kwargs
    # Query engine responses (`Response`, `StreamingResponse`, ...) keep it in metadata.
    metadata = getattr(obj, "metadata", None)
    if isinstance(metadata, Mapping):
        return metadata
    additional = getattr(obj, "additional_kwargs", None)
    if isinstance(additional, Mapping):
        return additional
    if isinstance(obj, Mapping):
        return obj
    return None


def research_of(obj: Any) -> Research:
    """Basis, citations and interaction id carried by a LlamaIndex object.

    Accepts a `ChatResponse` or `CompletionResponse` from `ParallelLLM`, a query engine
    `Response` from `ParallelWebQueryEngine`, a call recorded by `collect_basis()`, or
    any mapping shaped like their `additional_kwargs`. Anything else gives an empty
    `Research` (for example a response from another LLM).
    """
    if isinstance(obj, Research):
        return obj
    research = getattr(obj, "research", None)
    if isinstance(research, Research):
        return research
    mapping = _research_mapping(obj)
    if mapping is None:
        return Research(basis=[], citations=[], interaction_id=None)
    return research_from_dict(mapping)


def basis_of(obj: Any) -> list[FieldBasis]:
    """The typed basis (`FieldBasis` list) carried by a response; see `research_of`."""
    return research_of(obj).basis


def citations_of(obj: Any) -> list[Citation]:
    """The unique citations (one per URL) carried by a response; see `research_of`."""
    return research_of(obj).citations


def interaction_id_of(obj: Any) -> str | None:
    """The interaction id to pass as `previous_interaction_id` for a follow-up."""
    return research_of(obj).interaction_id


def spans_of(obj: Any) -> list[CitedSpan]:
    """The cited spans of a Responses API answer (`model="parallel"`), in order.

    Each `span.start:span.end` slice of the answer text is backed by `span.url`. Empty
    for Chat API answers, which cite per output field instead.
    """
    mapping = _research_mapping(obj)
    raw = mapping.get(CITED_SPANS_KEY) if mapping is not None else None
    if not isinstance(raw, list):
        return []
    spans: list[CitedSpan] = []
    for item in raw:
        if isinstance(item, CitedSpan):
            spans.append(item)
        elif isinstance(item, Mapping):
            try:
                spans.append(CitedSpan.model_validate(item))
            except ValueError:
                continue
    return spans


def is_responses_answer(obj: Any) -> bool:
    """Whether `obj` carries a Responses API answer (cited spans rather than a basis)."""
    mapping = _research_mapping(obj)
    return mapping is not None and CITED_SPANS_KEY in mapping
