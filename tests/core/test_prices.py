"""The price table and the cost estimate a batch prints before it sends."""

from __future__ import annotations

import pytest

from parallel_adapters._core import _prices
from parallel_adapters._core._prices import estimate_cost, price_per_request


@pytest.mark.parametrize(
    ("model", "dollars"),
    [
        ("speed", 0.005),
        ("lite", 0.005),
        ("base", 0.010),
        ("core", 0.025),
        ("parallel", 0.05),
        ("parallel-low", 0.01),
        ("parallel-medium", 0.05),
        ("parallel-high", 0.25),
    ],
)
def test_published_prices_per_request(model: str, dollars: float) -> None:
    assert price_per_request(model) == pytest.approx(dollars)


def test_the_effort_prices_the_responses_model() -> None:
    assert price_per_request("parallel", "high") == pytest.approx(0.25)
    assert price_per_request("parallel", "low") == pytest.approx(0.01)
    assert price_per_request("gpt-4o") is None


def test_estimate_sums_calls_by_model_and_names_its_source() -> None:
    estimate = estimate_cost(["base"] * 100 + ["core"] * 20 + ["speed"])
    assert estimate.calls == 121
    assert estimate.dollars == pytest.approx(1.0 + 0.5 + 0.005)
    assert estimate.complete
    text = estimate.describe()
    assert "121 calls" in text
    assert "100 base" in text
    assert "$1.50" in text or "$1.51" in text
    assert _prices.PRICES_SOURCE_DATE in text


def test_models_without_a_price_are_reported_not_guessed() -> None:
    estimate = estimate_cost(["base", "mystery", "mystery"])
    assert not estimate.complete
    assert estimate.unpriced == {"mystery": 2}
    assert estimate.dollars == pytest.approx(0.01)
    assert "mystery" in estimate.describe()


def test_every_model_with_a_timeout_has_a_price() -> None:
    # The Chat API models the kit knows are all priced: the table cannot fall behind.
    from parallel_adapters._core._config import MODEL_TIMEOUTS

    assert set(MODEL_TIMEOUTS) <= set(_prices.PRICE_PER_1000)


# -- what one call costs: the numbers Completion.cost, SearchResult.cost and the cap use ----


@pytest.mark.parametrize(
    ("api", "model", "effort", "dollars"),
    [
        ("chat", "speed", None, 0.005),
        ("chat", "core", None, 0.025),
        ("responses", "parallel", "low", 0.01),
        ("responses", "parallel", None, 0.05),  # the server's default effort: medium
        ("responses", "parallel", "high", 0.25),
        ("responses", "parallel-high", None, 0.25),
    ],
)
def test_call_price_per_api_model_and_effort(
    api: str, model: str, effort: str | None, dollars: float
) -> None:
    assert _prices.call_price(api, model, effort) == pytest.approx(dollars, abs=1e-12)


def test_call_price_is_none_where_nothing_is_published() -> None:
    assert _prices.call_price("chat", "gpt-4o") is None
    assert _prices.call_price("telepathy", "base") is None


@pytest.mark.parametrize(
    ("mode", "results", "dollars"),
    [
        ("turbo", 10, 0.001),
        ("fast", 3, 0.001),
        ("basic", 0, 0.005),
        ("advanced", 10, 0.005),
        (None, 10, 0.005),  # the server's default mode, advanced
        ("advanced", 11, 0.006),  # $1 per 1,000 for each result past 10
        ("turbo", 25, 0.016),
    ],
)
def test_search_cost_by_mode_and_results(mode: str | None, results: int, dollars: float) -> None:
    assert _prices.search_cost(mode, results) == pytest.approx(dollars, abs=1e-12)


def test_search_cost_is_none_for_a_mode_without_a_price() -> None:
    assert _prices.search_cost("deep-thought", 5) is None


@pytest.mark.parametrize(("urls", "dollars"), [(0, 0.0), (1, 0.001), (20, 0.02)])
def test_extract_cost_per_url(urls: int, dollars: float) -> None:
    assert _prices.extract_cost(urls) == pytest.approx(dollars, abs=1e-12)


def test_costs_are_rounded_to_the_nano_dollar() -> None:
    # Float noise (0.1 + 0.2) must not show in a cost a user sums or prints.
    assert _prices.search_cost("turbo", 13) == 0.004
    assert _prices.extract_cost(3) == 0.003
