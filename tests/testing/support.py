"""Shared request data and helpers for the emulator tests."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from parallel_adapters.testing import FAULT_HEADER, ParallelEmulator

DATA = Path(__file__).parent / "data"

QUESTION = "What is the capital of France?"
UNANSWERABLE = "Who won the 1998 football World Cup final?"


def ask(question: str = QUESTION) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": question}]


def body(model: str = "base", question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    """A raw request body, for tests that bypass the SDK."""
    return {"model": model, "messages": ask(question), **extra}


def sse_payloads(text: str) -> list[str]:
    """The data of every SSE event in a raw stream body, in order."""
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


def sse_chunks(text: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p in sse_payloads(text) if p != "[DONE]"]


def without_created(raw: bytes) -> bytes:
    """A body with its `created` timestamps blanked (the one field meant to vary)."""
    return re.sub(rb'"created":\d+', b'"created":0', raw)


@cache
def openapi() -> dict[str, Any]:
    """Parallel's published OpenAPI for the endpoint, transcribed into data/."""
    loaded: dict[str, Any] = json.loads((DATA / "openapi_chat.json").read_text("utf-8"))
    return loaded


def responses_body(question: str = QUESTION, **extra: Any) -> dict[str, Any]:
    """A raw `/v1/responses` body."""
    return {"model": "parallel", "input": question, **extra}


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event line, decoded data) of every event of a raw Responses stream, in order."""
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in text.split("\n\n"):
        lines = frame.splitlines()
        kind = next((x[len("event: ") :] for x in lines if x.startswith("event: ")), "")
        data = [x[len("data: ") :] for x in lines if x.startswith("data: ")]
        if data and data != ["[DONE]"]:
            events.append((kind, json.loads("\n".join(data))))
    return events


# Each status fault, the openai SDK error it must raise, and its status: one table for the
# Chat and Responses paths, which share the fault machinery.
STATUS_FAULTS: list[tuple[str, type[openai.APIStatusError], int]] = [
    ("429", openai.RateLimitError, 429),
    ("429-retry-after", openai.RateLimitError, 429),
    ("500", openai.InternalServerError, 500),
    ("502", openai.InternalServerError, 502),
    ("503", openai.InternalServerError, 503),
    ("504", openai.InternalServerError, 504),
    ("envelope-openai", openai.BadRequestError, 400),
    ("envelope-fastapi", openai.UnprocessableEntityError, 422),
    ("envelope-parallel", openai.APIStatusError, 402),
    ("envelope-parallel;status=403", openai.PermissionDeniedError, 403),
]


def fault_header(name: str) -> dict[str, str]:
    """The request header that makes the emulator answer this request with a fault."""
    return {FAULT_HEADER: name}


def post_with_fault(
    emulator: ParallelEmulator, path: str, fault: str, payload: dict[str, Any]
) -> httpx.Response:
    """A raw POST (no SDK in between) carrying a fault header, to read the bytes sent."""
    return httpx.post(
        f"{emulator.base_url}{path}",
        headers={"authorization": "Bearer test-key", **fault_header(fault)},
        json=payload,
    )
