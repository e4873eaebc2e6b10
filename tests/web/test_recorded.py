"""Search and Extract replayed from cassettes, recorded like every other cassette
(`pytest tests/web/test_recorded.py -m vcr --record-mode=rewrite`: the live API with
PARALLEL_API_KEY set, else the emulator). Assertions hold for a live recording too: no
corpus page is named."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from parallel_adapters import ExtractResult, InputError, ParallelChat, SearchResult
from parallel_adapters.testing import RecordingBackend


@pytest.fixture
def chat(parallel_backend: RecordingBackend) -> Iterator[ParallelChat]:
    with ParallelChat(api_key=parallel_backend.api_key, base_url=parallel_backend.base_url) as c:
        yield c


@pytest.mark.vcr
def test_search_recorded(chat: ParallelChat) -> None:
    result = chat.search(
        "What is the capital of France?", ["capital of France"], mode="fast", max_results=3
    )
    assert isinstance(result, SearchResult)
    assert result.search_id and result.session_id
    assert 1 <= len(result) <= 3
    for page in result:
        assert page.url.startswith("https://") and page.excerpts
    assert result.cost == pytest.approx(0.001)


@pytest.mark.vcr
def test_search_then_extract_in_one_session(chat: ParallelChat) -> None:
    found = chat.search("What is the capital of Japan?", mode="fast", max_results=2)
    read = chat.extract(found.urls[0], "capital", session_id=found.session_id, full_content=True)
    assert isinstance(read, ExtractResult)
    assert read.extract_id and read.session_id == found.session_id
    assert [page.url for page in read.results] == [found.urls[0]]
    assert read.results[0].full_content


@pytest.mark.vcr
def test_async_search_recorded(chat: ParallelChat) -> None:
    result = asyncio.run(chat.asearch("Who created the Python language?", max_results=2))
    assert 1 <= len(result) <= 2 and result.cost == pytest.approx(0.005)


@pytest.mark.vcr
def test_refusal_sends_nothing_even_while_recording(chat: ParallelChat) -> None:
    # The cassette of this test holds no request: nothing reached the backend.
    with pytest.raises(InputError, match="has a port"):
        chat.search("x", include_domains=["example.com:8080"])
