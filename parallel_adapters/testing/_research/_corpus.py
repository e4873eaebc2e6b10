"""The emulator's offline corpus: pages with a URL, a title and a few sentences.

Answers are extracted from these pages, so they are grounded and citable without any
network access. The bundled pages (`corpus.json`, shipped inside the wheel) were written
for this project; callers can pass their own pages to `ParallelEmulator(corpus=...)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

# A sentence ends at ., ! or ? followed by whitespace and an upper-case letter, a digit or a
# quote. The bundled pages avoid abbreviations such as "e.g." so this simple rule is exact.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")


@dataclass(frozen=True)
class CorpusPage:
    """One source page the emulator can cite."""

    url: str
    """The address citations give for this page."""
    title: str
    """The title citations give for this page."""
    text: str
    """The page's text, which answers and excerpts are drawn from."""
    sentences: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """`text` split into sentences, the unit of retrieval and of excerpts."""

    def __post_init__(self) -> None:
        # Split once, here, because retrieval and excerpts both work sentence by sentence.
        object.__setattr__(self, "sentences", split_sentences(self.text))


def split_sentences(text: str) -> tuple[str, ...]:
    """Split a page's text into sentences (the unit of retrieval and of excerpts)."""
    return tuple(s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip())


def load_default_corpus() -> tuple[CorpusPage, ...]:
    """The bundled pages, in file order."""
    raw = resources.files(__package__).joinpath("corpus.json").read_text(encoding="utf-8")
    return pages_from_json(json.loads(raw))


def pages_from_json(document: object) -> tuple[CorpusPage, ...]:
    """Pages from `{"pages": [{"url", "title", "text"}, ...]}` (the bundled file's shape)."""
    if not isinstance(document, dict) or not isinstance(document.get("pages"), list):
        raise ValueError('a corpus document is {"pages": [{"url", "title", "text"}, ...]}')
    return coerce_pages(document["pages"])


def coerce_pages(pages: Iterable[CorpusPage | dict[str, str]]) -> tuple[CorpusPage, ...]:
    """Accept `CorpusPage` objects or plain dicts, and reject duplicates and empty pages."""
    result: list[CorpusPage] = []
    seen: set[str] = set()
    for item in pages:
        page = item if isinstance(item, CorpusPage) else _page_from_dict(item)
        if not page.sentences:
            raise ValueError(f"corpus page {page.url!r} has no text")
        if page.url in seen:
            raise ValueError(f"corpus page {page.url!r} appears twice")
        seen.add(page.url)
        result.append(page)
    if not result:
        raise ValueError("a corpus needs at least one page")
    return tuple(result)


def _page_from_dict(item: object) -> CorpusPage:
    if not isinstance(item, dict):
        raise ValueError(f"a corpus page must be a dict or CorpusPage, not {type(item).__name__}")
    try:
        return CorpusPage(url=str(item["url"]), title=str(item["title"]), text=str(item["text"]))
    except KeyError as missing:
        raise ValueError(f"corpus page is missing {missing}") from None


def all_sentences(pages: Sequence[CorpusPage]) -> Iterable[tuple[CorpusPage, int, str]]:
    """Every (page, index in page, sentence), the passages the retriever indexes."""
    for page in pages:
        for position, sentence in enumerate(page.sentences):
            yield page, position, sentence
