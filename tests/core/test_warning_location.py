"""A warning about the caller's own request points at the caller's line, not the kit's.

Python shows a UserWarning once per code location and prints that location: pointing it at
a line inside the kit hides which call of the user's asked for the ignored parameter.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import shape_request, shape_responses_request


def _offline_chat(model: str) -> pa.ParallelChat:
    # Port 9 on loopback refuses at once: the warning is given while shaping, before sending.
    return pa.ParallelChat(
        model=model, api_key="k", base_url="http://127.0.0.1:9", max_retries=0, timeout=2
    )


def _call_chat(model: str) -> None:
    with pytest.raises(pa.APIConnectionError):
        _offline_chat(model)("q", tool_choice="auto")


def _complete(model: str) -> None:
    with pytest.raises(pa.APIConnectionError):
        _offline_chat(model).complete("q", tool_choice="auto")


CALLS: list[tuple[str, Callable[[], Any]]] = [
    ("shape_request", lambda: shape_request("q", model="base", tool_choice="auto")),
    (
        "shape_responses_request",
        lambda: shape_responses_request("q", model="parallel", tool_choice="auto"),
    ),
    ("chat, Chat API", lambda: _call_chat("base")),
    ("chat, Responses API", lambda: _call_chat("parallel")),
    ("chat.complete, Chat API", lambda: _complete("base")),
    ("chat.complete, Responses API", lambda: _complete("parallel")),
    (
        "speed with a schema",
        lambda: shape_request("q", model="speed", response_format={"type": "object"}),
    ),
]


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[name for name, _ in CALLS])
def test_the_ignored_parameter_warning_points_at_the_callers_file(call: Callable[[], Any]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert [w.category for w in caught] == [UserWarning]
    assert caught[0].filename == __file__
