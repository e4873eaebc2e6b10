"""What a client has spent, and the cap (`max_cost`) it may not go over.

A call reserves its price before it is sent and settles after: with what it cost when
it may have been billed, with nothing when it surely was not. Reserving first is what
makes the cap hold for threads and tasks racing each other: the check and the
reservation happen under one lock, so two calls cannot both fit into the last dollar.
"""

from __future__ import annotations

import math
import threading

from ._errors import (
    BudgetExceededError,
    InputError,
    MissingAPIKeyError,
    OutputParseError,
    ParallelError,
    RateLimitStoreError,
    ResponseTooLargeError,
    StreamError,
)

__all__ = ["Budget", "billed_after", "check_max_cost"]

# Sums of prices like 0.005 drift in binary floating point; a call that fits the cap
# exactly must not be refused over a rounding error.
_SLACK = 1e-9


def billed_after(error: BaseException) -> bool:
    """Whether a call that ended in `error` may still have been billed.

    Parallel bills successful requests. Nothing is billed when nothing was sent (bad
    input, no key, a refused budget, an unusable rate-limit store) or when the server
    answered with an error status (400, 401, 402, 422, 429, 5xx). Anything else may have
    been billed: the server produced an answer that broke in transit, did not parse, was
    too large, or a timeout, dropped connection or cancellation left the outcome unknown.
    """
    if isinstance(error, (StreamError, OutputParseError, ResponseTooLargeError)):
        return True  # the server answered; the answer was lost here
    if isinstance(
        error, (InputError, MissingAPIKeyError, BudgetExceededError, RateLimitStoreError)
    ):
        return False
    return not (isinstance(error, ParallelError) and error.status_code is not None)


def check_max_cost(value: float | None) -> float | None:
    """`value` if it is a usable cap (a finite number >= 0, or None); else `InputError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"max_cost must be a number of US dollars, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InputError(f"max_cost must be a finite number >= 0, got {value!r}")
    return float(value)


class Budget:
    """The spend of one client, and its cap. Thread-safe and async-safe (no awaits)."""

    def __init__(self, max_cost: float | None = None) -> None:
        self.max_cost = check_max_cost(max_cost)
        self._lock = threading.Lock()
        self._spent = 0.0
        self._reserved = 0.0

    @property
    def spent(self) -> float:
        """Dollars settled so far (calls still in flight are not in it)."""
        return round(self._spent, 9)

    @property
    def reserved(self) -> float:
        """Dollars held by calls in flight."""
        return round(self._reserved, 9)

    def reserve(self, price: float | None) -> float:
        """Hold `price` for a call about to be sent; `BudgetExceededError` when it would
        take spending over the cap. Returns what was held (0 for an unpriced call)."""
        if not price:
            return 0.0
        with self._lock:
            spent, reserved = self._spent, self._reserved
            cap = self.max_cost
            if cap is not None and spent + reserved + price > cap + _SLACK:
                raise BudgetExceededError(
                    f"this call (${price:,.4f}) would take spending over max_cost "
                    f"${cap:,.4f}: ${spent:,.4f} spent and ${reserved:,.4f} held by calls "
                    "in flight; nothing was sent",
                    max_cost=cap,
                    spent=round(spent, 9),
                    reserved=round(reserved, 9),
                    price=price,
                )
            self._reserved = reserved + price
        return price

    def settle(self, held: float, charged: float) -> None:
        """Release what a call held, and add what it cost."""
        if not held and not charged:
            return
        with self._lock:
            self._reserved = max(0.0, self._reserved - held)
            self._spent += charged

    def after_fork(self) -> None:
        """In a forked child: a free lock, and no calls in flight (they are the parent's)."""
        self._lock = threading.Lock()
        self._reserved = 0.0
