"""Answers and their basis, for each response format, cached because they are deterministic.

- text: the extractive answer; basis field "output" (the name the Task API gives a text
  output, which the research models wrap).
- json_object: `{"answer": ...}`; basis field "answer".
- json_schema: a value valid against the schema (see `_schema`); one basis entry per
  top-level property, each citing the sentences that property was filled from.
The `speed` model gets the same content and no basis (`[]`), as documented.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._corpus import CorpusPage
from ._evidence import Evidence, gather_evidence
from ._retrieval import BM25Index, Passage
from ._schema import FieldFill, fill_schema
from ._validation import ResponseFormat

MODELS = ("speed", "lite", "base", "core")
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

    def answer(self, model: str, question: str, response_format: ResponseFormat | None) -> Answer:
        key = json.dumps(
            [model, question, response_format and response_format.canonical()], sort_keys=True
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        answer = self._build(model, question, response_format)
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # crude, but answers are cheap to rebuild
            self._cache[key] = answer
        return answer

    def _build(self, model: str, question: str, fmt: ResponseFormat | None) -> Answer:
        evidence = gather_evidence(self._index, question, model)
        with_basis = model in RESEARCH_MODELS
        if fmt is None or fmt.type == "text":
            basis = [_entry(TEXT_FIELD, evidence.passages, evidence.reasoning(), evidence)]
            return Answer(evidence.answer, tuple(basis) if with_basis else ())
        if fmt.type == "json_object" or fmt.schema is None:
            content = _dump({JSON_OBJECT_FIELD: evidence.answer})
            basis = [_entry(JSON_OBJECT_FIELD, evidence.passages, evidence.reasoning(), evidence)]
            return Answer(content, tuple(basis) if with_basis else ())
        value, fields = fill_schema(fmt.schema, evidence)
        basis = [_field_entry(name, fill, evidence) for name, fill in fields]
        return Answer(_dump(value), tuple(basis) if with_basis else ())


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
        citation = pages.setdefault(
            passage.page.url,
            {"url": passage.page.url, "title": passage.page.title, "excerpts": []},
        )
        if passage.text not in citation["excerpts"]:
            citation["excerpts"].append(passage.text)
    return list(pages.values())
