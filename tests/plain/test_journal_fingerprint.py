"""The journal's request fingerprint: what a resume compares to tell an id whose question
changed from one answered as asked (issue 22). It is stored on disk, so its value for a
given question must not change between releases: if it did, every resume after an upgrade
would refuse every answered id as "changed"."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from parallel_adapters._core import shape_request, shape_responses_request
from parallel_adapters._journal import fingerprint

QUESTION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Capital of Côte d’Ivoire?"},  # not ASCII on purpose
]
SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": {}}}},
}


def _on_disk(asked: dict[str, Any]) -> str:
    """The documented form: sorted compact JSON, UTF-8 as is, SHA-256, 32 hex digits."""
    text = json.dumps(asked, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def test_the_chat_fingerprint_is_the_one_journals_already_hold() -> None:
    request = shape_request(QUESTION, model="base", response_format=SCHEMA)
    # Written by the release that introduced fingerprints; a change here breaks resumes.
    assert fingerprint(request) == "f7fd44f5ef033095d0be146d96fa55e0"
    assert fingerprint(request) == _on_disk(
        {
            "model": "base",
            "effort": None,
            "messages": request.body["messages"],
            "response_format": request.body["response_format"],
        }
    )


def test_the_responses_fingerprint_is_the_one_journals_already_hold() -> None:
    request = shape_responses_request(QUESTION, model="parallel", reasoning_effort="low")
    assert fingerprint(request) == "57105a8274358150b7930881afc521dc"
    assert fingerprint(request) == _on_disk(
        {
            "model": "parallel",
            "effort": "low",
            "messages": [request.body["instructions"], request.body["input"]],
            "response_format": None,
        }
    )


@pytest.mark.parametrize(
    "changed",
    [
        {"model": "core"},
        {"messages": [*QUESTION[:1], {"role": "user", "content": "Capital of Ghana?"}]},
        {"messages": QUESTION[1:]},  # the system prompt dropped
        {"response_format": None},
        {"response_format": {"type": "json_object"}},
    ],
)
def test_any_change_to_a_chat_question_changes_its_fingerprint(changed: dict[str, Any]) -> None:
    asked: dict[str, Any] = {"messages": QUESTION, "model": "base", "response_format": SCHEMA}
    before = fingerprint(shape_request(asked.pop("messages"), **asked))
    asked = {"messages": QUESTION, "model": "base", "response_format": SCHEMA, **changed}
    after = fingerprint(shape_request(asked.pop("messages"), **asked))
    assert after != before
    assert len(after) == 32 and int(after, 16) >= 0


@pytest.mark.parametrize(
    "changed",
    [
        {"reasoning_effort": "high"},
        {"messages": [*QUESTION[:1], {"role": "user", "content": "Capital of Ghana?"}]},
        {"messages": QUESTION[1:]},  # instructions gone: the same input, another question
        {"response_format": SCHEMA},
    ],
)
def test_any_change_to_a_responses_question_changes_its_fingerprint(
    changed: dict[str, Any],
) -> None:
    asked: dict[str, Any] = {"messages": QUESTION, "model": "parallel", "reasoning_effort": "low"}
    before = fingerprint(shape_responses_request(asked.pop("messages"), **asked))
    asked = {"messages": QUESTION, "model": "parallel", "reasoning_effort": "low", **changed}
    after = fingerprint(shape_responses_request(asked.pop("messages"), **asked))
    assert after != before


def test_how_it_is_sent_is_not_part_of_the_question() -> None:
    plain = fingerprint(shape_request(QUESTION, model="base"))
    assert fingerprint(shape_request(QUESTION, model="base", stream=True)) == plain
    assert fingerprint(shape_request(QUESTION, model="base", extra_body={"beta": 1})) == plain


# -- every journal line carries what a resume and the spend summary read back -------------


def test_an_answer_line_keeps_its_cost_and_fingerprint() -> None:
    import parallel_adapters as pa
    from parallel_adapters._journal import answer_record

    request = shape_responses_request(QUESTION, model="parallel", reasoning_effort="low")
    completion = pa.Completion(text="Yamoussoukro", model="parallel")
    object.__setattr__(completion, "cost", 0.01)
    record = answer_record(7, completion, request)
    assert record["cost"] == 0.01
    assert record["fingerprint"] == fingerprint(request)


def test_a_failure_line_costs_the_price_only_when_it_may_have_been_billed() -> None:
    import parallel_adapters as pa
    from parallel_adapters._journal import error_record

    request = shape_responses_request(QUESTION, model="parallel", reasoning_effort="high")
    # A timeout leaves the outcome unknown: the request may have been billed, at its price.
    timed_out = error_record(1, pa.APITimeoutError("timed out"), request)
    assert timed_out["cost"] == pytest.approx(0.25)
    assert timed_out["fingerprint"] == fingerprint(request)
    # An error status is never billed.
    refused = error_record(2, pa.ServerError("overloaded", status_code=503), request)
    assert refused["cost"] == 0.0
    assert refused["fingerprint"] == fingerprint(request)
    # With no request (a line that never became one), nothing is priced or fingerprinted.
    bare = error_record(3, pa.APITimeoutError("timed out"))
    assert bare["cost"] == 0.0
    assert "fingerprint" not in bare


def test_a_chat_failure_line_is_priced_by_its_model() -> None:
    import parallel_adapters as pa
    from parallel_adapters._journal import error_record

    request = shape_request(QUESTION, model="core")
    assert error_record(1, pa.APITimeoutError("timed out"), request)["cost"] == pytest.approx(0.025)
