"""The plain callable on the Responses API (model `parallel`), replaying recorded cassettes.

Recorded like the Chat cassettes (`pytest -m vcr --record-mode=rewrite`: live with
PARALLEL_API_KEY, the emulator otherwise), so each assertion is one the real API must pass too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters.testing import RecordingBackend

pytestmark = pytest.mark.vcr

QUESTION = "What does Parallel Web Systems do?"


@pytest.fixture
def chat(parallel_backend: RecordingBackend) -> Iterator[pa.ParallelChat]:
    with pa.ParallelChat(
        model="parallel-low",
        base_url=parallel_backend.base_url,
        api_key=parallel_backend.api_key,
        max_retries=0,
    ) as client:
        yield client


def _assert_cited(completion: pa.Completion) -> None:
    assert completion.text
    assert completion.model == "parallel"
    assert completion.interaction_id.startswith("resp_")
    assert completion.citations
    assert len({c.url for c in completion.citations}) == len(completion.citations)
    assert completion.cited_spans
    urls = {c.url for c in completion.citations}
    for span in completion.cited_spans:
        assert 0 <= span.start < span.end <= len(completion.text)
        assert span.url in urls
    [basis] = completion.basis
    assert basis.field == "output"
    assert (basis.reasoning, basis.confidence) == (None, None)
    assert "[1]" in completion.text_with_markers()


def test_complete(default_from_env: None) -> None:
    completion = pa.complete(QUESTION, model="parallel")
    _assert_cited(completion)
    assert completion.web_search_calls
    assert str(completion) == completion.text


def test_stream_and_async_helpers(default_from_env: None) -> None:
    stream = pa.stream(QUESTION, model="parallel-low")
    parts = [part.delta for part in stream]
    assert parts
    assert stream.completion.text == "".join(parts)
    _assert_cited(stream.completion)

    async def main() -> tuple[pa.Completion, str, pa.Completion]:
        completion = await pa.acomplete(QUESTION, model="parallel-low")
        astream = pa.astream(QUESTION, model="parallel-low")
        streamed = "".join([part.delta async for part in astream])
        return completion, streamed, astream.completion

    completion, streamed, streamed_completion = asyncio.run(main())
    _assert_cited(completion)
    assert completion.text == streamed == stream.completion.text
    assert streamed_completion.cited_spans == completion.cited_spans


class Company(BaseModel):
    name: str
    summary: str


def test_structured_output_with_text_format(chat: pa.ParallelChat) -> None:
    completion = chat(QUESTION, response_format=Company)
    assert isinstance(completion.parsed, Company)
    assert completion.parsed.name
    assert {b.field for b in completion.basis} <= {"name", "summary"}
    assert any(b.citations for b in completion.basis)


def test_follow_up_with_previous_interaction_id(chat: pa.ParallelChat) -> None:
    first = chat("Who founded Parallel Web Systems?")
    follow_up = chat("Where is it based?", previous_interaction_id=first.interaction_id)
    assert follow_up.text
    assert follow_up.interaction_id.startswith("resp_")
    assert follow_up.interaction_id != first.interaction_id


def test_server_validation_error_is_a_bad_request(chat: pa.ParallelChat) -> None:
    # Background mode passes the client's checks (it travels in extra_body) and is one of the
    # documented 400s, so the recording holds the server's own message.
    with pytest.raises(pa.BadRequestError, match="background") as caught:
        chat(QUESTION, extra_body={"background": True})
    assert caught.value.status_code == 400
