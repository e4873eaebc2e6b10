"""The emulator's Search and Extract APIs: validate a body, ask the web responder, render.

As for the Chat and Responses APIs, the server turns a request into one protocol-neutral
`WebQuery`, a responder answers it with a `WebAnswer`, and this module renders the answer
in the API's shape. The default responder, `CorpusWebResponder`, ranks the bundled
corpus with the research simulator's BM25 retrieval; a test passes its own callable as
`ParallelEmulator(web_responder=...)` to script exact results.

The pre-GA paths `/v1beta/search` and `/v1beta/extract` (header `parallel-beta:
search-extract-2025-10-10`), which existing integrations still call, are served too:
their top-level `max_results`, `source_policy`, `excerpts`, `full_content` and
`fetch_policy` are read as the GA request's settings (`beta_to_ga`).

Errors follow the API reference (`api-reference/search`, `api-reference/extract`, copy of
2026-10-08): a body the request schema refuses gets 422 "Request validation error" in
Parallel's envelope; a source policy the server refuses gets 400 with the messages the
Responses API documents for the same policy (the one source that spells them out).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from ._research._corpus import CorpusPage, coerce_pages, load_default_corpus
from ._research._retrieval import BM25Index, tokenize
from ._wire import dumps

__all__ = [
    "CorpusWebResponder",
    "WebAnswer",
    "WebFailure",
    "WebPage",
    "WebQuery",
    "WebRejected",
    "WebResponder",
    "parse_web_body",
    "render_web",
]

WebApi = Literal["search", "extract"]
MAX_URLS = 20
MAX_FILTERS = 200
DEFAULT_MAX_RESULTS = 10
EXCERPTS_PER_PAGE = 3
VALIDATION_MESSAGE = "Request validation error"

_SEARCH_FIELDS = frozenset(
    {
        "search_queries",
        "objective",
        "mode",
        "max_chars_total",
        "session_id",
        "client_model",
        "advanced_settings",
    }
)
_EXTRACT_FIELDS = frozenset(
    {
        "urls",
        "objective",
        "search_queries",
        "max_chars_total",
        "session_id",
        "client_model",
        "advanced_settings",
    }
)
_SEARCH_SETTINGS = frozenset(
    {"excerpt_settings", "fetch_policy", "location", "max_results", "source_policy"}
)
_EXTRACT_SETTINGS = frozenset({"excerpt_settings", "fetch_policy", "full_content"})
_POLICY_FIELDS = frozenset({"include_domains", "exclude_domains", "after_date"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_HOST = re.compile(rf"\.?(?:{_LABEL}\.)*{_LABEL}")


@dataclass(frozen=True)
class WebQuery:
    """A Search or Extract request, as a responder sees it."""

    api: WebApi
    """`"search"` or `"extract"`."""
    objective: str | None = None
    """The natural-language objective, if one was sent."""
    queries: tuple[str, ...] = ()
    """The keyword queries (`search_queries`)."""
    urls: tuple[str, ...] = ()
    """Extract: the URLs asked for."""
    max_results: int = DEFAULT_MAX_RESULTS
    """Search: at most this many pages."""
    include_domains: tuple[str, ...] = ()
    """Search: the allow-list of the source policy (when set, `exclude_domains` is ignored)."""
    exclude_domains: tuple[str, ...] = ()
    """Search: the block-list of the source policy."""
    after_date: str | None = None
    """Search: only pages published on or after this date."""
    full_content: bool = False
    """Extract: whether each page's whole text was asked for."""
    max_chars_total: int | None = None
    """The cap on the characters of all excerpts together, if sent."""
    max_chars_per_result: int | None = None
    """`excerpt_settings.max_chars_per_result`: the cap on each page's excerpts, if sent."""
    full_content_chars: int | None = None
    """Extract: `full_content.max_chars_per_result`, the cap on each page's whole text."""
    mode: str | None = None
    """Search: the mode sent, if any."""
    session_id: str | None = None
    """The session sent, if any."""
    body: dict[str, Any] = field(default_factory=dict, compare=False)
    """The whole JSON body, as sent."""


@dataclass(frozen=True)
class WebPage:
    """One page of an answer."""

    url: str
    """The page's address."""
    title: str | None = None
    """The page's title."""
    excerpts: tuple[str, ...] = ()
    """The passages returned for it."""
    publish_date: str | None = None
    """`YYYY-MM-DD`, if known."""
    full_content: str | None = None
    """The whole text (Extract, when asked for)."""


@dataclass(frozen=True)
class WebFailure:
    """Extract: a URL that could not be read."""

    url: str
    """The address that failed."""
    error_type: str = "fetch_error"
    """The kind of failure (the API reference's example says `fetch_error`)."""
    http_status_code: int | None = 404
    """The status the page's server answered."""
    content: str | None = None
    """Words about the failure."""


