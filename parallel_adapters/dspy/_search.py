"""`ParallelSearch`: Parallel's Search API as a DSPy retriever and ReAct tool."""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from dspy.dsp.utils import dotdict  # type: ignore[import-untyped]

from .._chat import ParallelChat
from .._core._errors import InputError
from .._core._web_types import SearchResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core import ConnectionOptions

__all__ = ["ParallelSearch", "WebPassage"]


class WebPassage(dotdict):  # type: ignore[misc]
    """One search result as a DSPy passage: a dict (and attributes) with `long_text` and
    `text` (the page's excerpts), `url`, `title`, `publish_date` and `score` (1 for the
    first page, 1/2 for the second, ...), the keys DSPy's retrievers hand back."""


def _passages(result: SearchResult, k: int) -> list[WebPassage]:
    passages = []
    for rank, page in enumerate(result.results[:k]):
        text = page.text or page.title or page.url
        passages.append(
            WebPassage(
                long_text=text,
                text=text,
                url=page.url,
                title=page.title,
                publish_date=page.publish_date,
                score=1.0 / (rank + 1),
            )
        )
    return passages


class ParallelSearch:
    """Search the web with Parallel and return the best pages' excerpts with their URLs.

    Call it with `query` (what to find, in words or keywords) and optionally `k` (how
    many pages, default the `k` it was built with). Returns a list of passages, best
    first, each a dict with `long_text` (the excerpts), `url`, `title`, `publish_date`
    and `score`.

    ```python
    search = ParallelSearch(k=3)
    search("Who maintains DSPy?")                     # list of passages
    dspy.ReAct("question -> answer", tools=[search])  # as a tool, as is
    dspy.configure(rm=search)                         # as dspy.Retrieve's retriever
    ```

    Args:
        k: Pages per query (default 5); each call may ask for another number.
        mode: The search mode, passed through (e.g. `"fast"`); None for the server's.
        include_domains: Only these sources (`example.com`, `docs.python.org/3`, `.gov`).
        exclude_domains: Never these sources.
        after_date: Only pages published on or after this date (`YYYY-MM-DD`).
        client: A `ParallelChat` to share (key, pools, limiter, retries); by default one
            is built from `**options` and the environment.
        **options: The connection options of `ParallelChat` (`api_key`, `base_url`, ...).
    """

    def __init__(
        self,
        k: int = 5,
        *,
        mode: str | None = None,
        include_domains: Iterable[str] | None = None,
        exclude_domains: Iterable[str] | None = None,
        after_date: str | _dt.date | None = None,
        client: ParallelChat | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        self.k = _check_k(k)
        """Pages per query unless a call asks for another number."""
        self.client = client if client is not None else ParallelChat(**options)
        """The kit's client the searches go through."""
        self.search_options: dict[str, Any] = {
            "mode": mode,
            "include_domains": list(include_domains) if include_domains is not None else None,
            "exclude_domains": list(exclude_domains) if exclude_domains is not None else None,
            "after_date": after_date,
        }
        """The `search()` arguments every query is sent with."""
        self.last_result: SearchResult | None = None
        """The latest `SearchResult` (ids, warnings, cost), or None before the first call."""

    def __call__(self, query: str, k: int | None = None) -> list[WebPassage]:
        """Search the web for `query`; the best `k` pages' excerpts, each with its URL.

        Args:
            query: What to find on the web, as a question or keywords.
            k: How many pages to return (default: the k the search was built with).
        """
        count = self.k if k is None else _check_k(k)
        result = self.client.search(query, max_results=count, **self.search_options)
        self.last_result = result
        return _passages(result, count)

    async def acall(self, query: str, k: int | None = None) -> list[WebPassage]:
        """The async call: `await search.acall(query, k)`; `dspy.Tool(search.acall)` makes
        an async tool for `dspy.ReAct.acall`.

        Args:
            query: What to find on the web, as a question or keywords.
            k: How many pages to return (default: the k the search was built with).
        """
        count = self.k if k is None else _check_k(k)
        result = await self.client.asearch(query, max_results=count, **self.search_options)
        self.last_result = result
        return _passages(result, count)

    def __deepcopy__(self, memo: dict[int, Any]) -> ParallelSearch:
        # DSPy's optimizers deep-copy programs: copies share the client (its pools and
        # limiter hold locks, and one budget per key is the point).
        clone = copy.copy(self)
        clone.search_options = copy.deepcopy(self.search_options, memo)
        return clone

    def __repr__(self) -> str:
        return f"ParallelSearch(k={self.k}, base_url={self.client.config.base_url!r})"


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be a positive whole number, got {k!r}")
    return k
