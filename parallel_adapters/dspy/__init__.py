"""Parallel in DSPy: `ParallelLM`, its engines, the research basis, and `ParallelSearch`
(the Search API as a retriever and ReAct tool).

    from parallel_adapters.dspy import ParallelLM, collect_basis
    dspy.configure(lm=ParallelLM("base"))

Needs the `dspy` extra: `pip install 'parallel-adapters[dspy]'`.

Retries: exactly one layer, the core's (it honours Retry-After, takes a rate-limiter
slot per attempt and retries a stream only before its first text). `ParallelLM`
keeps DSPy's own `num_retries` at 0 and turns `num_retries=N` into the core's
`max_retries`. Errors are the core's typed errors and DSPy's public LM errors at
once: `except parallel_adapters.RateLimitError` and `except dspy.LMRateLimitError`
both catch a 429.
"""

from __future__ import annotations

try:
    import dspy as _dspy  # type: ignore[import-untyped]  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a venv without dspy
    raise ImportError(
        "parallel_adapters.dspy needs DSPy: pip install 'parallel-adapters[dspy]'"
    ) from exc

from ._basis import BasisCollector, LMCall, collect_basis, research_of
from ._engine import AsyncParallelEngine, ParallelEngine
from ._lm import ParallelLM
from ._search import ParallelSearch, WebPassage
from ._sources import WebSource, WebSources, with_web_sources

__all__ = [
    "AsyncParallelEngine",
    "BasisCollector",
    "LMCall",
    "ParallelEngine",
    "ParallelLM",
    "ParallelSearch",
    "WebPassage",
    "WebSource",
    "WebSources",
    "collect_basis",
    "research_of",
    "with_web_sources",
]

# Saved DSPy programs record these classes by import path; the public path keeps
# them loadable whatever the private module layout becomes.
for _cls in (ParallelLM, ParallelEngine, AsyncParallelEngine, ParallelSearch, WebPassage):
    _cls.__module__ = __name__
del _cls
