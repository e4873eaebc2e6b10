"""The cost line a batch prints before it sends: what a user reads to decide whether to go on.

A model without a published price must be named in the line (its calls are not in the
dollar figure), or the estimate reads as the whole cost when it is not.
"""

from __future__ import annotations

import re

import pytest

from parallel_adapters._core import _prices
from parallel_adapters._core._prices import estimate_cost, price_per_request

SOURCE = f"; prices as published on {_prices.PRICES_SOURCE_DATE} ({_prices.PRICES_SOURCE})"


def test_the_line_names_the_models_without_a_published_price() -> None:
    estimate = estimate_cost(["base", "zeta-model", "mystery", "mystery"])
    assert estimate.unpriced == {"mystery": 2, "zeta-model": 1}
    assert estimate.calls_by_model == {"base": 1, "mystery": 2, "zeta-model": 1}
    assert estimate.describe() == (
        "4 calls (1 base, 2 mystery, 1 zeta-model): estimated $0.01"
        " plus calls to models without a published price (mystery, zeta-model)" + SOURCE
    )


def test_only_unpriced_calls_still_say_so() -> None:
    estimate = estimate_cost(["mystery"])
    assert estimate.dollars == 0
    assert not estimate.complete
    assert estimate.describe() == (
        "1 call (1 mystery): estimated $0.00"
        " plus calls to models without a published price (mystery)" + SOURCE
    )


def test_a_priced_batch_line_has_counts_with_separators_and_no_unpriced_clause() -> None:
    estimate = estimate_cost(["core"] * 1200)
    assert estimate.complete
    assert estimate.dollars == pytest.approx(30.0)
    assert estimate.describe() == "1,200 calls (1,200 core): estimated $30.00" + SOURCE


def test_no_calls() -> None:
    estimate = estimate_cost([])
    assert (estimate.calls, estimate.dollars, estimate.complete) == (0, 0.0, True)
    assert estimate.describe() == "0 calls: estimated $0.00" + SOURCE


def test_an_effort_prices_only_the_responses_model() -> None:
    assert price_per_request("parallel", "high") == pytest.approx(0.25)
    assert price_per_request("parallel") == pytest.approx(0.05)
    # An effort on a Chat API model changes nothing: it has one price.
    assert price_per_request("base", "high") == pytest.approx(0.01)
    assert price_per_request("mystery", "high") is None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", _prices.PRICES_SOURCE_DATE)
