"""LlamaIndex `ChatMessage`s into the message dicts the core merges and validates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, TextBlock

__all__ = ["to_wire_messages"]

# Cache hints and the model's own earlier reasoning carry nothing the API could use, so
# they are left out rather than refused. Matched by `block_type`, not class: CachePoint,
# ThinkingBlock, CitableBlock and CitationBlock arrived during 0.14.x, and the oldest
# llama-index-core we support (0.14.0) has none of them.
_SKIPPED_BLOCKS = frozenset({"cache", "thinking"})


def _parts(blocks: Sequence[Any]) -> list[dict[str, Any]]:
    """Content parts for the core: text as text, anything else typed so the core refuses it."""
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = str(getattr(block, "block_type", type(block).__name__))
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif kind in _SKIPPED_BLOCKS:
            continue
        elif kind == "citable":
            parts.extend(_parts(block.content))
        elif kind == "citation":
            parts.extend(_parts([block.cited_content]))
        else:
            parts.append({"type": kind})
    return parts


def to_wire_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Role, content parts and (for tool results) the tool's name of each message.

    `message.additional_kwargs` is deliberately not sent: LlamaIndex keeps tool-call
    bookkeeping there, not text meant for the model.
    """
    wire: list[dict[str, Any]] = []
    for message in messages:
        entry: dict[str, Any] = {
            "role": getattr(message.role, "value", message.role),
            "content": _parts(message.blocks),
        }
        extra = message.additional_kwargs
        name = extra.get("name") or extra.get("tool_call_id")
        if isinstance(name, str) and name:
            entry["name"] = name
        wire.append(entry)
    return wire
