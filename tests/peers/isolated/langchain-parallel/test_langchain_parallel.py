"""langchain-parallel's `ChatParallelWeb` against the emulator: invoke, stream and
`with_structured_output` in json_schema and json_mode, as its docs show them."""

from __future__ import annotations

from functools import reduce
from typing import Any

from conftest import API_KEY, EXPECTED, FRANCE, PARSE_QUESTION, QUESTION, Country
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from langchain_parallel import ChatParallelWeb

from parallel_adapters.testing import ParallelEmulator


def _chat(emulator: ParallelEmulator, model: str = "base") -> ChatParallelWeb:
    return ChatParallelWeb(model=model, api_key=API_KEY, base_url=emulator.base_url)


def _urls(metadata: dict[str, Any]) -> set[str]:
    basis = metadata.get("basis") or []
    return {c["url"] for entry in basis for c in entry.get("citations") or []}


def test_invoke_answers_with_basis(emulator: ParallelEmulator) -> None:
    message = _chat(emulator).invoke(QUESTION)
    assert isinstance(message, AIMessage)
    assert "Paris" in str(message.content)
    assert FRANCE in _urls(message.response_metadata)
    assert message.response_metadata["interaction_id"].startswith("int_")


def test_follow_up_in_the_messages(emulator: ParallelEmulator) -> None:
    message = _chat(emulator).invoke(
        [
            HumanMessage(QUESTION),
            AIMessage("Paris."),
            HumanMessage("What is its population?"),
        ]
    )
    assert "68 million" in str(message.content)


def test_stream_joins_to_the_answer_with_one_interaction_id(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator)
    whole = chat.invoke(QUESTION)
    chunks = list(chat.stream(QUESTION))
    assert len(chunks) > 1
    joined = reduce(lambda a, b: a + b, chunks)
    assert isinstance(joined, AIMessageChunk)
    assert joined.content == whole.content
    # Chunk metadata is concatenated: an id on every chunk would come back repeated.
    assert joined.response_metadata["interaction_id"] == whole.response_metadata["interaction_id"]
    assert FRANCE in _urls(joined.response_metadata)


def test_structured_output_json_schema(emulator: ParallelEmulator) -> None:
    structured = _chat(emulator).with_structured_output(Country, method="json_schema")
    assert structured.invoke(PARSE_QUESTION) == EXPECTED


def test_structured_output_json_mode(emulator: ParallelEmulator) -> None:
    # json_mode asks for "any valid JSON object"; as LangChain's docs say, the prompt names
    # the keys it wants.
    structured = _chat(emulator).with_structured_output(Country, method="json_mode")
    answer = structured.invoke(
        "What are the capital and population of France? "
        "Return a JSON object with the keys `capital` and `population`."
    )
    assert answer == EXPECTED
