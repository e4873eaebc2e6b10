"""What the Search and Extract APIs hand back: ranked web pages with their excerpts.

Plain frozen dataclasses, shared by the plain API, the LlamaIndex retriever, the DSPy
search module and the CLI; `_web` fills them from the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ExtractError", "ExtractResult", "SearchResult", "WebResult"]


@dataclass(frozen=True)
class WebResult:
    """One web page: its address, title, date and the excerpts chosen for the request."""

    url: str
    """The page's address."""
    title: str | None = None
    """The page's title, if the API knows it."""
    publish_date: str | None = None
    """The page's publish date (`YYYY-MM-DD`), if the API knows it."""
    excerpts: tuple[str, ...] = ()
    """Passages of the page relevant to the objective and queries, as markdown."""
    full_content: str | None = None
    """The whole page as markdown, when asked for (`extract(..., full_content=True)`)."""

    @property
    def text(self) -> str:
        """The excerpts joined by blank lines (the full content when there are none)."""
        if self.excerpts:
            return "\n\n".join(self.excerpts)
        return self.full_content or ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists for tuples)."""
        data = asdict(self)
        data["excerpts"] = list(self.excerpts)
        return data


@dataclass(frozen=True)
class SearchResult:
    """The answer of `search()`: pages ranked best first."""

    search_id: str
    """The server's id of this search."""
    session_id: str | None
    """The session to pass to later `search`/`extract` calls of the same task."""
    results: tuple[WebResult, ...]
    """The pages, best first."""
    warnings: tuple[str, ...] = ()
    """The server's warnings about the request, as messages."""
    cost: float | None = None
    """Dollars at published prices for the mode sent (None when the mode has no published
    price); see `parallel_adapters._core._prices`."""
    usage: tuple[dict[str, Any], ...] = ()
    """The server's usage items (`{"name", "count"}`), as sent."""

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[WebResult]:
        return iter(self.results)

    @property
    def urls(self) -> list[str]:
        """The pages' addresses, best first."""
        return [r.url for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ids, results, warnings, usage and cost."""
        return {
            "search_id": self.search_id,
            "session_id": self.session_id,
            "results": [r.to_dict() for r in self.results],
            "warnings": list(self.warnings),
            "usage": list(self.usage),
            "cost": self.cost,
        }


@dataclass(frozen=True)
class ExtractError:
    """A URL that `extract()` could not read, and why."""

    url: str
    """The address that failed."""
    error_type: str
    """The server's kind of failure, e.g. `fetch_error`."""
    http_status_code: int | None = None
    """The status the page's server answered, if any."""
    content: str | None = None
    """The server's words about the failure, if any."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ExtractResult:
    """The answer of `extract()`: one `WebResult` per page read, one `ExtractError` per
    page that was not."""

    extract_id: str
    """The server's id of this extraction."""
    session_id: str | None
    """The session to pass to later `search`/`extract` calls of the same task."""
    results: tuple[WebResult, ...]
    """The pages read, in the server's order."""
    errors: tuple[ExtractError, ...] = ()
    """The pages that could not be read."""
    warnings: tuple[str, ...] = ()
    """The server's warnings about the request, as messages."""
    cost: float | None = None
    """Dollars at published prices ($1 per 1,000 URLs requested)."""
    usage: tuple[dict[str, Any], ...] = ()
    """The server's usage items (`{"name", "count"}`), as sent."""

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[WebResult]:
        return iter(self.results)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ids, results, errors, warnings, usage and cost."""
        return {
            "extract_id": self.extract_id,
            "session_id": self.session_id,
            "results": [r.to_dict() for r in self.results],
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
            "usage": list(self.usage),
            "cost": self.cost,
        }