@dataclass(frozen=True)
class WebAnswer:
    """What a web responder returns: pages, failed URLs (Extract) and warnings."""

    results: tuple[WebPage, ...] = ()
    """The pages, best first."""
    errors: tuple[WebFailure, ...] = ()
    """Extract: the URLs that could not be read."""
    warnings: tuple[str, ...] = ()
    """Warning messages to send with the answer."""


WebResponder = Callable[
    [WebQuery], "WebAnswer | Sequence[WebPage] | Awaitable[WebAnswer | Sequence[WebPage]]"
]
"""A callable answering every Search and Extract request: a `WebQuery` in; a `WebAnswer`
or a list of `WebPage`s (maybe awaitable) out."""


def as_web_answer(value: Any) -> WebAnswer:
    """A responder's return value as a `WebAnswer`; `TypeError` for anything else."""
    if isinstance(value, WebAnswer):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(p, WebPage) for p in value):
        return WebAnswer(results=tuple(value))
    raise TypeError(
        f"a web responder must return a WebAnswer or a list of WebPage, not {type(value).__name__}"
    )


class WebRejected(Exception):
    """The request is refused: `status` and the Parallel-envelope message and detail."""

    def __init__(self, status: int, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


# -- parsing ------------------------------------------------------------------------------


def _invalid(loc: list[str | int], msg: str) -> WebRejected:
    return WebRejected(422, VALIDATION_MESSAGE, {"errors": [{"loc": ["body", *loc], "msg": msg}]})


def _str_list(value: Any, loc: list[str | int]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(loc, "Input should be a valid list of strings")
    return tuple(value)


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid([name], "Input should be a valid string")
    return value


def _opt_int(body: dict[str, Any], name: str, loc: list[str | int]) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(loc, "Input should be a valid integer")
    if value < 1:
        raise _invalid(loc, "Input should be greater than 0")
    return value


def _known(body: dict[str, Any], fields: frozenset[str], loc: list[str | int]) -> None:
    for name in body:
        if name not in fields:
            raise _invalid([*loc, name], "Extra inputs are not permitted")


def _valid_date(value: Any) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _bad_filter(entry: str) -> bool:
    if "://" in entry or "?" in entry or "#" in entry:
        return True
    host = entry.split("/", 1)[0]
    return ":" in host or not _HOST.fullmatch(host)


def _policy(value: Any) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    loc: list[str | int] = ["advanced_settings", "source_policy"]
    if value is None:
        return (), (), None
    if not isinstance(value, dict):
        raise _invalid(loc, "Input should be a valid dictionary")
    _known(value, _POLICY_FIELDS, loc)
    include = _str_list(value.get("include_domains") or [], [*loc, "include_domains"])
    exclude = _str_list(value.get("exclude_domains") or [], [*loc, "exclude_domains"])
    after = value.get("after_date")
    if after is not None and not _valid_date(after):
        raise _invalid([*loc, "after_date"], "Input should be a valid date (YYYY-MM-DD)")
    bad = [e for e in (*include, *exclude) if _bad_filter(e)]
    if bad:
        raise WebRejected(
            400,
            f"Invalid source filter(s) in source_policy: {bad}. Expected format: plain "
            "domains (e.g., example.com, subdomain.example.gov) or bare domain extension "
            "starting with a period (e.g., .gov, .edu, .co.uk).",
        )
    if len(include) + len(exclude) > MAX_FILTERS:
        raise WebRejected(
            400, f"Total number of source filters in source_policy cannot exceed {MAX_FILTERS}."
        )
    if set(include) & set(exclude):
        raise WebRejected(
            400, "include_domains and exclude_domains cannot have overlapping entries."
        )
    return include, exclude, after


_BETA_SETTINGS = {
    "search": ("max_results", "source_policy", "fetch_policy"),
    "extract": ("full_content", "fetch_policy"),
}


def beta_to_ga(api: WebApi, body: dict[str, Any]) -> dict[str, Any]:
    """A `/v1beta` body in the GA shape: top-level settings moved into
    `advanced_settings`, beta-only fields (`excerpts`, `processor`) dropped, and a search
    without queries given its objective as the one query."""
    ga = {k: v for k, v in body.items() if k not in {"excerpts", "processor"}}
    settings = dict(ga.get("advanced_settings") or {})
    for name in _BETA_SETTINGS[api]:
        if name in ga:
            value = ga.pop(name)
            if value is not None:
                settings[name] = value
    if settings:
        ga["advanced_settings"] = settings
    if api == "search" and not ga.get("search_queries") and isinstance(ga.get("objective"), str):
        ga["search_queries"] = [ga["objective"]]
    if ga.get("mode") is not None and not isinstance(ga["mode"], str):
        ga.pop("mode")
    return ga


def _per_result(settings: Any, name: str) -> int | None:
    """`max_chars_per_result` of an `excerpt_settings` or `full_content` dict, if any."""
    if not isinstance(settings, dict):
        if settings is not None and not isinstance(settings, bool):
            raise _invalid(["advanced_settings", name], "Input should be a valid dictionary")
        return None
    return _opt_int(settings, "max_chars_per_result", ["advanced_settings", name])


def parse_web_body(api: WebApi, raw: bytes, *, beta: bool = False) -> WebQuery:
    """The `WebQuery` of a body; `WebRejected` for what the API refuses. `beta`: a
    `/v1beta` body, read through `beta_to_ga`."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise _invalid([], "JSON decode error") from None
    if not isinstance(body, dict):
        raise _invalid([], "Input should be a valid dictionary")
    if beta:
        body = beta_to_ga(api, body)
    _known(body, _SEARCH_FIELDS if api == "search" else _EXTRACT_FIELDS, [])
    objective = _opt_str(body, "objective")
    mode = _opt_str(body, "mode")
    session_id = _opt_str(body, "session_id")
    if session_id is not None and len(session_id) > 1000:
        raise _invalid(["session_id"], "String should have at most 1000 characters")
    _opt_str(body, "client_model")
    chars = _opt_int(body, "max_chars_total", ["max_chars_total"])
    settings = body.get("advanced_settings") or {}
    if not isinstance(settings, dict):
        raise _invalid(["advanced_settings"], "Input should be a valid dictionary")
    _known(
        settings,
        _SEARCH_SETTINGS if api == "search" else _EXTRACT_SETTINGS,
        ["advanced_settings"],
    )
    if api == "search":
        if "search_queries" not in body:
            raise _invalid(["search_queries"], "Field required")
        queries = _str_list(body["search_queries"], ["search_queries"])
        if not queries:
            raise _invalid(["search_queries"], "List should have at least 1 item")
        limit = _opt_int(settings, "max_results", ["advanced_settings", "max_results"])
        include, exclude, after = _policy(settings.get("source_policy"))
        return WebQuery(
            api="search",
            objective=objective,
            queries=queries,
            max_results=limit or DEFAULT_MAX_RESULTS,
            include_domains=include,
            exclude_domains=exclude,
            after_date=after,
            max_chars_total=chars,
            max_chars_per_result=_per_result(settings.get("excerpt_settings"), "excerpt_settings"),
            mode=mode,
            session_id=session_id,
            body=body,
        )
    if "urls" not in body:
        raise _invalid(["urls"], "Field required")
    urls = _str_list(body["urls"], ["urls"])
    if not urls:
        raise _invalid(["urls"], "List should have at least 1 item")
    if len(urls) > MAX_URLS:
        raise _invalid(["urls"], f"List should have at most {MAX_URLS} items")
    queries = _str_list(body.get("search_queries") or [], ["search_queries"])
    full = settings.get("full_content", False)
    if not isinstance(full, (bool, dict)):
        raise _invalid(["advanced_settings", "full_content"], "Input should be a valid boolean")
    return WebQuery(
        api="extract",
        objective=objective,
        queries=queries,
        urls=urls,
        full_content=bool(full) or isinstance(full, dict),
        max_chars_total=chars,
        max_chars_per_result=_per_result(settings.get("excerpt_settings"), "excerpt_settings"),
        full_content_chars=_per_result(full, "full_content"),
        session_id=session_id,
        body=body,
    )


# -- the default responder ----------------------------------------------------------------


def _matches(url: str, entry: str) -> bool:
    """Whether `url` falls under a source-policy entry (domain, domain/path or extension)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    domain, _, path = entry.partition("/")
    domain = domain.lower()
    if domain.startswith("."):
        on_host = host.endswith(domain)
    else:
        on_host = host == domain or host.endswith("." + domain)
    if not on_host:
        return False
    if not path:
        return True
    prefix = "/" + path.strip("/")
    page = parts.path.rstrip("/") or "/"
    return page == prefix or page.startswith(prefix + "/")


def _allowed(url: str, query: WebQuery) -> bool:
    if query.include_domains:
        return any(_matches(url, e) for e in query.include_domains)
    return not any(_matches(url, e) for e in query.exclude_domains)


def _cap(pages: list[WebPage], query: WebQuery) -> list[WebPage]:
    """Keep, best page first, the excerpts that fit `max_chars_per_result` per page and
    `max_chars_total` in all; cut each full text to `full_content_chars`."""
    budget = query.max_chars_total
    capped: list[WebPage] = []
    for page in pages:
        kept: list[str] = []
        room = query.max_chars_per_result
        for excerpt in page.excerpts:
            fits_total = budget is None or len(excerpt) <= budget
            if fits_total and (room is None or len(excerpt) <= room):
                kept.append(excerpt)
                budget = None if budget is None else budget - len(excerpt)
                room = None if room is None else room - len(excerpt)
        full = page.full_content
        if full is not None and query.full_content_chars is not None:
            full = full[: query.full_content_chars]
        capped.append(dataclasses.replace(page, excerpts=tuple(kept), full_content=full))
    return capped


class CorpusWebResponder:
    """Answers Search and Extract from `corpus` (default: the bundled pages).

    Search ranks the corpus's sentences by BM25 (the research simulator's retrieval) for
    the objective and queries together; a page ranks where its best sentence does, and
    carries its best sentences (up to three, in page order) as excerpts. Extract reads
    the corpus page at each URL (any other URL fails with `fetch_error`, 404).
    Deterministic: the same request gets the same answer.

    The bundled pages carry no publish date: an `after_date` filter keeps them all.
    """

    def __init__(self, corpus: Sequence[CorpusPage | dict[str, str]] | None = None) -> None:
        self.pages = coerce_pages(corpus) if corpus is not None else load_default_corpus()
        """The pages searched and read."""
        self._index = BM25Index(self.pages)
        self._by_url = {page.url: page for page in self.pages}

    def __call__(self, query: WebQuery) -> WebAnswer:
        if query.api == "search":
            return self._search(query)
        return self._extract(query)

    def _ranked(self, words: str, limit: int) -> list[tuple[CorpusPage, list[int]]]:
        hits = self._index.search(tokenize(words), limit)
        ranked: dict[str, tuple[CorpusPage, list[int]]] = {}
        for hit in hits:
            page = hit.passage.page
            entry = ranked.setdefault(page.url, (page, []))
            if len(entry[1]) < EXCERPTS_PER_PAGE:
                entry[1].append(hit.passage.position)
        return list(ranked.values())

    def _search(self, query: WebQuery) -> WebAnswer:
        words = " ".join([query.objective or "", *query.queries])
        pages: list[WebPage] = []
        for page, positions in self._ranked(words, len(self._index.passages)):
            if not _allowed(page.url, query):
                continue
            excerpts = tuple(page.sentences[p] for p in sorted(positions))
            pages.append(WebPage(page.url, page.title, excerpts))
            if len(pages) == query.max_results:
                break
        return WebAnswer(results=tuple(_cap(pages, query)))

    def _extract(self, query: WebQuery) -> WebAnswer:
        words = " ".join([query.objective or "", *query.queries]).strip()
        terms = set(tokenize(words))
        results: list[WebPage] = []
        errors: list[WebFailure] = []
        for url in dict.fromkeys(query.urls):
            page = self._by_url.get(url)
            if page is None:
                errors.append(WebFailure(url, content=f"Error fetching content from {url}"))
                continue
            if terms:
                scored = [(len(terms & set(tokenize(s))), -n) for n, s in enumerate(page.sentences)]
                best = sorted(range(len(scored)), key=lambda n: scored[n], reverse=True)
                positions = sorted(n for n in best[:EXCERPTS_PER_PAGE] if scored[n][0] > 0)
                positions = positions or [0]
            else:
                positions = list(range(min(EXCERPTS_PER_PAGE, len(page.sentences))))
            excerpts = tuple(page.sentences[n] for n in positions)
            full = page.text if query.full_content else None
            results.append(WebPage(page.url, page.title, excerpts, None, full))
        return WebAnswer(results=tuple(_cap(results, query)), errors=tuple(errors))


# -- rendering ----------------------------------------------------------------------------


def _page_json(page: WebPage, api: WebApi) -> dict[str, Any]:
    item: dict[str, Any] = {
        "url": page.url,
        "title": page.title,
        "publish_date": page.publish_date,
        "excerpts": list(page.excerpts),
    }
    if api == "extract":
        item["full_content"] = page.full_content
    return item


def render_web(query: WebQuery, answer: WebAnswer, raw: bytes) -> bytes:
    """The answer's JSON body: ids derived from the request, the session echoed."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    session = query.session_id or f"session_{digest}"
    warnings = [{"type": "warning", "message": w, "detail": None} for w in answer.warnings]
    body: dict[str, Any] = {
        f"{query.api}_id": f"{query.api}_{digest}",
        "session_id": session,
        "results": [_page_json(p, query.api) for p in answer.results],
        "warnings": warnings or None,
    }
    if query.api == "search":
        body["usage"] = [{"name": "sku_search", "count": 1}]
    else:
        body["errors"] = [
            {
                "url": e.url,
                "error_type": e.error_type,
                "http_status_code": e.http_status_code,
                "content": e.content,
            }
            for e in answer.errors
        ]
        body["usage"] = [{"name": "sku_extract_excerpts", "count": len(query.urls)}]
    return dumps(body)
