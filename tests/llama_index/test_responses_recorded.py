"""ParallelLLM on model `parallel` (the Responses API), replaying a recorded cassette."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parallel_adapters.llama_index import ParallelLLM, citations_of, interaction_id_of

pytestmark = pytest.mark.vcr


def test_complete_on_the_responses_api(
    make_llm: Callable[..., ParallelLLM], wire: Callable[[], list[dict[str, Any]]]
) -> None:
    response = make_llm("parallel").complete("What does Parallel Web Systems do?")
    assert response.text
    assert citations_of(response)
    assert interaction_id_of(response).startswith("resp_")
    [body] = wire()
    assert body["model"] == "parallel"
    assert "messages" not in body
