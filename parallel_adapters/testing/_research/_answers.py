"""Answers and their basis, for each response format, cached because they are deterministic.

- text: the extractive answer; basis field "output" (the name the Task API gives a text
  output, which the research models wrap).
- json_object: the keys the prompt names ("with the keys `capital` and `population`"),
  filled like json_schema properties; with none named, `{"answer": ...}`, basis "answer".
- a control prompt (see `_control`): its embedded schema or JSON example filled, or the
  option it asks to pick, with the reason.
- json_schema: a value valid against the schema (see `_schema`); one basis entry per
  top-level property, each citing the sentences that property was filled from.
- a DSPy ChatAdapter prompt (see `_prompts`): each requested output field in its
  `[[ ## field ## ]]` section, in the requested order, then `[[ ## completed ## ]]`; values
  of typed fields (int, float, bool, Literal, list, dict) are filled like json_schema
  properties and written the way DSPy parses them. One basis entry per output field.
- a DSPy JSONAdapter prompt without `response_format`: a JSON object with those fields.
- a refine template whose context does not answer: the existing answer, kept.
- a condense template: the follow-up question, standalone; nothing to cite.
- an agent's turn (a DSPy prompt listing tools with arguments): the first tool sharing a
  term with the question, arguments from the question; `finish` once an observation is in.
The `speed` model gets the same content and no basis (`[]`), as documented.

Context supplied in the prompt (see `_evidence`) answers from `local://context/<n>` pages
that are never cited: a citation is a web page a reader can open, and a LlamaIndex user
already has the local sources as `response.source_nodes`. When the answer comes from the
context, the basis reasoning says so and its citations are empty.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._responder import ResponseFormat
from ._control import (
    Control,
    Option,
    named_keys,
    numbered_options,
    proper_subject,
    read_control,
    wants_pick,
    wants_question,
    wants_reason,
)
from ._corpus import CorpusPage
from ._evidence import Evidence, gather_evidence, is_local
from ._prompts import Prompt
from ._retrieval import BM25Index, Passage, tokenize
from ._schema import FieldFill, Finder, fill_schema
from ._values import number_of

RESEARCH_MODELS = frozenset({"lite", "base", "core"})
TEXT_FIELD = "output"
JSON_OBJECT_FIELD = "answer"

JSONObject = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    content: str
    basis: tuple[JSONObject, ...]
    """FieldBasis objects, ready to serialise; empty for `speed`."""


class AnswerEngine:
    """Owns the corpus index (built once) and a bounded cache of finished answers."""

    def __init__(self, pages: Sequence[CorpusPage], cache_size: int = 4096) -> None:
        self._index = BM25Index(pages)
        self._cache: dict[str, Answer] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def answer(
        self,
        model: str,
        prompt: Prompt,
        response_format: ResponseFormat | None,
        topic: Sequence[str] = (),
    ) -> Answer:
        key = json.dumps(
            [model, prompt.key(), response_format and response_format.canonical(), list(topic)],
            sort_keys=True,
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        answer = self._build(model, prompt, response_format, topic)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # crude, but answers are cheap to rebuild
            self._cache[key] = answer
        return answer

    def topic_of(self, question: str, model: str) -> tuple[str, ...]:
        """The terms of the page that answers `question` (what "its" refers to later)."""
        evidence = gather_evidence(self._index, question, model)
        pages = [page for page, _ in evidence.pages() if not is_local(page)]
        return tuple(tokenize(pages[0].title)) if pages else ()

    def _finder(self, evidence: Evidence) -> Finder:
        urls = {page.url for page, _ in evidence.pages()}

        def find(cues: Sequence[str]) -> Passage | None:
            if not urls:
                return None
            hits = self._index.search([*evidence.query_terms, *cues], limit=12, required=cues)
            return next((h.passage for h in hits if h.passage.page.url in urls), None)

        return find

    def _build(
        self, model: str, prompt: Prompt, fmt: ResponseFormat | None, topic: Sequence[str]
    ) -> Answer:
        with_basis = model in RESEARCH_MODELS
        if prompt.rephrase:
            basis = [_REPHRASE_BASIS]
            return Answer(prompt.query, tuple(basis) if with_basis else ())
        evidence = gather_evidence(
            self._index, prompt.query, model, prompt.context, topic, prompt.trusted
        )
        finder = self._finder(evidence)
        control = read_control(prompt.control) if prompt.control else None
        if control is None and fmt is not None and fmt.type == "json_object":
            keys = named_keys(prompt.query)
            if keys:
                control = Control(prompt.query, schema=_keys_schema(keys), keys_only=True)
        if control is not None and (fmt is None or fmt.type != "json_schema"):
            content, basis = _control_answer(control, evidence, finder)
            return Answer(content, tuple(basis) if with_basis else ())
        if (fmt is None or fmt.type == "text") and prompt.fields:
            content, basis = _fields_answer(prompt, evidence, finder)
            return Answer(content, tuple(basis) if with_basis else ())
        if fmt is None or fmt.type == "text":
            if not evidence.found and prompt.fallback:
                basis = [_entry(TEXT_FIELD, [], _KEPT_REASONING, evidence)]
                return Answer(prompt.fallback, tuple(basis) if with_basis else ())
            basis = [_entry(TEXT_FIELD, evidence.passages, evidence.reasoning(), evidence)]
            return Answer(evidence.answer, tuple(basis) if with_basis else ())
        if fmt.type == "json_object" or fmt.schema is None:
            content = _dump({JSON_OBJECT_FIELD: evidence.answer})
            basis = [_entry(JSON_OBJECT_FIELD, evidence.passages, evidence.reasoning(), evidence)]
            return Answer(content, tuple(basis) if with_basis else ())
        value, fields = fill_schema(fmt.schema, evidence, finder)
        basis = [_field_entry(name, fill, evidence) for name, fill in fields]
        return Answer(_dump(value), tuple(basis) if with_basis else ())


def _as_number(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(
        r"-?\d[\d,]*(?:\.\d+)?(?: \w+illion| thousand)?", value
    ):
        number = number_of(value)
        if number is not None:
            return int(number) if number.is_integer() else number
    return value


def _keys_schema(keys: Sequence[str]) -> JSONObject:
    return {
        "type": "object",
        "properties": {key: {"type": "string"} for key in keys},
        "required": list(keys),
        "additionalProperties": False,
    }


def _control_answer(
    control: Control, evidence: Evidence, finder: Finder
) -> tuple[str, list[JSONObject]]:
    """A control prompt's answer: its schema or example filled, or the option it asks for."""
    if control.schema is not None:
        value, fields = fill_schema(control.schema, evidence, finder)
        if control.keys_only and isinstance(value, dict):
            # Keys named in prose have no types: a value that is a number is written as one.
            value = {key: _as_number(item) for key, item in value.items()}
        return _dump(value), [_field_entry(name, fill, evidence) for name, fill in fields]
    if control.example is not None:
        filler = _ExampleFiller(control, evidence, finder)
        value = filler.fill(control.example, "output", None)
        reasoning = "The answer follows the JSON example in the prompt. " + evidence.reasoning()
        return _dump(value), [_entry(TEXT_FIELD, filler.passages, reasoning, evidence)]
    option, why = control.pick()
    reasoning = f"The prompt asks to pick one of {len(control.options)} options. {why}"
    return f"({option.number}) {option.name}. {why}", [_entry(TEXT_FIELD, [], reasoning, evidence)]


