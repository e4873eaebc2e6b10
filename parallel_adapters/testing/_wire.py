"""Response bodies as bytes: completions, stream events and the error envelopes.

Two quirk profiles:
- "documented": what the Chat API's compatibility table promises. `id`, `object` and
  `model` are "" (the table says "always empty" and the spec calls them required strings),
  `finish_reason` is null even on the last chunk, and `usage` and `system_fingerprint` are
  absent. Stream chunks keep `type: "chat.completion.chunk"` (the spec's required constant,
  a Parallel addition) while their `object` is "".
- "openai": every standard field filled: a `chatcmpl-` id, `object`, the model's name,
  `finish_reason: "stop"`, a `usage` block (on the last chunk when streaming),
  `system_fingerprint`.
Both put `interaction_id` and the basis on the non-streaming body and on the last chunk
only (earlier chunks carry `basis: []`, the spec's default, and no id), as the one stream
example of Parallel's (the `int-2` chunk in langchain-parallel's tests) has them: a client
that concatenates chunk fields then gets one id, once.

Non-streaming bodies have `choices[0].message` (what every client reads), although the
spec's schema points `choices` at the chunk `Choice` with `delta`: a spec bug.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

Profile = Literal["documented", "openai"]
"""How the emulator fills the fields the API documents as empty.

`"documented"`: blank id/object/model, null finish_reason, no usage, as the API
promises; `"openai"`: every standard OpenAI field filled.
"""
PROFILES: tuple[Profile, ...] = ("documented", "openai")
"""The names a `profile=` argument accepts."""

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"
SYSTEM_FINGERPRINT = "fp_parallel_emulator"

_PIECE = re.compile(r"\S+\s*|\s+")


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def pieces(content: str) -> list[str]:
    """Token-like stream pieces: each word with its trailing whitespace; joined they are
    exactly `content`."""
    return _PIECE.findall(content) or [""]


@dataclass(frozen=True)
class Reply:
    """Everything a success body needs, independent of profile and of streaming."""

    model: str
    content: str
    basis: Sequence[dict[str, Any]]
    interaction_id: str
    completion_id: str
    created: int
    prompt_tokens: int


def completion_body(profile: Profile, reply: Reply) -> bytes:
    openai = profile == "openai"
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    choice: dict[str, Any] = {"index": 0, "message": message}
    if openai:
        message["refusal"] = None
        choice["logprobs"] = None
    choice["finish_reason"] = "stop" if openai else None
    body: dict[str, Any] = {
        "id": reply.completion_id if openai else "",
        "object": "chat.completion" if openai else "",
        "created": reply.created,
        "model": reply.model if openai else "",
        "choices": [choice],
    }
    if openai:
        body["system_fingerprint"] = SYSTEM_FINGERPRINT
        body["usage"] = _usage(reply, len(pieces(reply.content)))
    body["basis"] = list(reply.basis)
    body["interaction_id"] = reply.interaction_id
    return dumps(body)


def stream_chunks(profile: Profile, reply: Reply) -> list[dict[str, Any]]:
    """The chunk objects of a streamed answer, in order (the caller frames them as SSE)."""
    openai = profile == "openai"
    parts = pieces(reply.content)
    chunks: list[dict[str, Any]] = []
    for position, text in enumerate(parts):
        last = position == len(parts) - 1
        delta: dict[str, Any] = {"role": "assistant"} if position == 0 else {}
        delta["content"] = text
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if openai:
            choice["logprobs"] = None
        choice["finish_reason"] = "stop" if (openai and last) else None
        chunk: dict[str, Any] = {
            "type": "chat.completion.chunk",
            "id": reply.completion_id if openai else "",
            "object": "chat.completion.chunk" if openai else "",
            "created": reply.created,
            "model": reply.model if openai else "",
            "choices": [choice],
        }
        if openai:
            chunk["system_fingerprint"] = SYSTEM_FINGERPRINT
            if last:
                chunk["usage"] = _usage(reply, len(parts))
        chunk["basis"] = list(reply.basis) if last else []
        if last:
            chunk["interaction_id"] = reply.interaction_id
        chunks.append(chunk)
    return chunks


def sse_event(chunk: dict[str, Any]) -> bytes:
    return b"data: " + dumps(chunk) + b"\n\n"


def _usage(reply: Reply, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": reply.prompt_tokens + completion_tokens,
    }


def count_prompt_tokens(texts: Sequence[str]) -> int:
    # Words plus a few per message, roughly what a tokenizer reports; only needs to be stable.
    return sum(len(text.split()) + 4 for text in texts)


# -- errors ------------------------------------------------------------------------------

# Parallel's documented messages for its own error envelope (other endpoints of the API).
PARALLEL_MESSAGES = {
    400: "Bad request: the request could not be processed",
    401: "Unauthorized: invalid or missing credentials",
    402: "Payment required: insufficient credit in account",
    403: "Forbidden: invalid model in request",
    404: "Not found: resource does not exist",
    408: "Request timeout: the request took too long",
    422: "Unprocessable content: request validation error",
    429: "Too many requests: quota temporarily exceeded",
    500: "Internal server error: the request could not be completed",
    503: "Service unavailable: the service is temporarily overloaded",
}


def parallel_error(
    status: int, ref_id: str, message: str | None = None, detail: dict[str, Any] | None = None
) -> bytes:
    """`{"type": "error", "error": {"ref_id", "message", "detail"?}}`."""
    error: dict[str, Any] = {
        "ref_id": ref_id,
        "message": message or PARALLEL_MESSAGES.get(status) or _phrase(status),
    }
    if detail is not None:
        error["detail"] = detail
    return dumps({"type": "error", "error": error})


def openai_error(status: int, message: str | None = None) -> bytes:
    """`{"error": {"message", "type", "param", "code"}}`, OpenAI's envelope."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    text = message or f"{_phrase(status)} (emulated error in the OpenAI envelope)"
    return dumps({"error": {"message": text, "type": kind, "param": None, "code": None}})


def fastapi_error(detail: list[dict[str, Any]] | str) -> bytes:
    """`{"detail": [...]}` (validation) or `{"detail": "..."}` (HTTPException)."""
    return dumps({"detail": detail})


def gateway_html(status: int) -> bytes:
    """What a load balancer in front of an API sends: HTML, not JSON."""
    title = f"{status} {_phrase(status)}"
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>".encode()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
