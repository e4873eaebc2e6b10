"""From a question to evidence: the passages an answer is extracted from, and how sure it is.

Both plain-text and structured answers are built from one `Evidence`, so every emulated
answer can be traced to cited sentences and its confidence follows the retrieval score.

Context supplied in the prompt (a LlamaIndex QA template's context block, a DSPy `context`
input) is candidate evidence too. Its chunks become pages with `local://context/<n>` URLs
(n counts chunks from 1 in prompt order) and are searched first: the templates tell the model
to answer from that context, so the web corpus is used only when the context does not answer
the query. Local pages are never cited (see `_answers`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ._corpus import CorpusPage, split_sentences
from ._question import key_terms
from ._retrieval import BM25Index, Passage, tokenize

Confidence = Literal["high", "medium", "low"]

NOT_FOUND_ANSWER = (
    "I could not find information about this in the sources available to me, "
    "so I cannot answer it reliably."
)

# How many sentences each model may extract. Deeper research models answer more fully, as the
# real ones do; the exact numbers are arbitrary but fixed, which keeps answers deterministic.
_PASSAGES_PER_MODEL = {"speed": 2, "lite": 2, "base": 3, "core": 4}
# A passage joins the answer only if it scores at least this share of the best passage's
# score, so a strong hit is not diluted by loosely related sentences.
_RELATIVE_CUTOFF = 0.6
# Below this share of the question's (idf-weighted) terms, the best passage is judged not to
# answer the question at all and the emulator says it could not find anything.
_MIN_COVERAGE = 0.5
LOCAL_URL_PREFIX = "local://context/"
_LEADING_PRONOUN = re.compile(r"(?:Its|It|Their|They|His|Her|He|She|This|These)\b")
_HIGH = 0.85
_MEDIUM = 0.65


@dataclass(frozen=True)
class Evidence:
    """The outcome of one retrieval: what to say, where it comes from, how sure it is."""

    query_terms: tuple[str, ...]
    passages: tuple[Passage, ...]
    """The extracted sentences in answer order (grouped by page, page order by rank)."""
    coverage: float
    confidence: Confidence

    @property
    def found(self) -> bool:
        return bool(self.passages)

    @property
    def answer(self) -> str:
        """The extractive answer: exactly the cited excerpts, joined."""
        if not self.passages:
            return NOT_FOUND_ANSWER
        return " ".join(p.text for p in self.passages)

    def pages(self) -> list[tuple[CorpusPage, list[str]]]:
        """Each cited page once, in answer order, with the excerpts used from it."""
        grouped: dict[str, tuple[CorpusPage, list[str]]] = {}
        for passage in self.passages:
            grouped.setdefault(passage.page.url, (passage.page, []))[1].append(passage.text)
        return list(grouped.values())

    def reasoning(self) -> str:
        terms = ", ".join(self.query_terms[:8]) or "none"
        if not self.found:
            return (
                f"No source matched enough of the question's key terms ({terms}) to support "
                "an answer, so the answer says so instead of guessing."
            )
        titles = "; ".join(f'"{page.title}"' for page, _ in self.pages())
        count = len(self.passages)
        reasoning = (
            f"Extracted {count} sentence{'s' if count > 1 else ''} from {titles}, the passages "
            f"that best match the question's key terms ({terms}); they cover "
            f"{round(self.coverage * 100)}% of the weighted terms, hence {self.confidence} "
            "confidence."
        )
        if self.local:
            reasoning += (
                " They come from the context supplied with the question, which has no web "
                "address, so they are not listed as citations."
            )
        return reasoning

    @property
    def local(self) -> bool:
        """True if the answer comes from context supplied in the prompt."""
        return any(is_local(p.page) for p in self.passages)


def is_local(page: CorpusPage) -> bool:
    return page.url.startswith(LOCAL_URL_PREFIX)


def local_pages(chunks: Sequence[str]) -> tuple[CorpusPage, ...]:
    """The prompt's context chunks as pages (numbered from 1 in prompt order)."""
    return tuple(
        CorpusPage(url=f"{LOCAL_URL_PREFIX}{n}", title=f"context passage {n}", text=chunk)
        for n, chunk in enumerate(chunks, 1)
        if split_sentences(chunk)
    )


def gather_evidence(
    index: BM25Index,
    question: str,
    model: str,
    context: Sequence[str] = (),
    topic: Sequence[str] = (),
    trusted: bool = False,
) -> Evidence:
    """Retrieve and select the passages that answer `question` for `model`.

    With `context` (chunks supplied in the prompt), those are searched first and answer if
    they can; the web corpus otherwise. `trusted` context (a tool's result the program asked
    for) answers if it shares any term with the question. `topic` (terms of the topic an
    earlier turn set) is searched for too, and every passage must be about it.
    """
    pages = local_pages(context)
    if pages:
        # The chunk's label is not its content: titles stay out of the local index.
        local_index = BM25Index(pages, index_titles=False)
        local = _gather(local_index, question, model, min_coverage=0.0 if trusted else None)
        if local.found:
            return local
    return _gather(index, question, model, topic)


def _gather(
    index: BM25Index,
    question: str,
    model: str,
    topic: Sequence[str] = (),
    min_coverage: float | None = None,
) -> Evidence:
    terms = [*key_terms(question), *topic]
    unique_terms = tuple(dict.fromkeys(terms))
    budget = _PASSAGES_PER_MODEL.get(model, 2)
    hits = index.search(terms, limit=budget * 4, required=topic)
    floor = _MIN_COVERAGE if min_coverage is None else min_coverage
    if not hits or hits[0].coverage < floor or hits[0].score <= 0:
        return Evidence(unique_terms, (), hits[0].coverage if hits else 0.0, "low")
    best = hits[0]
    strong = [h for h in hits if h.score >= _RELATIVE_CUTOFF * best.score]
    # "Its capital ... is Berlin." speaks of its page's subject: it joins an answer about
    # France only if it is the best hit, or its page is one the question names.
    named = set(terms)
    chosen = [
        h
        for h in strong
        if h is best
        or not _LEADING_PRONOUN.match(h.passage.text)
        or named & set(tokenize(h.passage.page.title))
    ][:budget]
    return Evidence(
        query_terms=unique_terms,
        passages=_answer_order([h.passage for h in chosen]),
        coverage=best.coverage,
        confidence=_confidence(best.coverage),
    )


def _answer_order(passages: Sequence[Passage]) -> tuple[Passage, ...]:
    # Pages keep their rank order, but sentences of one page read in the page's own order,
    # so "France is a country ... Its capital is Paris." is not reversed.
    page_rank: dict[str, int] = {}
    for passage in passages:
        page_rank.setdefault(passage.page.url, len(page_rank))
    return tuple(sorted(passages, key=lambda p: (page_rank[p.page.url], p.position)))


def _confidence(coverage: float) -> Confidence:
    if coverage >= _HIGH:
        return "high"
    if coverage >= _MEDIUM:
        return "medium"
    return "low"
