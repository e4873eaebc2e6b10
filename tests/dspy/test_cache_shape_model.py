"""Defects found by using ParallelLM inside DSPy (issue 11): the cache across servers,
one output shape for every model, and a foreign provider's model name.

Run against live emulators (loopback) with DSPy's real disk and memory cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dspy
import pytest

import parallel_adapters
from parallel_adapters import testing
from parallel_adapters.dspy import ParallelLM, collect_basis

QUESTION = "What is the capital of France?"
KEYS = ("sk-SENTINEL-key-A", "sk-SENTINEL-key-B")


@pytest.fixture
def servers() -> Iterator[tuple[testing.ParallelEmulator, testing.ParallelEmulator]]:
    """Two emulators: say, a test double, then "the live API", on different endpoints."""
    with (
        testing.ParallelEmulator(api_key=KEYS[0], latency="fast") as first,
        testing.ParallelEmulator(api_key=KEYS[1], latency="fast") as second,
    ):
        yield first, second


@pytest.fixture
def disk_cache(tmp_path: Path) -> Iterator[Path]:
    """DSPy's cache as users have it: on disk and in memory, here in a temporary dir."""
    directory = tmp_path / "dspy_cache"
    dspy.configure_cache(
        enable_disk_cache=True, enable_memory_cache=True, disk_cache_dir=str(directory)
    )
    yield directory
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)


def _lm(server: testing.ParallelEmulator, model: str = "base", **options: Any) -> ParallelLM:
    options.setdefault("api_key", server.api_key)
    return ParallelLM(model, base_url=server.base_url, requests_per_minute=None, **options)


# -- the cache key includes the endpoint --------------------------------------------------


def test_cache_is_not_shared_across_endpoints(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator], disk_cache: Path
) -> None:
    first, second = servers
    _lm(first)(QUESTION)
    assert len(first.requests) == 1
    # Same prompt, another server: it must be asked, not answered from the first's cache.
    second_lm = _lm(second)
    second_lm(QUESTION)
    assert len(second.requests) == 1
    # Each endpoint still hits its own entry, in memory and after a restart (disk only).
    _lm(first)(QUESTION)
    second_lm(QUESTION)
    dspy.cache.reset_memory_cache()
    _lm(first)(QUESTION)
    assert (len(first.requests), len(second.requests)) == (1, 1)


def test_cache_key_in_programs_copies_and_async(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator], disk_cache: Path
) -> None:
    first, second = servers
    predict = dspy.Predict("question -> answer")
    with dspy.context(lm=_lm(first)):
        predict(question=QUESTION)
    # A copy pointed elsewhere (lm.copy(base_url=...)) keys on its own endpoint.
    moved = _lm(first).copy(base_url=second.base_url, api_key=second.api_key)
    with dspy.context(lm=moved):
        predict(question=QUESTION)
    assert len(second.requests) == 1

    async def ask() -> Any:
        with dspy.context(lm=_lm(second)):
            return await dspy.ChainOfThought("question -> answer").acall(question=QUESTION)

    asyncio.run(ask())
    with dspy.context(lm=_lm(first)):
        dspy.ChainOfThought("question -> answer")(question=QUESTION)
    assert (len(first.requests), len(second.requests)) == (2, 2)


def test_cache_key_ignores_the_api_key_and_never_holds_it(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator], disk_cache: Path
) -> None:
    first, _ = servers
    first_lm = _lm(first)
    first_lm(QUESTION)
    # Another key on the same endpoint reuses the answer (the key is not part of the key).
    _lm(first, api_key="sk-SENTINEL-other")(QUESTION)
    assert len(first.requests) == 1
    stored = b"".join(p.read_bytes() for p in disk_cache.rglob("*") if p.is_file())
    assert stored, "the disk cache holds the answer"
    assert b"SENTINEL" not in stored
    # The endpoint rides in the LM's kwargs only for DSPy's cache key: never sent, never saved.
    state = first_lm.dump_state()
    assert "SENTINEL" not in str(state)
    assert "parallel_endpoint" not in str(state)
    body = first.requests[0].json
    assert first.base_url not in str(body)


def test_saved_and_loaded_lm_keys_on_its_new_endpoint(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator],
    disk_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = servers
    _lm(first)(QUESTION)
    state = _lm(first).dump_state()
    state["engine"]["state"]["base_url"] = second.base_url
    monkeypatch.setenv("PARALLEL_API_KEY", second.api_key or "")
    loaded = ParallelLM.load_state(state, allow_custom_lm_class=True)
    loaded(QUESTION)
    assert len(second.requests) == 1


# -- one output shape ----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["speed", "lite", "base"])
def test_lm_call_returns_one_shape_for_every_model(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator], model: str
) -> None:
    first, _ = servers
    lm = _lm(first, model)
    for outputs in (lm(QUESTION), asyncio.run(lm.acall(QUESTION))):
        assert isinstance(outputs, list) and len(outputs) == 1
        [output] = outputs
        assert isinstance(output, dict)
        assert isinstance(output["text"], str) and output["text"]
        assert isinstance(output["citations"], list)
        assert bool(output["citations"]) is (model != "speed")
    assert lm.history[-1]["outputs"] == outputs


def test_uniform_shape_inside_programs(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator],
) -> None:
    first, _ = servers
    for adapter in (dspy.ChatAdapter(), dspy.JSONAdapter()):
        with dspy.context(lm=_lm(first, "speed"), adapter=adapter), collect_basis() as calls:
            prediction = dspy.ChainOfThought("question -> answer")(question=QUESTION)
        assert isinstance(prediction.answer, str) and prediction.answer
        assert len(calls) == 1


# -- a foreign provider's model ---------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["openai/gpt-4o", "anthropic/claude-3-5-sonnet", "parallel/openai/gpt-4o"]
)
def test_foreign_provider_prefix_is_refused(model: str) -> None:
    with pytest.raises(parallel_adapters.InputError, match="provider"):
        ParallelLM(model, api_key="k")


def test_parallel_prefix_is_accepted_and_copies_are_checked() -> None:
    lm = ParallelLM("parallel/base", api_key="k")
    assert lm.model == "parallel/base"
    assert lm.copy(model="lite").model == "parallel/lite"
    with pytest.raises(parallel_adapters.InputError, match="provider"):
        lm.copy(model="openai/gpt-4o")


def test_foreign_prefix_refused_before_any_request(
    servers: tuple[testing.ParallelEmulator, testing.ParallelEmulator],
) -> None:
    first, _ = servers
    with pytest.raises(parallel_adapters.InputError):
        _lm(first, "openai/gpt-4o")
    assert first.requests == []
