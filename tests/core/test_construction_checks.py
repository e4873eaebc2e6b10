"""Options that would do nothing, or fail only at the first call, are refused when the
object is built (issue 23): an unknown model, and a reasoning effort on a Chat model."""

from __future__ import annotations

import pickle

import pytest

import parallel_adapters as pa
from parallel_adapters import ParallelChat, ParallelConfig

BOTH_APIS = r"speed, lite, base, core.*parallel, parallel-low, parallel-medium, parallel-high"


@pytest.mark.parametrize("model", ["gpt-4o", "Speed ", "parallel-ultra"])
def test_an_unknown_model_is_refused_at_construction(model: str) -> None:
    with pytest.raises(pa.InputError, match=rf"unknown model {model!r}.*{BOTH_APIS}"):
        ParallelChat(model, api_key="k")
    with pytest.raises(pa.InputError, match=BOTH_APIS):
        ParallelConfig.from_options(model=model)


@pytest.mark.parametrize("model", ["speed", "lite", "base", "core", "parallel", "parallel-high"])
def test_every_known_model_is_accepted(model: str) -> None:
    assert ParallelChat(model, api_key="k").model == model


@pytest.mark.parametrize("model", [None, "speed", "base"])
def test_an_effort_on_a_chat_model_is_refused_at_construction(model: str | None) -> None:
    with pytest.raises(pa.InputError, match=r"reasoning_effort.*Responses API.*'parallel'"):
        ParallelChat(model, api_key="k", reasoning_effort="high")


def test_an_effort_on_a_responses_model_is_kept() -> None:
    chat = ParallelChat("parallel", api_key="k", reasoning_effort="high")
    assert chat.request("q").effort == "high"
    # Switching the default model to a Chat one while the effort stays is refused too.
    with pytest.raises(pa.InputError, match="reasoning_effort"):
        chat.config.replace(model="lite")
    assert chat.config.replace(model="lite", reasoning_effort=None).model == "lite"


def test_base_url_from_the_environment_is_not_saved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", "http://127.0.0.1:8787")
    from_env = ParallelConfig.from_options(api_key="k")
    given = ParallelConfig.from_options(api_key="k", base_url="http://127.0.0.1:9")
    assert from_env.base_url == "http://127.0.0.1:8787"
    assert "base_url" not in from_env.saved_options()
    assert given.saved_options()["base_url"] == "http://127.0.0.1:9"
    # replace() keeps where the address came from.
    assert "base_url" not in from_env.replace(timeout=5).saved_options()

    from_env_pickle, given_pickle = pickle.dumps(from_env), pickle.dumps(given)
    monkeypatch.delenv("PARALLEL_BASE_URL")
    assert pickle.loads(from_env_pickle).base_url == "https://api.parallel.ai"
    assert pickle.loads(given_pickle).base_url == "http://127.0.0.1:9"


def test_an_effort_per_call_on_a_chat_model_is_refused_before_sending() -> None:
    chat = ParallelChat("base", api_key="k")
    with pytest.raises(pa.InputError, match=r"reasoning_effort is for the Responses API.*'base'"):
        chat.request("q", reasoning_effort="high")
    assert chat.request("q", reasoning_effort=None).model == "base"  # OpenAI callers' None
    assert chat.request("q", model="parallel", reasoning_effort="high").effort == "high"
