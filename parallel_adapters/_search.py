"""The plain Search and Extract calls: `search(objective)` and `extract(urls)` for scripts."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any

from ._chat import default_chat
from ._core._web_types import ExtractResult, SearchResult

__all__ = ["aextract", "asearch", "extract", "search"]


def search(
    objective: str | None = None,
    queries: str | Iterable[str] | None = None,
    *,
    mode: str | None = None,
    max_results: int | None = None,
    include_domains: Iterable[str] | None = None,
    exclude_domains: Iterable[str] | None = None,
    after_date: str | _dt.date | None = None,
    max_chars_total: int | None = None,
    session_id: str | None = None,
    **options: Any,
) -> SearchResult:
    """Search the web with Parallel's Search API: ranked pages with excerpts.

    Uses the process-wide client of `default_chat()` (its key, pools and retries).

    Args:
        objective: What you are looking for, in words. With no `queries` it is also the
            one query sent.
        queries: Keyword queries (3-6 words each; 2-3 work best). A string is one query.
        mode: The search mode, passed through as given (`"turbo"`, `"fast"`, `"basic"`,
            `"advanced"` as of SDK 1.3.7); None leaves the server's default, `advanced`.
        max_results: At most this many pages (the server's default is 10; each page
            beyond 10 is billed).
        include_domains: Only these sources: plain domains (`wikipedia.org`),
            domain/path prefixes (`docs.python.org/3`) or extensions (`.gov`); never a
            scheme, port, query string or fragment.
        exclude_domains: Never these sources (same forms); at most 200 entries in the
            two lists together.
        after_date: Only pages published on or after this date (`"YYYY-MM-DD"` or a
            `datetime.date`).
        max_chars_total: At most this many characters of excerpts in all.
        session_id: The `session_id` of an earlier search or extract of the same task.
        **options: `client_model`, `location` (ISO country code), `excerpt_settings`,
            `fetch_policy`, `extra_body` (fields merged into the JSON body).

    Returns:
        The pages best first, with `search_id`, `session_id`, `warnings` and `cost`.

    Raises:
        InputError: the request cannot be sent as given (nothing was sent).
        ParallelError: a subclass for each failure; transient ones were retried.
    """
    return default_chat().search(
        objective,
        queries,
        mode=mode,
        max_results=max_results,
        include_domains=include_domains,
        exclude_domains=exclude_domains,
        after_date=after_date,
        max_chars_total=max_chars_total,
        session_id=session_id,
        **options,
    )


async def asearch(
    objective: str | None = None,
    queries: str | Iterable[str] | None = None,
    *,
    mode: str | None = None,
    max_results: int | None = None,
    include_domains: Iterable[str] | None = None,
    exclude_domains: Iterable[str] | None = None,
    after_date: str | _dt.date | None = None,
    max_chars_total: int | None = None,
    session_id: str | None = None,
    **options: Any,
) -> SearchResult:
    """The async `search`: `await asearch("objective")`."""
    return await default_chat().asearch(
        objective,
        queries,
        mode=mode,
        max_results=max_results,
        include_domains=include_domains,
        exclude_domains=exclude_domains,
        after_date=after_date,
        max_chars_total=max_chars_total,
        session_id=session_id,
        **options,
    )


def extract(
    urls: str | Iterable[str],
    objective: str | None = None,
    *,
    queries: str | Iterable[str] | None = None,
    full_content: bool | Mapping[str, Any] = False,
    **options: Any,
) -> ExtractResult:
    """Read web pages with Parallel's Extract API: excerpts (and full text) per URL.

    Args:
        urls: Up to 20 addresses (a string is one).
        objective: What to pick from the pages; excerpts focus on it.
        queries: Keyword queries that focus the excerpts too.
        full_content: True for each page's whole text as well (`WebResult.full_content`);
            a dict sets the API's full-content settings (`{"max_chars_per_result": n}`).
        **options: `max_chars_total`, `session_id`, `client_model`, `excerpt_settings`,
            `fetch_policy`, `extra_body`.

    Returns:
        One `WebResult` per page read and one `ExtractError` per page that was not.

    Raises:
        InputError: the request cannot be sent as given (nothing was sent).
        ParallelError: a subclass for each failure; transient ones were retried.
    """
    return default_chat().extract(
        urls, objective, queries=queries, full_content=full_content, **options
    )


async def aextract(
    urls: str | Iterable[str],
    objective: str | None = None,
    *,
    queries: str | Iterable[str] | None = None,
    full_content: bool | Mapping[str, Any] = False,
    **options: Any,
) -> ExtractResult:
    """The async `extract`: `await aextract(["https://..."])`."""
    return await default_chat().aextract(
        urls, objective, queries=queries, full_content=full_content, **options
    )