class _ExampleFiller:
    """Fills a JSON example in its own shape: picks, reasons, questions and sourced values."""

    def __init__(self, control: Control, evidence: Evidence, finder: Finder) -> None:
        self._control = control
        self._evidence = evidence
        self._finder = finder
        self.passages: list[Passage] = []

    def fill(self, example: Any, key: str, option: Option | None) -> Any:
        if isinstance(example, dict):
            return {k: self.fill(v, k, option) for k, v in example.items()}
        if isinstance(example, list):
            items = [e for e in example if e not in ("...", "…")] or [""]
            first = items[0]
            if self._control.options and self._picks(first):
                return [self.fill(first, key, o) for o in self._control.fitting()]
            return [self.fill(first, key, option)]
        picked, why = self._control.pick() if self._control.options else (None, "")
        chosen = option or picked
        if isinstance(example, bool):
            return self._evidence.found
        if isinstance(example, (int, float)):
            if chosen is not None and wants_pick(key):
                return chosen.number
            return self._sourced(key, "integer" if isinstance(example, int) else "number")
        text = str(example)
        if chosen is not None and (wants_pick(key) or text in self._names()):
            return chosen.name
        if wants_reason(key):
            return why if chosen is not None else self._evidence.reasoning()
        if wants_question(key, text):
            return self._control.question
        return self._sourced(key, "string")

    def _names(self) -> set[str]:
        return set(self._control.example_names) | {o.name for o in self._control.options}

    def _picks(self, item: Any) -> bool:
        if not isinstance(item, dict):
            return False
        return any(wants_pick(k) or str(v) in self._names() for k, v in item.items())

    def _sourced(self, key: str, kind: str) -> Any:
        schema = {"type": "object", "properties": {key: {"type": kind}}, "required": [key]}
        value, fields = fill_schema(schema, self._evidence, self._finder)
        for passage in fields[0][1].passages:
            if passage not in self.passages:
                self.passages.append(passage)
        return value[key]


_REPHRASE_BASIS: JSONObject = {
    "field": TEXT_FIELD,
    "citations": [],
    "reasoning": "The request asks for the follow-up message as a standalone question, "
    "which needs no sources.",
    "confidence": "high",
}
_KEPT_REASONING = (
    "Neither the new context nor the sources match the query's key terms, so the existing "
    "answer is kept, as the prompt asks."
)


