"""Turn whatever a caller holds into the message list the Chat API accepts.

The API takes only `system`, `user` and `assistant` roles with string content, and
answers wrongly (rather than failing) when given anything else, so every input is
normalized here, once, for every adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, TypedDict

from ._errors import InputError

__all__ = ["MessagesInput", "WireMessage", "merge_messages"]

Role: TypeAlias = Literal["system", "user", "assistant"]


class _WireMessageBase(TypedDict):
    role: Role
    content: str


class WireMessage(_WireMessageBase, total=False):
    name: str


MessagesInput: TypeAlias = "str | Iterable[Mapping[str, Any] | tuple[str, Any] | Any]"

_ROLE_ALIASES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    # LlamaIndex's Gemini/Cohere names for the two sides of the conversation.
    "model": "assistant",
    "chatbot": "assistant",
}
_TOOL_ROLES = frozenset({"tool", "function"})
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def _text_of(content: Any, role: str) -> str:
    """The text of a message's content; non-text parts are refused, not dropped."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        texts: list[str] = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
                continue
            if not isinstance(part, Mapping):
                raise InputError(
                    f"a {role!r} message has a content part of type {type(part).__name__}; "
                    "only text parts are supported"
                )
            kind = part.get("type", "text")
            if kind not in _TEXT_PART_TYPES:
                raise InputError(
                    f"a {role!r} message has a {kind!r} content part; Parallel accepts text "
                    "only (the Chat API would silently ignore it, the Responses API refuses it)"
                )
            text = part.get("text")
            if not isinstance(text, str):
                raise InputError(f"a text part of a {role!r} message has no string 'text'")
            texts.append(text)
        return "\n".join(texts)
    raise InputError(
        f"a {role!r} message has content of type {type(content).__name__}; expected a string "
        "or a list of text parts"
    )


def _as_triple(message: Any) -> tuple[str, Any, str | None]:
    """(role, content, name) from a dict, a (role, content) pair or a role/content object."""
    if isinstance(message, Mapping):
        if "role" not in message:
            raise InputError(f"a message has no 'role': {sorted(message)!r}")
        name = message.get("name") or message.get("tool_call_id")
        return str(message["role"]), message.get("content"), name if isinstance(name, str) else None
    if isinstance(message, tuple):
        if len(message) != 2:
            raise InputError(f"a message tuple must be (role, content), got {len(message)} items")
        return str(message[0]), message[1], None
    if isinstance(message, str):
        raise InputError("a message list holds a bare string; use ('user', text) or a dict")
    role = getattr(message, "role", None)
    if role is None:
        raise InputError(f"cannot read a message from {type(message).__name__}")
    role = getattr(role, "value", role)  # enums such as LlamaIndex's MessageRole
    name = getattr(message, "name", None)
    return str(role), getattr(message, "content", None), name if isinstance(name, str) else None


def _label(name: str | None, text: str) -> str:
    return f"{name}: {text}" if name else text


def merge_messages(messages: MessagesInput) -> list[WireMessage]:
    """Normalize messages into what the Chat API accepts, losing no text.

    - a `str` is one user message;
    - roles `developer` -> system, `human` -> user, `ai` -> assistant; a `tool` or
      `function` message becomes a user message labelled with the tool's name;
    - content lists are joined with newlines; any non-text part raises `InputError`;
    - all system messages merge, in order, into one leading system message;
    - consecutive messages of the same role merge with a blank line between them;
    - empty contents are dropped; if nothing is left, `InputError`.
    """
    if isinstance(messages, str):
        messages = [("user", messages)]
    if isinstance(messages, Mapping) or not isinstance(messages, Iterable):
        raise InputError(
            f"messages must be a string or a list of messages, got {type(messages).__name__}"
        )

    system_texts: list[str] = []
    turns: list[tuple[Role, str, str | None]] = []
    for message in messages:
        raw_role, content, name = _as_triple(message)
        role_key = raw_role.strip().lower()
        if role_key in _TOOL_ROLES:
            text = _text_of(content, role_key)
            if text.strip():
                label = f"[{role_key} result from {name}]" if name else f"[{role_key} result]"
                turns.append(("user", f"{label}\n{text}", None))
            continue
        role = _ROLE_ALIASES.get(role_key)
        if role is None:
            raise InputError(
                f"unknown message role {raw_role!r}; use system, user, assistant (or developer, "
                "human, ai, tool)"
            )
        text = _text_of(content, role)
        if not text.strip():
            continue
        if role == "system":
            system_texts.append(text)
        else:
            turns.append((role, text, name))

    merged: list[WireMessage] = []
    if system_texts:
        merged.append({"role": "system", "content": "\n\n".join(system_texts)})
    index = 0
    while index < len(turns):
        role, _, _ = turns[index]
        run = [turns[index]]
        index += 1
        while index < len(turns) and turns[index][0] == role:
            run.append(turns[index])
            index += 1
        names = {name for _, _, name in run}
        if len(run) == 1 or len(names) == 1:
            wire: WireMessage = {"role": role, "content": "\n\n".join(t for _, t, _ in run)}
            only_name = next(iter(names))
            if only_name:
                wire["name"] = only_name
        else:
            # Different speakers in one merged turn: keep who said what in the text.
            wire = {"role": role, "content": "\n\n".join(_label(n, t) for _, t, n in run)}
        merged.append(wire)

    if not merged:
        raise InputError("no message has any text to send")
    return merged
