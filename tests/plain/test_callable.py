"""The plain callable end to end, replaying recorded cassettes."""

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
        model="base", base_url=parallel_backend.base_url, api_key=parallel_backend.api_key
    ) as client:
        yield client


def test_complete_returns_text_basis_and_numbered_sources(default_from_env: None) -> None:
    completion = pa.complete(QUESTION, model="base")
    assert completion.text
    assert str(completion) == completion.text
    assert completion.model == "base"
    assert completion.interaction_id
    assert completion.basis
    assert completion.basis[0].reasoning
    assert completion.basis[0].confidence in {"low", "medium", "high"}
    assert completion.citations
    assert len({c.url for c in completion.citations}) == len(completion.citations)


def test_module_stream_and_async_helpers(default_from_env: None) -> None:
    stream = pa.stream(QUESTION, model="base")
    parts = [part.delta for part in stream]
    assert len(parts) > 1
    assert stream.completion.text == "".join(parts)
    assert stream.completion.basis

    async def main() -> tuple[pa.Completion, str]:
        completion = await pa.acomplete(QUESTION, model="base")
        streamed = "".join([part.delta async for part in pa.astream(QUESTION, model="base")])
        return completion, streamed

    completion, streamed = asyncio.run(main())
    assert completion.text == streamed == stream.completion.text


def test_chat_takes_a_conversation(chat: pa.ParallelChat) -> None:
    completion = chat(
        [
            ("system", "Answer in one sentence."),
            ("human", "What is DSPy?"),
            ("ai", "A framework for programming language models."),
            ("human", "And what is LlamaIndex used for?"),
        ]
    )
    assert completion.text
    assert completion.citations


def test_follow_up_with_previous_interaction_id(chat: pa.ParallelChat) -> None:
    first = chat("Who founded Parallel Web Systems?")
    follow_up = chat("Where is it based?", previous_interaction_id=first.interaction_id)
    assert follow_up.text
    assert follow_up.interaction_id != first.interaction_id


class Company(BaseModel):
    name: str
    summary: str


def test_structured_output(chat: pa.ParallelChat) -> None:
    completion = chat(QUESTION, response_format=Company)
    assert isinstance(completion.parsed, Company)
    assert completion.parsed.name
    assert {b.field for b in completion.basis} == {"name", "summary"}


def test_map_returns_results_in_input_order(chat: pa.ParallelChat) -> None:
    questions = ["What is DSPy?", "What is LlamaIndex?", "What is HTTP?"]
    answers = chat.map(questions, concurrency=3)
    assert [a.text for a in answers] == [chat(q).text for q in questions]


def test_map_shows_a_progress_bar(
    chat: pa.ParallelChat, capsys: pytest.CaptureFixture[str]
) -> None:
    chat.map(["What is DSPy?", "What is HTTP?"], concurrency=2, progress=True)
    assert "2/2" in capsys.readouterr().err
