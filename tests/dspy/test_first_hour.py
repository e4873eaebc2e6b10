"""What a new DSPy user tripped on (issue 23): a saved program that kept the address read
from the environment, and options refused only at the first call."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import dspy  # type: ignore[import-untyped]
import pytest

import parallel_adapters as pa
from parallel_adapters.dspy import ParallelLM

EMULATOR_URL = "http://127.0.0.1:8787"
BOTH_APIS = r"speed, lite, base, core.*parallel, parallel-low, parallel-medium, parallel-high"


def save_and_reload(lm: ParallelLM, path: Path, monkeypatch: pytest.MonkeyPatch) -> ParallelLM:
    program = dspy.Predict("question -> answer")
    program.lm = lm
    program.save(str(path))
    monkeypatch.delenv("PARALLEL_BASE_URL", raising=False)
    loaded = dspy.Predict("question -> answer")
    loaded.load(str(path), allow_unsafe_lm_state=True)
    assert isinstance(loaded.lm, ParallelLM)
    return loaded.lm


def test_a_saved_program_keeps_no_address_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", EMULATOR_URL)
    lm = ParallelLM("base", api_key="k", timeout=42.0)
    assert lm.config.base_url == EMULATOR_URL
    path = tmp_path / "program.json"
    loaded = save_and_reload(lm, path, monkeypatch)
    assert EMULATOR_URL not in path.read_text()
    assert loaded.config.base_url == "https://api.parallel.ai"
    assert loaded.config.timeout == 42.0
    assert "api.parallel.ai" in json.dumps(loaded.kwargs["metadata"])

    monkeypatch.setenv("PARALLEL_BASE_URL", EMULATOR_URL)
    pickled = pickle.dumps(lm)
    monkeypatch.delenv("PARALLEL_BASE_URL")
    assert pickle.loads(pickled).config.base_url == "https://api.parallel.ai"


def test_a_saved_program_keeps_an_address_that_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", "http://127.0.0.1:1")
    lm = ParallelLM("base", api_key="k", base_url=EMULATOR_URL)
    loaded = save_and_reload(lm, tmp_path / "program.json", monkeypatch)
    assert loaded.config.base_url == EMULATOR_URL


@pytest.mark.parametrize("model", ["gpt-4o", "parallel/parallel-ultra"])
def test_an_unknown_model_is_refused_at_construction(model: str) -> None:
    with pytest.raises(pa.InputError, match=BOTH_APIS):
        ParallelLM(model, api_key="k")


def test_an_effort_on_a_chat_model_is_refused_at_construction() -> None:
    with pytest.raises(pa.InputError, match="reasoning_effort is for the Responses API"):
        ParallelLM("base", api_key="k", reasoning_effort="low")
    assert ParallelLM("parallel", api_key="k", reasoning_effort="low").config.reasoning_effort
