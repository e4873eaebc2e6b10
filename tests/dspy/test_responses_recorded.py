"""ParallelLM on model `parallel` (the Responses API), replaying a recorded cassette."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from parallel_adapters.dspy import ParallelLM, research_of

pytestmark = [pytest.mark.vcr, pytest.mark.filterwarnings("error::DeprecationWarning")]


def test_lm_call_on_the_responses_api(make_lm: Callable[..., ParallelLM], vcr: Any) -> None:
    lm = make_lm("parallel")
    [output] = lm("What does Parallel Web Systems do?")
    assert isinstance(output, dict)
    assert output["text"]
    assert output["citations"]
    assert research_of(lm.history[-1]["response"]).interaction_id.startswith("resp_")
    [request] = vcr.requests
    body = json.loads(request.body)
    assert body["model"] == "parallel"
    assert request.path == "/v1/responses"
