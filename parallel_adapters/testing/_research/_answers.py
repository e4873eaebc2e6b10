"""Answers and their basis, for each response format, cached because they are deterministic.

- text: the extractive answer; basis field "output" (the name the Task API gives a text
  output, which the research models wrap).
- json_object: `{"answer": ...}`; basis field "answer".
- json_schema: a value valid against the schema (see `_schema`); one basis entry per
  top-level property, each citing the sentences that property was filled from.
- a DSPy ChatAdapter prompt (see `_prompts`): each requested output field in its
  `[[ ## field ## ]]` section, in the requested order, then `[[ ## completed ## ]]`; values
  of typed fields (int, float, bool, Literal, list, dict) are filled like json_schema
  properties and written the way DSPy parses them. One basis entry per output field.
- a DSPy JSONAdapter prompt without `response_format`: a JSON object with those fields.
- a refine template whose context does not answer: the existing answer, kept.
- a condense template: the follow-up question, standalone; nothing to cite.
The `speed` model gets the same content and no basis (`[]`), as documented.

Context supplied in the prompt (see `_evidence`) answers from `local://context/<n>` pages
that are never cited: a citation is a web page a reader can open, and a LlamaIndex user
already has the local sources as `response.source_nodes`. When the answer comes from the
context, the basis reasoning says so and its citations are empty.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._responder import ResponseFormat
from ._corpus import CorpusPage
from ._evidence import Evidence, gather_evidence, is_local
from ._prompts import Prompt
from ._retrieval import BM25Index, Passage
from ._schema import FieldFill, fill_schema

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

    def answer(self, model: str, prompt: Prompt, response_format: ResponseFormat | None) -> Answer:
        key = json.dumps(
            [model, prompt.key(), response_format and response_format.canonical()], sort_keys=True
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        answer = self._build(model, prompt, response_format)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # crude, but answers are cheap to rebuild
            self._cache[key] = answer
        return answer

    def _build(self, model: str, prompt: Prompt, fmt: ResponseFormat | None) -> Answer:
        with_basis = model in RESEARCH_MODELS
        if prompt.rephrase:
            basis = [_REPHRASE_BASIS]
            return Answer(prompt.query, tuple(basis) if with_basis else ())
        evidence = gather_evidence(self._index, prompt.query, model, prompt.context)
        if (fmt is None or fmt.type == "text") and prompt.fields:
            content, basis = _fields_answer(prompt, evidence)
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
        value, fields = fill_schema(fmt.schema, evidence)
        basis = [_field_entry(name, fill, evidence) for name, fill in fields]
        return Answer(_dump(value), tuple(basis) if with_basis else ())


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


def _fields_answer(prompt: Prompt, evidence: Evidence) -> tuple[str, list[JSONObject]]:
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
    value, fields = fill_schema(root, evidence)
    basis = [_field_entry(name, fill, evidence) for name, fill in fields]
    if prompt.layout == "json":
        return _dump(value), basis
    sections = [f"[[ ## {name} ## ]]\n{_chat_value(value[name])}" for name, _ in fields]
    return "\n\n".join([*sections, "[[ ## completed ## ]]"]), basis


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
