"""The bundled corpus: what the emulator's answers are grounded in."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from parallel_adapters.testing import CorpusPage, load_default_corpus
from parallel_adapters.testing._research._corpus import coerce_pages


def test_bundled_pages_are_short_citable_and_fictional() -> None:
    pages = load_default_corpus()
    assert 30 <= len(pages) <= 40
    assert len({p.url for p in pages}) == len(pages)
    for page in pages:
        url = urlparse(page.url)
        # Reserved .example domain: a citation can never pass for a real page.
        assert (url.scheme, url.hostname) == ("https", "corpus.parallel-adapters.example")
        assert page.title
        assert 3 <= len(page.sentences) <= 8, page.url
        assert " ".join(page.sentences) == " ".join(page.text.split())


def test_demo_topics_are_covered() -> None:
    text = " ".join(p.text for p in load_default_corpus())
    for topic in ("Parallel", "LlamaIndex", "DSPy", "basis", "BM25", "HTTP", "Python", "capital"):
        assert topic in text


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([], "at least one page"),
        ([{"url": "u", "title": "t"}], "missing 'text'"),
        ([CorpusPage("u", "t", "A."), CorpusPage("u", "t", "B.")], "twice"),
        ([CorpusPage("u", "t", "   ")], "no text"),
    ],
)
def test_custom_pages_are_checked(pages: list[object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        coerce_pages(pages)  # type: ignore[arg-type]
