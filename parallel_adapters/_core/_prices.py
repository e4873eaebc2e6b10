"""Published per-request prices, and the cost estimate a batch prints before it sends.

The one place prices live. Parallel bills per successful request, not per token, so a
batch's cost is (calls x price of its model); failed requests are not billed.

Sources (docs.parallel.ai, `getting-started/pricing.md`):
- Chat API: speed $5, lite $5, base $10, core $25 per 1,000 requests. The pricing page
  listed these until mid-2026; the copy of 2026-10-08 no longer lists the Chat API at all
  (it is still served), so these are the last published figures.
- Responses API (model `parallel`): `reasoning.effort` low $10, medium $50 (the server's
  default), high $250 per 1,000 successful requests, as of 2026-10-08.
- Search API: `turbo`/`fast` $1, `basic`/`advanced` (the server's default) $5 per 1,000
  requests of up to 10 results; each further result $1 per 1,000. Extract API: $1 per
  1,000 URLs. Same page, copy of 2026-10-08.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._config import (
    REASONING_EFFORTS,
    RESPONSES_MODEL,
    SEARCH_INCLUDED_RESULTS,
    SERVER_DEFAULT_SEARCH_MODE,
)

__all__ = [
    "PRICES_SOURCE",
    "PRICES_SOURCE_DATE",
    "PRICE_PER_1000",
    "REASONING_EFFORTS",
    "CostEstimate",
    "billed_model",
    "call_price",
    "estimate_cost",
    "extract_cost",
    "price_per_request",
    "search_cost",
]

PRICES_SOURCE = "https://docs.parallel.ai/getting-started/pricing"
PRICES_SOURCE_DATE = "2026-10-08"

# US dollars per 1,000 requests, by the model name the kit accepts.
PRICE_PER_1000: dict[str, float] = {
    # Chat API
    "speed": 5.0,
    "lite": 5.0,
    "base": 10.0,
    "core": 25.0,
    # Responses API: `parallel` alone runs at the server's default effort, medium.
    "parallel": 50.0,
    "parallel-low": 10.0,
    "parallel-medium": 50.0,
    "parallel-high": 250.0,
}


def billed_model(model: str, reasoning_effort: str | None = None) -> str:
    """The price-table name of a call: `parallel` at a set effort is `parallel-<effort>`."""
    if reasoning_effort is not None and model == RESPONSES_MODEL:
        return f"{RESPONSES_MODEL}-{reasoning_effort}"
    return model


def price_per_request(model: str, reasoning_effort: str | None = None) -> float | None:
    """Dollars for one successful request, or None for a model without a published price."""
    per_1000 = PRICE_PER_1000.get(billed_model(model, reasoning_effort))
    return None if per_1000 is None else per_1000 / 1000.0


# The price table of each API the kit calls, by the name `call_price` is given. A new
# API (Search, Extract) adds its table here and `call_price` prices it.
_TABLES: dict[str, dict[str, float]] = {"chat": PRICE_PER_1000, "responses": PRICE_PER_1000}


def call_price(api: str, model: str, effort: str | None = None) -> float | None:
    """Dollars one successful call costs: `api` is the API called (`"chat"`,
    `"responses"`), `model` the model or processor billed, `effort` the Responses API
    reasoning effort sent (None: the server's default). None when no price is published."""
    table = _TABLES.get(api)
    if table is None:
        return None
    per_1000 = table.get(billed_model(model, effort))
    return None if per_1000 is None else per_1000 / 1000.0


@dataclass(frozen=True)
class CostEstimate:
    """What a set of calls costs at published prices if every one of them succeeds."""

    calls: int
    dollars: float
    """The cost of the calls whose model has a published price."""
    calls_by_model: dict[str, int] = field(default_factory=dict)
    unpriced: dict[str, int] = field(default_factory=dict)
    """Calls per model with no published price: not in `dollars`."""

    @property
    def complete(self) -> bool:
        """True when every call has a price, so `dollars` is the whole estimate."""
        return not self.unpriced

    def describe(self) -> str:
        """One line for people: `120 calls (100 base, 20 core): $1.50 at published prices`."""
        parts = ", ".join(f"{n:,} {model}" for model, n in sorted(self.calls_by_model.items()))
        text = f"{self.calls:,} call" + ("" if self.calls == 1 else "s")
        if parts:
            text += f" ({parts})"
        text += f": estimated ${self.dollars:,.2f}"
        if self.unpriced:
            names = ", ".join(sorted(self.unpriced))
            text += f" plus calls to models without a published price ({names})"
        return f"{text}; prices as published on {PRICES_SOURCE_DATE} ({PRICES_SOURCE})"


def estimate_cost(models: Iterable[str]) -> CostEstimate:
    """The estimate for one call per entry of `models` (repeat a model once per call)."""
    counts = Counter(models)
    dollars = 0.0
    unpriced: dict[str, int] = {}
    for model, n in counts.items():
        price = price_per_request(model)
        if price is None:
            unpriced[model] = n
        else:
            dollars += price * n
    return CostEstimate(
        calls=sum(counts.values()),
        dollars=round(dollars, 6),
        calls_by_model=dict(counts),
        unpriced=unpriced,
    )


# Search and Extract APIs, US dollars per 1,000 (see the module's docstring).
SEARCH_PRICE_PER_1000: dict[str, float] = {"turbo": 1.0, "fast": 1.0, "basic": 5.0, "advanced": 5.0}
SEARCH_EXTRA_RESULT_PER_1000 = 1.0
EXTRACT_URL_PER_1000 = 1.0


def search_cost(mode: str | None, results: int) -> float | None:
    """Dollars for one search in `mode` (None: the server's default) that returned
    `results` pages, or None for a mode without a published price."""
    per_1000 = SEARCH_PRICE_PER_1000.get(mode or SERVER_DEFAULT_SEARCH_MODE)
    if per_1000 is None:
        return None
    extra = max(0, results - SEARCH_INCLUDED_RESULTS)
    return round((per_1000 + extra * SEARCH_EXTRA_RESULT_PER_1000) / 1000.0, 9)


def extract_cost(urls: int) -> float:
    """Dollars for one extraction of `urls` URLs."""
    return round(urls * EXTRACT_URL_PER_1000 / 1000.0, 9)
