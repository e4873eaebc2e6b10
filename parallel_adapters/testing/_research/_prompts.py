"""What a request asks for, read through the prompt templates frameworks wrap questions in.

A research model follows the template around a question; the emulator does the same for the
templates of the frameworks this kit adapts, and treats anything else as a plain question
(the last user message, whole), as before.

- DSPy (ChatAdapter and JSONAdapter): the last user message holds `[[ ## field ## ]]` input
  sections. The research query is the value of the question-like inputs (`question`, `query`,
  `claim`, ...; all inputs if there is none); context-like inputs (`context`, `passages`,
  `documents`, ...) are supplied context (below). ChatAdapter's closing instruction ("Respond
  with the corresponding output fields, starting with the field `[[ ## reasoning ## ]]`,
  then ...") lists the output fields; their types come from the system message's notes
  ("must be a single int value", "must adhere to the JSON schema: ...", ...), else from the
  instruction's "must be formatted as a valid Python int". The answer is then written in
  those sections (`layout="chat"`). JSONAdapter's instruction without a `response_format`
  gets a JSON object with those fields (`layout="json"`).
- LlamaIndex: the text-QA, tree-summarize and refine templates (`Query: ...`, `The original
  query is as follows: ...`), whose context sits between dashed lines or after `New
  Context:`; context/condense-plus-context chat engines, whose system message carries the
  context; condense templates (`Follow Up Input:` / `<Follow Up Message>`), which ask for the
  follow-up rephrased as a standalone question (`rephrase`).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._responder import Message
from ._control import numbered_options, read_control

Layout = Literal["text", "chat", "json"]

_SECTION = re.compile(r"^\[\[ ## (\w+) ## \]\][ \t]*\n?", re.MULTILINE)
_CHAT_INSTRUCTION = "Respond with the corresponding output fields"
_JSON_INSTRUCTION = "Respond with a JSON object in the following order of fields:"
_FIELD_REF = re.compile(r"`(?:\[\[ ## )?(\w+)(?: ## \]\])?`")
_PYTHON_TYPE = re.compile(
    r"`(?:\[\[ ## )?(\w+)(?: ## \]\])?` \(must be formatted as a valid Python (.+?)\)(?=, |\.?$)"
)
_NOTE = re.compile(r"\{(\w+)\}\s+# note: the value you produce (.*)$")
_JSON_LINE = re.compile(r'^\s*"\w+": (".*")\s*,?\s*$')
_OUTPUT_LIST = re.compile(r"Your output fields are:\n((?:\d+\. `\w+`.*\n?)+)")

_QUERY_WORDS = {"question", "query", "q", "claim", "topic", "request", "prompt", "task"}
_QUERY_WORDS |= {"search", "statement", "problem", "instruction", "input", "message"}
_CONTEXT_WORDS = {"context", "contexts", "passage", "passages", "document", "documents"}
_CONTEXT_WORDS |= {"docs", "chunks", "snippets", "evidence", "knowledge", "background"}

_QUERY_PATTERNS = (
    re.compile(
        r"(?:^|\n)Query: (.*?)\n(?:Answer|Original Answer|New Answer|Refined Answer):", re.S
    ),
    re.compile(
        r"The original query is as follows: (.*?)\nWe have provided an existing answer", re.S
    ),
)
_EXISTING_ANSWER = (
    re.compile(r"We have provided an existing answer: (.*?)\nWe have the opportunity", re.S),
    re.compile(r"\nOriginal Answer: (.*?)\nNew Answer:", re.S),
    re.compile(r"\nExisting Answer:\s*\n(.*?)\n\s*Instruction:", re.S),
)
_REPHRASE_PATTERNS = (
    re.compile(r"Follow Up Input: (.*?)\n\s*Standalone question:", re.S),
    re.compile(r"<Follow Up Message>\n(.*?)\n\s*<Standalone question>", re.S),
)
_CONTEXT_PATTERNS = (
    re.compile(r"^-{3,}[ \t]*\n(.*?)\n-{3,}[ \t]*$", re.S | re.M),
    re.compile(r"(?:^|\n)New Context: ?\n?(.*?)\nQuery: ", re.S),
    re.compile(r"relevant documents for the context:[ \t]*\n(.*?)\n\s*Instruction:", re.S),
)
# LlamaIndex puts a node's metadata ("file_path: ...") before its text; those lines say
# where a chunk comes from, not what it says.
_METADATA_LINE = re.compile(r"^[A-Za-z_]\w{0,40}: \S")
_NUMBERED_ITEM = re.compile(r"^\[\d+\] «?", re.M)


@dataclass(frozen=True)
class OutputField:
    """A field the prompt asks the answer to fill, with a JSON schema for its value."""

    name: str
    schema: dict[str, Any]
    python_type: str


@dataclass(frozen=True)
class Prompt:
    """The research query and how the prompt wants it answered."""

    query: str
    context: tuple[str, ...] = ()
    """Passages supplied in the prompt (candidate evidence alongside the web corpus)."""
    layout: Layout = "text"
    fields: tuple[OutputField, ...] = ()
    fallback: str | None = None
    """The existing answer a refine template says to repeat if the context does not help."""
    rephrase: bool = False
    """A condense template: the answer is the question itself, standalone."""
    control: str | None = None
    """The whole prompt, when it is a control prompt (see `_control`)."""
    tools: str | None = None
    """The system message, when it lists tools to call (an agent's turn)."""
    trusted: bool = False
    """The context holds tool results the program asked for (an agent's observations)."""

    def key(self) -> list[Any]:
        fields = [[f.name, f.schema, f.python_type] for f in self.fields]
        return [
            self.query,
            list(self.context),
            self.layout,
            fields,
            self.fallback,
            self.rephrase,
            self.control,
            self.tools,
            self.trusted,
        ]


def parse_prompt(messages: Sequence[Message]) -> Prompt:
    user = next((m.content for m in reversed(messages) if m.role == "user"), "")
    system = "\n".join(m.content for m in messages if m.role == "system")
    if _SECTION.search(user):
        dspy = _dspy_prompt(user, system)
        if dspy is not None:
            return dspy
    return _llama_index_prompt(user, system)


# -- DSPy ---------------------------------------------------------------------------------


def _dspy_prompt(user: str, system: str) -> Prompt | None:
    layout: Layout = "text"
    body, instruction = user, ""
    for marker, kind in ((_CHAT_INSTRUCTION, "chat"), (_JSON_INSTRUCTION, "json")):
        at = user.rfind(marker)
        if at >= 0:
            body, instruction, layout = user[:at], user[at:], kind  # type: ignore[assignment]
            break
    inputs = _sections(body)
    if not inputs:
        return None
    names = _output_names(instruction, system)
    if layout == "text" or not names:
        layout = "text"
    question = [v for k, v in inputs if _words(k) & _QUERY_WORDS]
    # An agent's observations are tool results it asked for: the latest answers first.
    observed = [v for k, v in reversed(inputs) if "observation" in _words(k) and v]
    context = [v for k, v in inputs if _words(k) & _CONTEXT_WORDS and not _words(k) & _QUERY_WORDS]
    context = observed or context
    query = question or [v for k, v in inputs if v not in context] or [v for _, v in inputs]
    fields = tuple(_output_field(n, instruction, system) for n in names) if layout != "text" else ()
    passages = tuple(p for value in context for p in _split_items(value))
    tools = system if fields and numbered_options(system, tools=True) else None
    return Prompt(
        query="\n".join(query),
        context=passages,
        layout=layout,
        fields=fields,
        tools=tools,
        trusted=bool(observed),
    )


def _sections(text: str) -> list[tuple[str, str]]:
    marks = list(_SECTION.finditer(text))
    result: list[tuple[str, str]] = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        name = mark.group(1)
        if name != "completed":
            result.append((name, text[mark.end() : end].strip()))
    return result


def _output_names(instruction: str, system: str) -> list[str]:
    names = [n for n in _FIELD_REF.findall(instruction) if n != "completed"]
    if names:
        return list(dict.fromkeys(names))
    listed = _OUTPUT_LIST.search(system)
    if not listed:
        return []
    return re.findall(r"^\d+\. `(\w+)`", listed.group(1), re.M)


def _output_field(name: str, instruction: str, system: str) -> OutputField:
    python_type = "str"
    for found, declared in _PYTHON_TYPE.findall(instruction):
        if found == name:
            python_type = declared
    note = _notes(system).get(name)
    schema = _schema_of_note(note) if note is not None else _schema_of_python(python_type)
    return OutputField(name, schema, python_type)


def _notes(system: str) -> dict[str, str]:
    notes: dict[str, str] = {}
    for line in system.splitlines():
        if json_line := _JSON_LINE.match(line):
            # JSONAdapter lists the fields as a JSON object whose values are the notes.
            try:
                line = str(json.loads(json_line.group(1)))
            except ValueError:
                continue
        if found := _NOTE.search(line):
            notes[found.group(1)] = found.group(2).strip()
    return notes


def _schema_of_note(note: str) -> dict[str, Any]:
    if note == "must be True or False":
        return {"type": "boolean"}
    if note == "must be a single int value":
        return {"type": "integer"}
    if note == "must be a single float value":
        return {"type": "number"}
    for prefix in ("must exactly match (no extra characters) one of: ", "must be one of: "):
        if note.startswith(prefix):
            return {"enum": note[len(prefix) :].split("; ")}
    prefix = "must adhere to the JSON schema: "
    if note.startswith(prefix):
        try:
            schema = json.loads(note[len(prefix) :])
        except ValueError:
            return {"type": "string"}
        return schema if isinstance(schema, dict) else {"type": "string"}
    return {"type": "string"}


def _schema_of_python(python_type: str) -> dict[str, Any]:
    simple = {"int": "integer", "float": "number", "bool": "boolean", "str": "string"}
    if python_type in simple:
        return {"type": simple[python_type]}
    base = python_type.split("[", 1)[0]
    if base in ("list", "List", "tuple", "set"):
        return {"type": "array", "items": {"type": "string"}}
    if base in ("dict", "Dict"):
        return {"type": "object"}
    if base == "Literal":
        try:
            options = ast.literal_eval(f"[{python_type[len('Literal[') : -1]}]")
        except (ValueError, SyntaxError):
            return {"type": "string"}
        return {"enum": [str(o) for o in options]}
    return {"type": "string"}


def _split_items(value: str) -> list[str]:
    """A list-valued input as DSPy formats it: a JSON list, or `[1] «...»` lines."""
    try:
        decoded = json.loads(value)
    except ValueError:
        decoded = None
    if isinstance(decoded, list):
        return [str(item) for item in decoded if str(item).strip()]
    parts = _NUMBERED_ITEM.split(value)
    items = [p.strip().removesuffix("»").strip() for p in parts]
    return [item for item in items if item]


def _words(name: str) -> set[str]:
    return set(name.lower().split("_"))


# -- LlamaIndex ---------------------------------------------------------------------------


def _llama_index_prompt(user: str, system: str) -> Prompt:
    for pattern in _REPHRASE_PATTERNS:
        if found := pattern.search(user):
            return Prompt(query=found.group(1).strip(), rephrase=True)
    query = user
    for pattern in _QUERY_PATTERNS:
        matches = pattern.findall(user)
        if matches:
            query = str(matches[-1]).strip()
            break
    else:
        control = read_control(user)
        if control is not None:
            return Prompt(query=control.question, control=user)
    fallback = None
    for pattern in _EXISTING_ANSWER:
        if found := pattern.search(user) or pattern.search(system):
            fallback = found.group(1).strip()
            break
    context: list[str] = []
    for text in (system, user):
        for pattern in _CONTEXT_PATTERNS:
            for block in pattern.findall(text):
                context.extend(_chunks(str(block)))
    return Prompt(query=query, context=tuple(dict.fromkeys(context)), fallback=fallback)


def _chunks(block: str) -> list[str]:
    chunks: list[str] = []
    for part in re.split(r"\n\s*\n", block):
        lines = [line.strip() for line in part.strip().splitlines() if line.strip()]
        if not lines or all(_METADATA_LINE.match(line) and len(line) < 200 for line in lines):
            continue
        chunks.append(" ".join(lines))
    return chunks
