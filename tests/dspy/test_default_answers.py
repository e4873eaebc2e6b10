"""DSPy programs against the emulator's DEFAULT research responder (issue 24): ReAct calls its
tool with schema-valid arguments taken from the question and finishes on the tool's result."""

from __future__ import annotations

from collections.abc import Iterator

import dspy
import pytest

from parallel_adapters.dspy import ParallelLM
from parallel_adapters.testing import ParallelEmulator


@pytest.fixture
def emu() -> Iterator[ParallelEmulator]:
    with ParallelEmulator() as emulator:
        yield emulator


@pytest.mark.parametrize("model", ["parallel", "base"])
def test_react_calls_its_tool_then_finishes(emu: ParallelEmulator, model: str) -> None:
    asked: list[str] = []

    def population_of(country: str) -> str:
        """The population of a country."""
        asked.append(country)
        return f"{country} has 68 million inhabitants, says the census office."

    def distance_to_moon(unit: str) -> str:
        """The distance from the Earth to the Moon in a unit."""
        raise AssertionError("the question is not about the Moon")

    lm = ParallelLM(
        model, api_key="test-key", base_url=emu.base_url, requests_per_minute=None, cache=False
    )
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()):
        react = dspy.ReAct("question -> answer", tools=[distance_to_moon, population_of])
        prediction = react(question="What is the population of France?")
    assert asked == ["France"]
    assert prediction.trajectory["tool_name_0"] == "population_of"
    assert prediction.trajectory["tool_name_1"] == "finish"
    assert "68 million" in prediction.answer
    assert "census office" in prediction.answer
