"""`collect_basis()`: the research basis of every LM call a block of DSPy code makes.

The collectors travel in DSPy's own settings context (`dspy.context`), which DSPy
copies into `Evaluate`/`Parallel` worker threads, `asyncify` and `streamify`
workers, and which asyncio tasks inherit as a context variable. A bare
`contextvars` variable would be lost in DSPy's thread pools.

Each call is recorded once: from the LM's history entry (so DSPy cache hits
count too), or, when history is off (`disable_history`), by the engine after a
live request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dspy  # type: ignore[import-untyped]

from .._core import (
    CallCollector,
    Completion,
    Research,
    ResearchFields,
    research_from_dict,
    research_to_dict,
)

__all__ = ["BasisCollector", "LMCall", "collect_basis", "research_of"]

_SETTING = "parallel_adapters_basis_collectors"


@dataclass(frozen=True)
class LMCall(ResearchFields):
    """One finished `ParallelLM` call: its answer and the research behind it."""

    model: str
    """The model that answered."""
    text: str
    """The answer's text, as DSPy received it."""
    research: Research
    """The basis, citations and interaction id behind the answer."""
    cost: float | None = None
    """What the call cost in US dollars: 0 for a DSPy cache hit, None when no price is
    published for its model."""
    cache_hit: bool = False
    """True when DSPy answered from its cache (nothing was sent)."""


class BasisCollector(CallCollector[LMCall]):
    """The calls recorded inside one `collect_basis()` block, in completion order."""

    @property
    def total_cost(self) -> float:
        """US dollars the calls of the block cost (cache hits cost 0); the cost of one
        program run when the block wraps it, across `dspy.Parallel` threads too."""
        return round(sum(call.cost or 0.0 for call in self.calls), 9)


@contextmanager
def collect_basis() -> Iterator[BasisCollector]:
    """Gather the basis of every `ParallelLM` call made inside the block.

    Works across threads (`dspy.Evaluate`, `dspy.Parallel`), async code (`acall`,
    tasks), streaming and DSPy cache hits. Blocks nest: an inner block's calls
    are also recorded by the outer one. Like `dspy.context`, it holds the settings
    current when the block was entered.
    """
    collector = BasisCollector()
    active: tuple[BasisCollector, ...] = dspy.settings.get(_SETTING) or ()
    with dspy.context(**{_SETTING: (*active, collector)}):
        yield collector


def _active() -> tuple[BasisCollector, ...]:
    collectors: tuple[BasisCollector, ...] = dspy.settings.get(_SETTING) or ()
    return collectors


def _publish(call: LMCall) -> None:
    for collector in _active():
        collector.add(call)


def research_of(response: Any) -> Research:
    """The research (basis, citations, interaction id) in an lm15 `Response` from this kit.

    For example `research_of(lm.history[-1]["response"])`; empty for other responses.
    """
    data = getattr(response, "provider_data", None)
    return research_from_dict(data if isinstance(data, Mapping) else {})


def record_history_entry(entry: dict[str, Any]) -> None:
    """Called for each history entry of a `ParallelLM` (live calls and cache hits)."""
    if not _active():
        return
    responses = entry.get("response")
    if not isinstance(responses, (list, tuple)):
        responses = [responses]
    model = str(entry.get("model", ""))
    for response in responses:
        if response is not None:
            text = getattr(response, "text", None)
            _publish(
                LMCall(
                    model=model,
                    text=text or "",
                    research=research_of(response),
                    cost=entry.get("cost"),
                    cache_hit=bool(entry.get("cache_hit")),
                )
            )


def record_live_call(model: str, completion: Completion) -> None:
    """Called by the engines; records only when DSPy keeps no history to record from."""
    if not dspy.settings.disable_history or not _active():
        return
    research = research_from_dict(research_to_dict(completion))
    _publish(LMCall(model=model, text=completion.text, research=research, cost=completion.cost))
