"""Responses API metadata is checked before anything is sent, with the limit in the message.

The server refuses oversized metadata after the request is sent; the kit says which limit
a caller broke, at the documented boundary (16 keys, 64-character keys, 512-character
values), and lets everything within it through unchanged.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import shape_responses_request


def _body(**params: Any) -> dict[str, Any]:
    return shape_responses_request("q", model="parallel", **params).body


def test_metadata_at_every_limit_is_sent_unchanged() -> None:
    metadata = {f"k{i:02d}": "v" for i in range(15)}
    metadata["k" * 64] = "v" * 512
    assert _body(metadata=metadata)["metadata"] == metadata


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({f"k{i}": "v" for i in range(17)}, r"^metadata has 17 keys; at most 16$"),
        (
            {"k" * 65: "v"},
            r"^metadata key 'kkkkkkkkkkkkkkkkkkkk'\.\.\. is 65 characters; at most 64$",
        ),
        ({"row": "v" * 513}, r"^metadata value for 'row' is 513 characters; at most 512$"),
        ({"row": 42}, r"^metadata keys and values must be strings, got 'row': 42$"),
        ({7: "x"}, r"^metadata keys and values must be strings, got 7: 'x'$"),
        ([("row", "1")], r"^metadata must be a dict of strings, got list$"),
    ],
)
def test_metadata_beyond_a_limit_is_refused_before_sending(metadata: Any, match: str) -> None:
    with pytest.raises(pa.InputError, match=match):
        _body(metadata=metadata)


def test_an_ignored_parameter_warns_once_with_a_user_warning_naming_it() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = _body(tool_choice="auto")
        _body(tool_choice="auto")
    assert "tool_choice" not in body
    assert [(w.category, str(w.message)) for w in caught] == [
        (UserWarning, "the Parallel Responses API ignores 'tool_choice'; it was not sent")
    ]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"n": 2},
            r"^n=2 is not supported: the Parallel Responses API returns one answer$",
        ),
        (
            {"model": "parallel-high", "reasoning_effort": "low"},
            r"^model 'parallel-high' pins reasoning_effort='high'; got reasoning_effort='low'\. "
            r"Use model='parallel' to choose the effort per call$",
        ),
        (
            {"messages": [("assistant", "earlier answer")]},
            r"^the Responses API needs at least one user message; got assistant$",
        ),
        (
            {"messages": [("system", "be brief")]},
            r"^the Responses API needs at least one user message; got only system text$",
        ),
    ],
)
def test_requests_the_responses_api_cannot_serve_are_refused_with_the_reason(
    params: dict[str, Any], match: str
) -> None:
    params = dict(params)
    messages = params.pop("messages", "q")
    model = params.pop("model", "parallel")
    with pytest.raises(pa.InputError, match=match):
        shape_responses_request(messages, model=model, **params)


def test_n_of_one_is_accepted_and_not_sent() -> None:
    assert "n" not in _body(n=1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            "the Parallel Responses API ignores 'tools'; it was not sent (pass web_search or "
            "mcp tools in extra_body)",
        ),
        (
            {"response_format": {"type": "json_object"}},
            "the Parallel Responses API ignores 'response_format json_object'; it was not "
            "sent: it produces plain text; use a JSON schema",
        ),
    ],
)
def test_what_the_responses_api_ignores_is_named_in_a_warning(
    params: dict[str, Any], message: str
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _body(**params)
    assert [str(w.message) for w in caught] == [message]


def test_previous_interaction_id_must_be_a_string() -> None:
    with pytest.raises(pa.InputError, match=r"^previous_interaction_id must be a string$"):
        _body(previous_interaction_id=42)


def test_text_the_sdk_could_not_encode_is_refused_before_sending() -> None:
    with pytest.raises(pa.InputError, match=r"^input holds a lone surrogate character"):
        shape_responses_request("caf\udce9", model="parallel")


@pytest.mark.parametrize(
    ("model", "effort", "expected"),
    [("parallel", "high", "high"), ("parallel-low", None, "low"), ("parallel", None, None)],
)
def test_the_request_records_the_effort_it_is_billed_at(
    model: str, effort: str | None, expected: str | None
) -> None:
    request = shape_responses_request("q", model=model, reasoning_effort=effort)
    assert request.effort == expected
