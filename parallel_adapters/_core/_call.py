"""One logical call's bookkeeping: its price held against the budget, and its span."""

from __future__ import annotations

from ._budget import Budget, billed_after
from ._errors import ParallelError
from ._prices import call_price
from ._request import ChatRequest
from ._response import Completion
from ._tracing import CallSpan, start_span

__all__ = ["Call"]


class Call:
    """Begun before anything is sent (`BudgetExceededError` there when over the cap);
    ended once, by `succeed`, `fail` or `abandon`."""

    __slots__ = ("_budget", "_held", "_span", "price")

    def __init__(self, budget: Budget, request: ChatRequest, base_url: str) -> None:
        self._budget = budget
        self.price = call_price(request.api, request.model, request.effort)
        self._held = budget.reserve(self.price)
        self._span: CallSpan | None = start_span(request, base_url)

    def retry(self, error: ParallelError, attempt: int, delay: float) -> None:
        if self._span is not None:
            self._span.retry(error, attempt, delay)

    def first_chunk(self) -> None:
        if self._span is not None:
            self._span.first_chunk()

    def succeed(self, completion: Completion) -> Completion:
        """Charge the price; the completion (built by this call) gets it as `cost`."""
        self._budget.settle(self._held, self.price or 0.0)
        if self.price is not None:
            # The completion was created by this call and nobody else holds it yet.
            object.__setattr__(completion, "cost", self.price)
        if self._span is not None:
            self._span.finish(completion, self.price)
        return completion

    def fail(self, error: BaseException) -> None:
        """Charge the price only if the call may have been billed (`billed_after`)."""
        charged = (self.price or 0.0) if billed_after(error) else 0.0
        self._budget.settle(self._held, charged)
        if self._span is not None:
            self._span.fail(error, charged)

    def abandon(self) -> None:
        """A stream closed by its reader: the request was sent, so it counts."""
        self._budget.settle(self._held, self.price or 0.0)
        if self._span is not None:
            self._span.abandon(self.price)
