"""parallel-haystack's `ParallelChatGenerator` (Parallel's Responses API) against the
emulator: a grounded reply, streaming and structured output."""

from __future__ import annotations

import json

from conftest import API_KEY, EXPECTED, PARSE_QUESTION, QUESTION, Country
from haystack.dataclasses import ChatMessage, StreamingChunk
from haystack.utils import Secret
from haystack_integrations.components.generators.parallel import ParallelChatGenerator

from parallel_adapters.testing import ParallelEmulator


def _generator(emulator: ParallelEmulator, **options: object) -> ParallelChatGenerator:
    return ParallelChatGenerator(
        api_key=Secret.from_token(API_KEY),
        api_base_url=f"{emulator.base_url}/v1",
        **options,  # type: ignore[arg-type]
    )


def test_run_answers(emulator: ParallelEmulator) -> None:
    generator = _generator(emulator, generation_kwargs={"reasoning": {"effort": "low"}})
    [reply] = generator.run(messages=[ChatMessage.from_user(QUESTION)])["replies"]
    assert "Paris" in (reply.text or "")


def test_streaming_callback_sees_the_answer(emulator: ParallelEmulator) -> None:
    pieces: list[str] = []

    def collect(chunk: StreamingChunk) -> None:
        pieces.append(chunk.content)

    generator = _generator(emulator, streaming_callback=collect)
    [reply] = generator.run(messages=[ChatMessage.from_user(QUESTION)])["replies"]
    assert "Paris" in "".join(pieces)
    assert "".join(pieces).strip() == (reply.text or "").strip()


def test_structured_output(emulator: ParallelEmulator) -> None:
    generator = _generator(emulator, generation_kwargs={"text_format": Country})
    [reply] = generator.run(messages=[ChatMessage.from_user(PARSE_QUESTION)])["replies"]
    assert Country.model_validate(json.loads(reply.text or "")) == EXPECTED