def _fields_answer(
    prompt: Prompt, evidence: Evidence, finder: Finder
) -> tuple[str, list[JSONObject]]:
    """The output fields a DSPy prompt asks for, in its layout, and their basis."""
    properties: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for output in prompt.fields:
        schema = dict(output.schema)
        # Pydantic puts nested models under the field's own $defs; refs are root-relative.
        definitions.update(schema.pop("$defs", None) or {})
        properties[output.name] = schema
    root: JSONObject = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if definitions:
        root["$defs"] = definitions
    value, fields = fill_schema(root, evidence, finder)
    basis = [_field_entry(name, fill, evidence) for name, fill in fields]
    if prompt.tools is not None:
        _agent_turn(prompt, value, numbered_options(prompt.tools, tools=True))
    if prompt.layout == "json":
        return _dump(value), basis
    sections = [f"[[ ## {name} ## ]]\n{_chat_value(value[name])}" for name, _ in fields]
    return "\n\n".join([*sections, "[[ ## completed ## ]]"]), basis


def _agent_turn(prompt: Prompt, value: JSONObject, tools: tuple[Option, ...]) -> None:
    """An agent's next step: the first tool that fits, or finish once a tool has answered."""
    names = {tool.name for tool in tools}
    choosers = [f for f in prompt.fields if set(f.schema.get("enum") or ()) & names]
    if not choosers:
        return
    callable_tools = tuple(t for t in tools if not t.finishes)
    finish = next((t for t in tools if t.finishes), None)
    fits = Control(prompt.query, options=callable_tools).sharing()
    if finish is not None and (prompt.trusted or not fits):
        chosen = finish
        thought = "The tool results answer the question, so the task is finished."
        if not prompt.trusted:
            thought = "No tool fits the question's key terms, so the task is finished."
        arguments: JSONObject = {}
    else:
        chosen = (fits or list(callable_tools) or list(tools))[0]
        _, why = Control(prompt.query, options=(chosen,)).pick()
        thought = f"To answer, call {chosen.name}: {why}"
        arguments = _tool_arguments(chosen, prompt.query)
    for output in prompt.fields:
        if output in choosers:
            value[output.name] = chosen.name
        elif output.schema.get("type") == "object":
            value[output.name] = arguments
        elif output.schema.get("type") == "string":
            value[output.name] = thought


def _tool_arguments(tool: Option, question: str) -> JSONObject:
    """Arguments valid against the tool's schema, taken from the question."""
    subject = proper_subject(question)
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", question)]
    arguments: JSONObject = {}
    for name, schema in (tool.arguments or {}).items():
        spec = schema if isinstance(schema, dict) else {}
        kind = spec.get("type", "string")
        if spec.get("enum"):
            arguments[name] = spec["enum"][0]
        elif kind == "integer":
            arguments[name] = int(numbers[0]) if numbers else int(spec.get("minimum", 0))
        elif kind == "number":
            arguments[name] = numbers[0] if numbers else float(spec.get("minimum", 0))
        elif kind == "boolean":
            arguments[name] = True
        elif kind == "array":
            arguments[name] = [subject]
        else:
            arguments[name] = subject
    return arguments


def _chat_value(value: Any) -> str:
    """A value written the way DSPy's ChatAdapter parses it back (`parse_value`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return str(value)  # True / False / None: Python literals, as the prompt asks
    if isinstance(value, (int, float)):
        return str(value)
    return _dump(value)


def _dump(value: Any) -> str:
    # Default separators: the spaces give the stream natural word-sized chunks.
    return json.dumps(value, ensure_ascii=False)


def _entry(
    field: str,
    passages: Sequence[Passage],
    reasoning: str,
    evidence: Evidence,
    confidence: str | None = None,
) -> JSONObject:
    return {
        "field": field,
        "citations": _citations(passages),
        "reasoning": reasoning,
        "confidence": confidence or evidence.confidence,
    }


def _field_entry(name: str, fill: FieldFill, evidence: Evidence) -> JSONObject:
    if not fill.derived:
        reasoning = (
            f"No source states a value for {name}, so it was set from the schema's "
            "constraints alone."
        )
        return _entry(name, [], reasoning, evidence, confidence="low")
    titles = "; ".join(sorted({f'"{p.page.title}"' for p in fill.passages}))
    reasoning = f"The value of {name} is taken from {titles}. {evidence.reasoning()}"
    return _entry(name, fill.passages, reasoning, evidence)


def _citations(passages: Sequence[Passage]) -> list[JSONObject]:
    """One citation per page, in order of first use, with the sentences used as excerpts."""
    pages: dict[str, JSONObject] = {}
    for passage in passages:
        if is_local(passage.page):
            continue
        citation = pages.setdefault(
            passage.page.url,
            {"url": passage.page.url, "title": passage.page.title, "excerpts": []},
        )
        if passage.text not in citation["excerpts"]:
            citation["excerpts"].append(passage.text)
    return list(pages.values())
