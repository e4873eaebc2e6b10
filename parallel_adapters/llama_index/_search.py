"""Parallel's Search and Extract APIs in LlamaIndex: a retriever and a tool spec.

`ParallelSearchRetriever` feeds ranked web excerpts to LlamaIndex's own LLM (a
`RetrieverQueryEngine`, a `QueryEngineTool`, any pipeline taking a retriever);
`ParallelWebToolSpec` gives an agent `web_search` and `web_extract`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from llama_index.core.callbacks import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.tools import ToolMetadata
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from llama_index.core.tools.utils import create_schema_from_function

from .._chat import ParallelChat
from .._core._web_types import ExtractResult, SearchResult, WebResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core import ConnectionOptions

__all__ = ["ParallelSearchRetriever", "ParallelWebToolSpec", "format_results", "nodes_of"]

# Where a page is from is for people and citations; the LLM and the embedding model read
# only the excerpts.
_PAGE_KEYS = ["url", "title", "publish_date"]


def _node(result: WebResult, rank: int) -> NodeWithScore:
    metadata = {
        key: value
        for key, value in (
            ("url", result.url),
            ("title", result.title),
            ("publish_date", result.publish_date),
        )
        if value is not None
    }
    text = result.text or result.title or result.url
    digest = hashlib.sha256(f"{result.url}\n{text}".encode()).hexdigest()[:32]
    node = TextNode(
        id_=f"parallel-web-{digest}",
        text=text,
        metadata=metadata,
        excluded_llm_metadata_keys=list(_PAGE_KEYS),
        excluded_embed_metadata_keys=list(_PAGE_KEYS),
    )
    # The API ranks but gives no similarity: the score is the reciprocal rank (1, 1/2, ...).
    return NodeWithScore(node=node, score=1.0 / (rank + 1))


def nodes_of(result: SearchResult | ExtractResult) -> list[NodeWithScore]:
    """One node per page, best first: text = the excerpts (joined by blank lines), metadata
    `url`, `title`, `publish_date` (kept out of the LLM and embedding text), score = 1 for
    the first page, 1/2 for the second, and so on."""
    return [_node(page, rank) for rank, page in enumerate(result.results)]


class ParallelSearchRetriever(BaseRetriever):
    """A LlamaIndex retriever over the web: each query is a Parallel Search API call.

    ```python
    from llama_index.core.query_engine import RetrieverQueryEngine
    engine = RetrieverQueryEngine.from_args(ParallelSearchRetriever(max_results=5), llm=llm)
    ```

    The query string is the search objective (and, without `queries`, its one query).
    Nodes hold the excerpts; see `nodes_of`. Sync and async (`aretrieve`).

    Args:
        max_results: Pages per query (the API's default is 10).
        mode: The search mode, passed through (e.g. `"fast"`); None for the server's.
        include_domains: Only these sources (`example.com`, `docs.python.org/3`, `.gov`).
        exclude_domains: Never these sources.
        after_date: Only pages published on or after this date (`YYYY-MM-DD`).
        max_chars_total: At most this many characters of excerpts per query.
        client: A `ParallelChat` to share (its key, pools, limiter and retries); by
            default one is built from `**options` and the environment.
        callback_manager: LlamaIndex callbacks, as for any retriever.
        **options: The connection options of `ParallelChat` (`api_key`, `base_url`,
            `timeout`, `max_retries`, ...).
    """

    def __init__(
        self,
        max_results: int | None = None,
        *,
        mode: str | None = None,
        include_domains: Iterable[str] | None = None,
        exclude_domains: Iterable[str] | None = None,
        after_date: str | _dt.date | None = None,
        max_chars_total: int | None = None,
        client: ParallelChat | None = None,
        callback_manager: CallbackManager | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        super().__init__(callback_manager=callback_manager)
        self.client = client if client is not None else ParallelChat(**options)
        """The kit's client the searches go through."""
        self.search_options: dict[str, Any] = {
            "mode": mode,
            "max_results": max_results,
            "include_domains": list(include_domains) if include_domains is not None else None,
            "exclude_domains": list(exclude_domains) if exclude_domains is not None else None,
            "after_date": after_date,
            "max_chars_total": max_chars_total,
        }
        """The `search()` arguments every query is sent with."""
        self.last_result: SearchResult | None = None
        """The latest `SearchResult` (ids, warnings, cost), or None before the first query."""

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self.client.search(query_bundle.query_str, **self.search_options)
        self.last_result = result
        return nodes_of(result)

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = await self.client.asearch(query_bundle.query_str, **self.search_options)
        self.last_result = result
        return nodes_of(result)


def format_results(result: SearchResult | ExtractResult) -> str:
    """Results as text for an LLM: a numbered list of title, URL, date and excerpts (and
    for Extract, the pages that failed)."""
    blocks: list[str] = []
    for n, page in enumerate(result.results, 1):
        head = f"[{n}] {page.title or page.url}\nURL: {page.url}"
        if page.publish_date:
            head += f"\nPublished: {page.publish_date}"
        body = page.full_content if page.full_content else page.text
        blocks.append(f"{head}\n{body}".rstrip())
    if isinstance(result, ExtractResult):
        for error in result.errors:
            status = f" (HTTP {error.http_status_code})" if error.http_status_code else ""
            blocks.append(f"Could not read {error.url}: {error.error_type}{status}")
    return "\n\n".join(blocks) if blocks else "No results."


class ParallelWebToolSpec(BaseToolSpec):
    """Tools for LlamaIndex agents: `web_search` and `web_extract` (sync and async).

    ```python
    tools = ParallelWebToolSpec().to_tool_list()
    agent = FunctionAgent(tools=tools, llm=llm)
    ```

    Each tool returns text the agent's LLM reads: numbered pages with title, URL and
    excerpts. Bad arguments (say a domain written with `https://`) raise `InputError`
    with a message the agent can act on; nothing is sent for them.

    Args:
        max_results: Pages per search (the API's default is 10).
        mode: The search mode, passed through; None for the server's.
        client: A `ParallelChat` to share; by default one is built from `**options`.
        **options: The connection options of `ParallelChat`.
    """

    # The base class declares it a plain list; each pair is (sync name, async name).
    spec_functions = [("web_search", "aweb_search"), ("web_extract", "aweb_extract")]  # noqa: RUF012
    """The tools `to_tool_list()` makes: (sync, async) method names."""

    def __init__(
        self,
        max_results: int | None = None,
        *,
        mode: str | None = None,
        client: ParallelChat | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        self.client = client if client is not None else ParallelChat(**options)
        """The kit's client the tools call through."""
        self.max_results = max_results
        """Pages per search."""
        self.mode = mode
        """The search mode sent, or None."""

    def get_metadata_from_fn_name(
        self, fn_name: str, spec_functions: Any = None
    ) -> ToolMetadata | None:
        """Each tool's name, its whole docstring (how to write every argument) and its
        schema."""
        # LlamaIndex builds this itself otherwise, and some 0.14 releases keep only the
        # docstring's first line: the model would never read how to write a domain.
        func = getattr(self, fn_name)
        description = f"{fn_name}{inspect.signature(func)}\n{inspect.cleandoc(func.__doc__ or '')}"
        return ToolMetadata(
            name=fn_name,
            description=description,
            fn_schema=create_schema_from_function(fn_name, func),
        )

    def web_search(
        self,
        objective: str,
        queries: list[str] | None = None,
        include_domains: list[str] | None = None,
        after_date: str | None = None,
    ) -> str:
        """Search the web; returns the best pages with relevant excerpts and their URLs.
        `objective` says what to find, as a full sentence; `queries` are optional short
        keyword queries; `include_domains` optionally limits the search to domains
        written like example.com, docs.python.org/3 or .gov (no https://, no port);
        `after_date` is an optional earliest publish date, written YYYY-MM-DD.

        Args:
            objective: What you want to find out, as a full sentence.
            queries: Optional short keyword queries (3-6 words each).
            include_domains: Optional domains to search only, written like
                "example.com", "docs.python.org/3" or ".gov" (no https://, no port).
            after_date: Optional earliest publish date, written YYYY-MM-DD.
        """
        return format_results(
            self.client.search(
                objective,
                queries,
                mode=self.mode,
                max_results=self.max_results,
                include_domains=include_domains,
                after_date=after_date,
            )
        )

    async def aweb_search(
        self,
        objective: str,
        queries: list[str] | None = None,
        include_domains: list[str] | None = None,
        after_date: str | None = None,
    ) -> str:
        """Search the web; returns the best pages with relevant excerpts and their URLs.
        `objective` says what to find, as a full sentence; `queries` are optional short
        keyword queries; `include_domains` optionally limits the search to domains
        written like example.com, docs.python.org/3 or .gov (no https://, no port);
        `after_date` is an optional earliest publish date, written YYYY-MM-DD.

        Args:
            objective: What you want to find out, as a full sentence.
            queries: Optional short keyword queries (3-6 words each).
            include_domains: Optional domains to search only, written like
                "example.com", "docs.python.org/3" or ".gov" (no https://, no port).
            after_date: Optional earliest publish date, written YYYY-MM-DD.
        """
        return format_results(
            await self.client.asearch(
                objective,
                queries,
                mode=self.mode,
                max_results=self.max_results,
                include_domains=include_domains,
                after_date=after_date,
            )
        )

    def web_extract(
        self, urls: list[str], objective: str | None = None, full_content: bool = False
    ) -> str:
        """Read up to 20 web pages (full https:// addresses in `urls`); returns their
        excerpts relevant to the optional `objective`, or each page's whole text with
        `full_content` set to true.

        Args:
            urls: The pages' full addresses (https://...), at most 20.
            objective: Optional: what to look for in the pages.
            full_content: True to get each page's whole text instead of excerpts.
        """
        return format_results(self.client.extract(urls, objective, full_content=full_content))

    async def aweb_extract(
        self, urls: list[str], objective: str | None = None, full_content: bool = False
    ) -> str:
        """Read up to 20 web pages (full https:// addresses in `urls`); returns their
        excerpts relevant to the optional `objective`, or each page's whole text with
        `full_content` set to true.

        Args:
            urls: The pages' full addresses (https://...), at most 20.
            objective: Optional: what to look for in the pages.
            full_content: True to get each page's whole text instead of excerpts.
        """
        result = await self.client.aextract(urls, objective, full_content=full_content)
        return format_results(result)
