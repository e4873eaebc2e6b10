"""Parallel inside LlamaIndex: `ParallelLLM`, `ParallelWebQueryEngine`, basis access, and
web retrieval (`ParallelSearchRetriever`, `ParallelWebToolSpec`).

```python
from llama_index.core import Settings
from parallel_adapters.llama_index import ParallelLLM, ParallelWebQueryEngine

Settings.llm = ParallelLLM(model="base")
```

Needs the `llama-index` extra: `pip install 'parallel-adapters[llama-index]'`. The types
these return (`Research`, `Citation`, ...) and the errors they raise are imported from
`parallel_adapters`.
"""

from __future__ import annotations

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "parallel_adapters.llama_index needs LlamaIndex: "
        "pip install 'parallel-adapters[llama-index]'"
    ) from exc

from ._basis_events import BasisCollector, LLMCall, collect_basis
from ._llm import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUT, ParallelLLM
from ._query_engine import ParallelWebQueryEngine, marked_text, source_nodes_of
from ._research import basis_of, citations_of, interaction_id_of, research_of, spans_of
from ._search import ParallelSearchRetriever, ParallelWebToolSpec, format_results, nodes_of

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_NUM_OUTPUT",
    "BasisCollector",
    "LLMCall",
    "ParallelLLM",
    "ParallelSearchRetriever",
    "ParallelWebQueryEngine",
    "ParallelWebToolSpec",
    "basis_of",
    "citations_of",
    "collect_basis",
    "format_results",
    "interaction_id_of",
    "marked_text",
    "nodes_of",
    "research_of",
    "source_nodes_of",
    "spans_of",
]
