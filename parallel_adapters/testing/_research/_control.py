"""Control prompts: a program asking for an answer in a shape, read by what it contains.

Nothing here matches one framework's template text; it looks for what any such prompt has:
- a JSON schema embedded in the prompt (an object with `properties`, `$defs` or a schema
  `type`): the answer is JSON valid against it;
- a JSON example of the output (a JSON value, strict or with bare keys and `...`, introduced
  by a word like "example", "output", "format" or "like"): the answer is JSON in its shape;
- options to choose from: numbered lines ("(1) ...", "2. ...") or a JSON object of names to
  descriptions (a tool list); the option sharing most key terms with the question is picked
  (the first on a tie) and the reason names the shared terms;
- the question itself: the text after the last "question"/"query" label (a quoted span or
  the rest of the line), else the prompt without its JSON, option lines and labels;
- the keys a prompt names for a `json_object` answer ("with the keys `capital` and ...").
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ._question import proper_nouns, topic
from ._retrieval import tokenize

# The label may sit a line or two above the value ("<Output>", then a code fence).
_LABEL = re.compile(
    r"(?i)\b(?:example|output|format|like|sample|shape|instance)\b[^\n]{0,40}"
    r"(?:\n[^\n]{0,20}){0,2}$"
)
_NUMBERED = re.compile(r"^[ \t]*\(?(\d{1,2})[).:][ \t]+(\S.*)$", re.M)
_QUESTION_LABEL = re.compile(r"(?i)\b(?:question|query)\b[ \t]*(?:is)?[ \t]*[:>]?[ \t]*\n?")
_KEY_SENTENCE = re.compile(r"[^.\n]*\b(?:keys?|fields?|properties)\b[^.\n]*", re.I)
_CHOICE = re.compile(r"(?i)\b(?:choices?|choose|options?|select|pick|tools?)\b")
_SCHEMA_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
_REASON_WORDS = {"reason", "reasoning", "why", "rationale", "explanation", "thought", "because"}
_PICK_WORDS = {"choice", "option", "tool", "route", "category", "selection", "pick", "label"}
_QUESTION_WORDS = {"question", "query", "questions", "queries", "request"}
_FINISH_NAMES = {"finish", "final", "done", "submit", "final_answer", "stop"}


@dataclass(frozen=True)
class Option:
    """One choice: its number (1-based, in prompt order), name and description."""

    number: int
    name: str
    text: str
    arguments: dict[str, Any] | None = None
    """The JSON schema of each argument, when the option is a tool that takes arguments."""

    @property
    def finishes(self) -> bool:
        return self.name.lower() in _FINISH_NAMES


@dataclass(frozen=True)
class Control:
    """What a control prompt asks for; `question` is what it is about."""

    question: str
    schema: dict[str, Any] | None = None
    example: Any = None
    options: tuple[Option, ...] = ()
    example_names: frozenset[str] = field(default_factory=frozenset)
    """Option names used in earlier examples (so "uber_10k" in a demo marks a tool slot)."""
    keys_only: bool = False
    """The schema stands for keys the prompt names in prose (a `json_object` request)."""

    def pick(self, question: str | None = None) -> tuple[Option, str]:
        """The option that fits the question best, and why."""
        return pick(self.options, question or self.question)

    def fitting(self, question: str | None = None) -> list[Option]:
        """The options sharing a key term with the question, in order; else the first."""
        return self.sharing(question) or [self.pick(question)[0]]

    def sharing(self, question: str | None = None) -> list[Option]:
        """The options sharing a key term with the question, in order (maybe none)."""
        terms = set(tokenize(question or self.question))
        return [o for o in self.options if terms & _option_terms(o)]


def read_control(text: str) -> Control | None:
    """The control a prompt exerts, or None for a plain question."""
    blocks = json_blocks(text)
    schema = None
    example: Any = None
    named: list[dict[str, str]] = []
    for start, _end, value in blocks:
        if _is_schema(value):
            schema = value
        elif isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
            named.append(value)
        elif isinstance(value, (dict, list)) and _LABEL.search(text[max(0, start - 60) : start]):
            example = value
    options: tuple[Option, ...] = ()
    example_names: frozenset[str] = frozenset()
    if named:
        options = tuple(Option(n, k, v) for n, (k, v) in enumerate(named[-1].items(), 1))
        example_names = frozenset(k for names in named[:-1] for k in names)
    else:
        options = numbered_options(_without_blocks(text, blocks))
    if schema is None and example is None and not (len(options) >= 2 and _CHOICE.search(text)):
        return None
    return Control(_question(text, blocks), schema, example, options, example_names)


def numbered_options(text: str, tools: bool = False) -> tuple[Option, ...]:
    """The last list of numbered lines 1, 2, ... (at least two); with `tools`, the last list
    whose options take arguments (an agent's tool list)."""
    runs: list[list[Option]] = []
    for found in _NUMBERED.finditer(text):
        number, line = int(found.group(1)), found.group(2).strip()
        if number == 1:
            runs.append([])
        elif not runs or number != len(runs[-1]) + 1:
            continue
        # "search, whose description is ..." names a tool; a plain line is its own name.
        named = re.match(r"([A-Za-z_][\w.-]*)[,:]\s", line)
        arguments = None
        if at := re.search(r"arguments:?\s*(\{.*\})", line):
            try:
                parsed = ast.literal_eval(at.group(1))
            except (ValueError, SyntaxError):
                parsed = None
            arguments = parsed if isinstance(parsed, dict) else None
        runs[-1].append(Option(number, named.group(1) if named else line, line, arguments))
    lists = [run for run in runs if len(run) >= 2]
    if tools:
        lists = [run for run in lists if any(o.arguments is not None for o in run)]
    return tuple(lists[-1]) if lists else ()


def pick(options: tuple[Option, ...], question: str) -> tuple[Option, str]:
    terms = tokenize(question)
    best, shared = options[0], list[str]()
    for option in options:
        common = [t for t in dict.fromkeys(terms) if t in _option_terms(option)]
        if len(common) > len(shared):
            best, shared = option, common
    if shared:
        why = f"it is the option that covers the question's key terms ({', '.join(shared)})"
    else:
        why = "no option shares a key term with the question, so the first is taken"
    return best, f'Option {best.number} ("{best.name}") fits: {why}.'


def _option_terms(option: Option) -> set[str]:
    return set(tokenize(f"{option.name.replace('_', ' ')} {option.text}"))


def named_keys(text: str) -> list[str]:
    """The keys a prompt names for a JSON object answer, in order."""
    keys: list[str] = []
    for sentence in _KEY_SENTENCE.findall(text):
        marked = re.findall(r"[`\"'“‘]([A-Za-z_]\w*)[`\"'”’]", sentence)
        if not marked:
            after = re.search(
                r"(?i)\b(?:keys?|fields?|properties)\b\s*(?:named|called)?:?\s*(.*)", sentence
            )
            tail = after.group(1) if after else ""
            marked = [
                w
                for w in re.split(r"\s*,\s*|\s+and\s+|\s+", tail)
                if re.fullmatch(r"[A-Za-z_]\w*", w)
            ]
        keys.extend(marked)
    return list(dict.fromkeys(keys))


def json_blocks(text: str) -> list[tuple[int, int, Any]]:
    """Every JSON object or array in the text (strict, or lax: bare keys, `...`)."""
    found: list[tuple[int, int, Any]] = []
    position = 0
    while True:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            return found
        start = min(starts)
        end = _balanced_end(text, start)
        value = _loads(text[start:end]) if end else None
        if value is not None and isinstance(value, (dict, list)):
            found.append((start, end, value))
            position = end
        else:
            position = start + 1


def _balanced_end(text: str, start: int) -> int:
    depth, quote, escaped = 0, "", False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            escaped = not escaped and ch == "\\"
            if ch == quote and not escaped:
                quote = ""
            continue
        if ch == '"':
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return 0


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        pass
    # Template engines leave escaped braces ("{{ choice: 1 }}") in examples they append.
    lax = raw.replace("{{", "{").replace("}}", "}")
    lax = re.sub(r"^\s*(?:\.\.\.|…),?\s*$", "", lax, flags=re.M)
    lax = re.sub(r"([{,]\s*)([A-Za-z_]\w*)\s*:", r'\1"\2":', lax)
    lax = re.sub(r",\s*([}\]])", r"\1", lax)
    try:
        return json.loads(lax)
    except ValueError:
        return None


def _is_schema(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("properties"), dict) or "$defs" in value or "$schema" in value:
        return True
    return value.get("type") in _SCHEMA_TYPES and len(value) > 1


def _without_blocks(text: str, blocks: list[tuple[int, int, Any]]) -> str:
    parts, position = [], 0
    for start, end, _ in blocks:
        parts.append(text[position:start])
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _question(text: str, blocks: list[tuple[int, int, Any]]) -> str:
    rest = _without_blocks(text, blocks)
    labels = list(_QUESTION_LABEL.finditer(rest))
    for label in reversed(labels):
        after = rest[label.end() :].lstrip()
        if after[:1] in "'\"‘“":
            closing = {"'": "'", '"': '"', "‘": "’", "“": "”"}[after[0]]
            end = re.search(re.escape(closing) + r"(?!\w)", after[1:])
            if end:
                return after[1 : end.start() + 1].strip()
        line = after.split("\n", 1)[0].strip()
        if len(tokenize(line)) >= 1 and not line.startswith("`"):
            return line
    lines = [
        line
        for line in rest.splitlines()
        if line.strip()
        and not _NUMBERED.match(line)
        and not re.fullmatch(r"\s*(?:-{3,}|`{3}\w*|<[^>]+>|#.*)\s*", line)
        and not line.rstrip().endswith(":")
    ]
    return topic("\n".join(lines))


def question_words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return set(re.findall(r"[a-z]+", spaced.lower()))


def wants_pick(key: str) -> bool:
    return bool(question_words(key) & _PICK_WORDS)


def wants_reason(key: str) -> bool:
    return bool(question_words(key) & _REASON_WORDS)


def wants_question(key: str, example: str) -> bool:
    return bool(question_words(key) & _QUESTION_WORDS) or example.rstrip().endswith("?")


def proper_subject(question: str) -> str:
    """What a question is about, for a tool's argument: its proper nouns, else its topic."""
    nouns = proper_nouns(question)
    return " ".join(nouns) if nouns else topic(question).rstrip("?.! ")
