"""WebSources: an output field filled from the basis, never asked of the model."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import dspy
import pytest

from parallel_adapters.dspy import ParallelLM, WebSources, research_of, with_web_sources

from .questions import DEV_QUESTIONS

pytestmark = [pytest.mark.vcr, pytest.mark.filterwarnings("error::DeprecationWarning")]


class Answer(dspy.Signature):
    question: str = dspy.InputField()
    answer: str = dspy.OutputField()
    sources: WebSources = dspy.OutputField()


def _sent(cassette: Any) -> dict[str, Any]:
    body = cassette.requests[-1].body
    return dict(json.loads(body.decode() if isinstance(body, bytes) else body))


@pytest.mark.parametrize("module", ["Predict", "ChainOfThought"])
def test_sources_filled_from_basis_with_json_adapter(
    make_lm: Callable[..., ParallelLM], module: str, vcr: Any
) -> None:
    lm = make_lm("base")
    with dspy.context(lm=lm, adapter=with_web_sources(dspy.JSONAdapter())):
        prediction = getattr(dspy, module)(Answer)(question=DEV_QUESTIONS[15])
    assert isinstance(prediction.sources, WebSources)
    cited = research_of(lm.history[-1]["response"]).citations
    assert prediction.sources.urls == [c.url for c in cited]
    assert prediction.sources[0].excerpts == cited[0].excerpts
    assert prediction.sources[0].title == cited[0].title
    # The model was never asked for the field: not in the prompt, not in the schema.
    body = _sent(vcr)
    assert all("sources" not in m["content"] for m in body["messages"])
    assert "sources" not in body["response_format"]["json_schema"]["schema"]["properties"]
    assert "$defs" not in body["response_format"]["json_schema"]["schema"]
    assert len(lm.history) == 1


def test_no_citations_leave_the_field_empty(make_lm: Callable[..., ParallelLM]) -> None:
    with dspy.context(lm=make_lm("speed"), adapter=with_web_sources(dspy.JSONAdapter())):
        prediction = dspy.Predict(Answer)(question=DEV_QUESTIONS[16])
    assert prediction.answer
    assert prediction.sources is None


def test_other_lms_keep_the_field_in_the_prompt() -> None:
    other = dspy.LM("openai/gpt-4o-mini")
    signature = dspy.Predict(Answer).signature
    assert WebSources.adapt_to_native_lm_feature(signature, "sources", other, {}) is signature


def test_citations_regroup_by_page() -> None:
    sources = WebSources.from_citations(
        [
            {"url": "https://a.example", "title": "A", "text": "one"},
            {"url": "https://b.example", "title": "B", "text": "two"},
            {"url": "https://a.example", "title": "A", "text": "three"},
            {"url": "https://c.example"},
        ]
    )
    assert sources.urls == ["https://a.example", "https://b.example", "https://c.example"]
    assert sources[0].excerpts == ["one", "three"]
    assert sources[2].excerpts == []
    assert "https://b.example" in sources.format()


def test_with_web_sources_adds_the_type_once() -> None:
    adapter = with_web_sources(with_web_sources())
    assert isinstance(adapter, dspy.ChatAdapter)
    assert adapter.native_response_types.count(WebSources) == 1
    assert dspy.Reasoning in adapter.native_response_types


def test_import_without_dspy_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['dspy'] = None\n"
        "import parallel_adapters\n"
        "try:\n"
        "    import parallel_adapters.dspy\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'parallel-adapters[dspy]'" in result.stdout


def test_core_import_does_not_import_dspy() -> None:
    code = (
        "import sys, parallel_adapters\n"
        "parallel_adapters.ParallelChat\n"
        "print('dspy' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
