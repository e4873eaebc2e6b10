"""BM25 keyword retrieval over the corpus, one passage per sentence.

Hand-written on purpose: it is ~50 lines over a few hundred passages, the usual package
(rank-bm25) has been unmaintained since 2022, and owning it lets us make every step
deterministic (sorted term order, stable tie-breaks), which byte-identical answers need.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ._corpus import CorpusPage, all_sentences

# Words that carry no topic. Kept short: BM25's idf already discounts common words, this only
# stops a question's grammar ("what is the ...") from matching every page a little.
_STOPWORDS = frozenset(
    " ".join(
        [
            "a about after all also an and any are as at be been before being both but by can",
            "could did do does doing for from had has have how i if in into is it its itself",
            "just many me more most much my no nor not of on once only or other our out over own",
            "same should so some such than that the their them then there these they this those",
            "through to too under until up very was we were what when where which while who",
            "whom why will with would you your tell give please know explain describe",
        ]
    ).split()
)
_WORD = re.compile(r"\w+")
# "France's" is France, "who's" is who, "isn't" is is: the clitic is grammar, not a term
# (split off, a lone "s" or "t" would be a key term no passage contains).
_CLITIC = re.compile(r"(?<=\w)n['’]t\b|(?<=\w)['’](?:s|re|ll|ve|d|m)\b")

# Okapi BM25's usual constants.
_K1 = 1.5
_B = 0.75


def tokenize(text: str) -> list[str]:
    """Lower-cased, accent-folded, lightly stemmed terms without stopwords.

    `snake_case` identifiers yield the whole word and its parts, so both "response_format"
    and "response format" find the page that mentions the parameter.
    """
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _CLITIC.sub("", folded)
    terms: list[str] = []
    for word in _WORD.findall(folded):
        parts = [word, *word.split("_")] if "_" in word.strip("_") else [word.strip("_")]
        terms.extend(_stem(part) for part in parts if part and part not in _STOPWORDS)
    return terms


def _stem(term: str) -> str:
    # Suffix folding only ("citations"/"citation", "landed"/"landing"/"land"): a real stemmer
    # would be a dependency for no visible gain on a corpus this size. Queries and passages
    # go through the same function, so an odd stem ("speed" -> "spe") still matches itself.
    if len(term) > 4 and term.endswith("ies"):
        return term[:-3] + "y"
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        term = term[:-1]
    if len(term) > 5 and term.endswith("ing"):
        return term[:-3]
    if len(term) > 4 and term.endswith("ed"):
        return term[:-2]
    return term


@dataclass(frozen=True)
class Passage:
    """A sentence of a page; `position` is its index among the page's sentences."""

    page: CorpusPage
    position: int
    text: str


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    coverage: float
    """Share (by idf weight) of the query's terms that the passage contains, in [0, 1]."""


class BM25Index:
    """Built once per emulator; searches are read-only, so it is safe to share."""

    def __init__(self, pages: Sequence[CorpusPage], index_titles: bool = True) -> None:
        self.passages: list[Passage] = []
        self._terms: list[frozenset[str]] = []
        lengths: list[int] = []
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for page, position, sentence in all_sentences(pages):
            # The title is part of every passage of its page: "capital of France" must find
            # "Its capital is Paris." on the page titled France.
            title = tokenize(page.title) if index_titles else []
            counts = Counter(tokenize(sentence) + title)
            index = len(self.passages)
            self.passages.append(Passage(page, position, sentence))
            self._terms.append(frozenset(counts))
            lengths.append(sum(counts.values()))
            for term, tf in sorted(counts.items()):
                self._postings.setdefault(term, []).append((index, tf))
        count = len(self.passages)
        self._norms = [_K1 * (1 - _B + _B * n / (sum(lengths) / count)) for n in lengths]
        self._idf = {t: _idf(count, len(p)) for t, p in self._postings.items()}
        self._unknown_idf = _idf(count, 0)

    def search(
        self, query_terms: Sequence[str], limit: int, required: Sequence[str] = ()
    ) -> list[Hit]:
        """The best `limit` passages for the terms, best first; ties keep corpus order.

        With `required`, only passages (title included) holding one of those terms count.
        """
        terms = sorted(set(query_terms))
        needed = frozenset(required)
        scores: dict[int, float] = {}
        for term in terms:
            idf = self._idf.get(term, 0.0)
            for index, tf in self._postings.get(term, ()):
                if needed and not needed & self._terms[index]:
                    continue
                gain = idf * tf * (_K1 + 1) / (tf + self._norms[index])
                scores[index] = scores.get(index, 0.0) + gain
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        total = sum(self._idf.get(t, self._unknown_idf) for t in terms) or 1.0
        return [
            Hit(
                passage=self.passages[index],
                score=score,
                coverage=sum(self._idf[t] for t in terms if t in self._terms[index]) / total,
            )
            for index, score in ranked
        ]


def _idf(count: int, frequency: int) -> float:
    # The "plus one" form: never negative, so a term in most passages still counts a little.
    return math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
