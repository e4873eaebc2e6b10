"""ParallelLLM refuses options it does not know, as the core does (issue 12, item 16)."""

from __future__ import annotations

import pytest

import parallel_adapters as pa
from parallel_adapters.llama_index import ParallelLLM


@pytest.mark.parametrize("option", [{"modle": "base"}, {"temprature": 0.2}, {"max_retry": 3}])
def test_an_unknown_option_is_refused(option: dict[str, object]) -> None:
    with pytest.raises(pa.InputError, match="unknown ParallelLLM option"):
        ParallelLLM(api_key="k", **option)


def test_the_core_size_caps_reach_the_client() -> None:
    llm = ParallelLLM(api_key="k", max_response_bytes=1000, max_line_bytes=100)
    assert llm.client.config.max_response_bytes == 1000
    assert llm.client.config.max_line_bytes == 100


def test_llama_index_own_options_are_still_accepted() -> None:
    llm = ParallelLLM(api_key="k", system_prompt="Be brief.", context_window=8000)
    assert llm.system_prompt == "Be brief." and llm.context_window == 8000
