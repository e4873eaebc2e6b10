"""LiteLLM's Responses bridge against the emulator: `litellm.responses` (what DSPy's
`model_type="responses"` calls) and chat completions routed through the Responses API."""

from __future__ import annotations

from typing import Any

import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import FRANCE, QUESTION

litellm = pytest.importorskip("litellm")


def _options(emulator: ParallelEmulator) -> dict[str, Any]:
    return {"api_base": f"{emulator.base_url}/v1", "api_key": "test-key"}


def test_responses_answer_and_cite(emulator: ParallelEmulator) -> None:
    response = litellm.responses(
        model="openai/parallel", input=QUESTION, reasoning={"effort": "low"}, **_options(emulator)
    )
    message = response.output[-1]
    text = message.content[0].text
    assert "Paris" in text
    assert [item.type for item in response.output[:-1]] == ["web_search_call"] * (
        len(response.output) - 1
    )
    urls = {annotation.url for annotation in message.content[0].annotations}
    assert urls == {FRANCE}


def test_responses_stream(emulator: ParallelEmulator) -> None:
    whole = litellm.responses(model="openai/parallel", input=QUESTION, **_options(emulator))
    events = list(
        litellm.responses(
            model="openai/parallel", input=QUESTION, stream=True, **_options(emulator)
        )
    )
    kinds = [str(getattr(event.type, "value", event.type)) for event in events]
    # Older LiteLLM releases yield only the text deltas and the completion.
    assert kinds[-1] == "response.completed"
    deltas = "".join(
        e.delta
        for e, kind in zip(events, kinds, strict=True)
        if kind == "response.output_text.delta"
    )
    assert deltas == whole.output[-1].content[0].text


def test_chat_through_the_responses_bridge(emulator: ParallelEmulator) -> None:
    pytest.importorskip(
        "litellm.completion_extras", reason="this LiteLLM release has no Responses bridge"
    )
    completion = litellm.completion(
        model="openai/responses/parallel",
        messages=[{"role": "user", "content": QUESTION}],
        **_options(emulator),
    )
    assert "Paris" in completion.choices[0].message.content
