"""What a new LlamaIndex user tripped on (issue 23): saved LLMs that kept an address read
from the environment, options refused only at the first call, `Settings.llm` ignored by
the web query engine, and `load_llm` (a closed registry) where `from_dict` is the way."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator

import pytest
from llama_index.core import Settings
from llama_index.core.llms import MockLLM
from llama_index.core.llms.loading import load_llm

import parallel_adapters as pa
from parallel_adapters import testing
from parallel_adapters.llama_index import ParallelLLM, ParallelWebQueryEngine

EMULATOR_URL = "http://127.0.0.1:8787"
BOTH_APIS = r"speed, lite, base, core.*parallel, parallel-low, parallel-medium, parallel-high"


@pytest.fixture
def no_settings_llm() -> Iterator[None]:
    saved = Settings._llm
    Settings._llm = None
    yield
    Settings._llm = saved


def test_to_dict_keeps_no_address_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", EMULATOR_URL)
    llm = ParallelLLM(model="base", api_key="k")
    assert llm.base_url == EMULATOR_URL  # in use here, where the variable is set
    saved, as_json, pickled = llm.to_dict(), llm.to_json(), pickle.dumps(llm)
    assert saved["base_url"] is None
    assert EMULATOR_URL not in as_json
    assert EMULATOR_URL.encode() not in pickled

    monkeypatch.delenv("PARALLEL_BASE_URL")
    for loaded in (ParallelLLM.from_dict(saved), pickle.loads(pickled)):
        assert loaded.base_url == "https://api.parallel.ai"
        assert loaded.client.config.base_url == "https://api.parallel.ai"
        assert loaded.model == "base"


def test_to_dict_keeps_an_address_that_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", "http://127.0.0.1:1")
    llm = ParallelLLM(model="base", api_key="k", base_url=EMULATOR_URL)
    assert llm.to_dict()["base_url"] == EMULATOR_URL
    monkeypatch.delenv("PARALLEL_BASE_URL")
    assert ParallelLLM.from_dict(llm.to_dict()).client.config.base_url == EMULATOR_URL
    assert pickle.loads(pickle.dumps(llm)).base_url == EMULATOR_URL


def test_load_llm_refuses_the_class_and_from_dict_is_the_way() -> None:
    llm = ParallelLLM(model="lite", api_key="k", base_url=EMULATOR_URL, timeout=30)
    with pytest.raises(ValueError, match="Invalid LLM name: ParallelLLM"):
        load_llm(llm.to_dict())
    restored = ParallelLLM.from_dict(json.loads(llm.to_json()))
    assert (restored.model, restored.base_url, restored.timeout) == ("lite", EMULATOR_URL, 30)


@pytest.mark.parametrize("model", ["gpt-4o", "parallel-ultra"])
def test_an_unknown_model_is_refused_at_construction(model: str) -> None:
    with pytest.raises(pa.InputError, match=rf"unknown model {model!r}.*{BOTH_APIS}"):
        ParallelLLM(model=model, api_key="k")


def test_an_effort_on_a_chat_model_is_refused_at_construction() -> None:
    with pytest.raises(pa.InputError, match="reasoning_effort is for the Responses API"):
        ParallelLLM(model="base", api_key="k", reasoning_effort="high")
    llm = ParallelLLM(model="parallel", api_key="k", reasoning_effort="high")
    assert llm.client.request("q", model=llm.model).effort == "high"


def test_the_web_query_engine_uses_settings_llm(
    emulator: testing.ParallelEmulator, no_settings_llm: None
) -> None:
    Settings.llm = ParallelLLM(model="lite", api_key="test-key", base_url=emulator.base_url)
    engine = ParallelWebQueryEngine()
    assert engine.llm is Settings.llm
    response = engine.query("What does Parallel Web Systems do?")
    assert str(response).strip()
    assert response.source_nodes


def test_the_web_query_engine_says_what_to_pass(no_settings_llm: None) -> None:
    with pytest.raises(pa.InputError, match=r"ParallelWebQueryEngine needs a ParallelLLM.*llm="):
        ParallelWebQueryEngine()
    Settings.llm = MockLLM()
    with pytest.raises(pa.InputError, match=r"Settings\.llm is a MockLLM.*ParallelLLM\(model="):
        ParallelWebQueryEngine()
    with pytest.raises(pa.InputError, match=r"llm= is a MockLLM"):
        ParallelWebQueryEngine(llm=MockLLM())


# Options whose ParallelLLM default is None: "read the environment, else the core's".
_RESOLVED_LATER = {"api_key", "base_url", "timeout", "rate_limit_store"}


@pytest.mark.parametrize(
    "name", sorted(set(pa.ParallelConfig.model_fields) & set(ParallelLLM.model_fields))
)
def test_each_written_out_default_is_the_cores(name: str) -> None:
    llm_default = ParallelLLM.model_fields[name].get_default(call_default_factory=True)
    core_default = pa.ParallelConfig.model_fields[name].get_default(call_default_factory=True)
    if name in _RESOLVED_LATER:
        assert llm_default is None
    else:
        assert llm_default == core_default, name
