"""What both adapters' `collect_basis()` blocks hand back: the calls made inside them.

How a call is *found* is framework-specific (LlamaIndex instrumentation, DSPy's
settings context); keeping the found calls, safely across threads, and reading the
research across them is the same everywhere, so it lives here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Generic, Protocol, TypeVar, overload

from ._basis import Citation, FieldBasis, unique_citations
from ._sources import Research, Source

__all__ = ["CallCollector", "ResearchFields"]


class ResearchFields:
    """Basis accessors for a call record holding a `research` attribute."""

    research: Research

    @property
    def basis(self) -> list[FieldBasis]:
        return self.research.basis

    @property
    def citations(self) -> list[Citation]:
        """Cited sources across all fields, one per URL."""
        return self.research.citations

    @property
    def interaction_id(self) -> str | None:
        return self.research.interaction_id

    @property
    def sources(self) -> list[Source]:
        """One source per (field, page), with that field's confidence and reasoning."""
        return self.research.sources


class _HasResearch(Protocol):
    @property
    def basis(self) -> list[FieldBasis]: ...

    @property
    def sources(self) -> list[Source]: ...


CallT = TypeVar("CallT", bound=_HasResearch)


class CallCollector(Sequence[CallT], Generic[CallT]):
    """Calls in the order they finished; adapters' worker threads add to it concurrently."""

    def __init__(self) -> None:
        self._calls: list[CallT] = []
        self._lock = threading.Lock()

    def add(self, call: CallT) -> None:
        with self._lock:
            self._calls.append(call)

    @overload
    def __getitem__(self, index: int) -> CallT: ...

    @overload
    def __getitem__(self, index: slice) -> list[CallT]: ...

    def __getitem__(self, index: int | slice) -> CallT | list[CallT]:
        with self._lock:
            return self._calls[index]

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __iter__(self) -> Iterator[CallT]:
        return iter(self.calls)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(calls={len(self)})"

    @property
    def calls(self) -> list[CallT]:
        """A snapshot of the calls so far."""
        with self._lock:
            return list(self._calls)

    @property
    def last(self) -> CallT | None:
        with self._lock:
            return self._calls[-1] if self._calls else None

    @property
    def basis(self) -> list[FieldBasis]:
        """Every field basis of every call, in call order."""
        return [item for call in self for item in call.basis]

    @property
    def citations(self) -> list[Citation]:
        """Cited sources across all calls, one per URL, first-seen order, excerpts merged."""
        return unique_citations(self.basis)

    @property
    def sources(self) -> list[Source]:
        return [source for call in self for source in call.sources]
