"""`map()`/`amap()` refuse a bad prompt naming its index (issue 23), before sending any."""

from __future__ import annotations

import asyncio

import pytest

import parallel_adapters as pa
from parallel_adapters import testing


def chat(emulator: testing.ParallelEmulator) -> pa.ParallelChat:
    return pa.ParallelChat(
        "lite", api_key="test-key", base_url=emulator.base_url, requests_per_minute=None
    )


@pytest.mark.parametrize("bad", ["", "   ", [], [{"role": "user", "content": ""}]])
def test_map_names_the_index_of_a_bad_prompt(
    emulator: testing.ParallelEmulator, bad: object
) -> None:
    prompts = ["What is DSPy?", "What is LlamaIndex?", bad, "What is Parallel?"]
    with pytest.raises(pa.InputError, match=r"^prompts\[2\]: ") as caught:
        chat(emulator).map(prompts)
    assert "prompts[0]" not in str(caught.value)
    with pytest.raises(pa.InputError, match=r"^prompts\[2\]: "):
        asyncio.run(chat(emulator).amap(prompts))
    assert emulator.requests == []


def test_a_bad_parameter_is_not_blamed_on_the_first_prompt(
    emulator: testing.ParallelEmulator,
) -> None:
    with pytest.raises(pa.InputError, match=r"^unknown parameter 'colour'"):
        chat(emulator).map(["What is DSPy?", "What is LlamaIndex?"], colour="red")
