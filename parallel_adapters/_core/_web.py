"""The Search and Extract APIs' wire format: shape a request, read an answer.

`POST /v1/search` and `POST /v1/extract` (GA), as the official `parallel-web` SDK 1.3.7
types them. Everything the API documents as refused is refused here with `InputError`,
before any request exists: a request that reaches the transport is one the API accepts.

`mode` is passed through as given: its documented values changed between SDK releases
(`basic`/`standard`, then `turbo`/`fast`/`basic`/`advanced`), and a list here would go
stale before the server does.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._config import (
    EXTRACT_PATH,
    MAX_EXTRACT_URLS,
    MAX_SOURCE_DOMAINS,
    SEARCH_PATH,
)
from ._errors import InputError, ServerError
from ._prices import extract_cost, search_cost
from ._web_types import ExtractError, ExtractResult, SearchResult, WebResult

__all__ = [
    "WebApi",
    "WebRequest",
    "check_domain",
    "extract_from_body",
    "search_from_body",
    "shape_extract",
    "shape_search",
]

WebApi = Literal["search", "extract"]

# Request options beyond the named arguments: the rest of each request type's fields.
SEARCH_OPTIONS = frozenset(
    {"client_model", "location", "excerpt_settings", "fetch_policy", "extra_body"}
)
EXTRACT_OPTIONS = frozenset(
    {
        "max_chars_total",
        "session_id",
        "client_model",
        "excerpt_settings",
        "fetch_policy",
        "extra_body",
    }
)
# The spec's limit on session_id (V1ExtractRequest, V1SearchRequest).
MAX_SESSION_ID_CHARS = 1000

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# One DNS label: letters (any script, for IDNs), digits and inner hyphens.
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_HOST = re.compile(rf"\.?(?:{_LABEL}\.)*{_LABEL}")


@dataclass(frozen=True)
class WebRequest:
    """A validated Search or Extract request: the JSON body and what reading it needs."""

    api: WebApi
    """`"search"` or `"extract"`."""
    body: dict[str, Any]
    """The JSON body sent."""
    mode: str | None = None
    """The search mode sent, None for the server's default (prices the answer)."""
    urls: tuple[str, ...] = field(default=())
    """The URLs an extraction asked for (prices the answer)."""

    @property
    def path(self) -> str:
        """`/v1/search` or `/v1/extract`."""
        return SEARCH_PATH if self.api == "search" else EXTRACT_PATH

    @property
    def price(self) -> float | None:
        """The most this request can cost, held against `max_cost` before it is sent: a
        search priced at the results it may return, an extraction at its URLs."""
        if self.api == "extract":
            return extract_cost(len(self.urls))
        settings = self.body.get("advanced_settings") or {}
        most = settings.get("max_results") if isinstance(settings, dict) else None
        return search_cost(self.mode, most if isinstance(most, int) else 0)


# -- validation ---------------------------------------------------------------------------


def _text(name: str, value: Any, *, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {type(value).__name__}")
    return value


def _strings(name: str, value: Any) -> list[str]:
    """A list of non-blank strings; one string is a list of one (never split into letters)."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise InputError(f"{name} must be a list of strings, got {type(value).__name__}")
    items = list(value)
    for n, item in enumerate(items):
        if not isinstance(item, str):
            raise InputError(f"{name}[{n}] must be a string, got {type(item).__name__}")
        if not item.strip():
            raise InputError(f"{name}[{n}] is blank")
    return items


def _positive_int(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be a positive whole number, got {value!r}")
    return value


def check_domain(entry: Any, name: str = "include_domains") -> str:
    """`entry` if the API accepts it as a source-policy domain, else `InputError`.

    Accepted, per the SDK's `SourcePolicy` docs: plain domains (`wikipedia.org`),
    domain/path prefixes (`docs.python.org/3`) and bare extensions (`.gov`, `.co.uk`).
    Entries "omit schemes, ports, query strings, and fragments".
    """
    if not isinstance(entry, str):
        raise InputError(f"{name} entries must be strings, got {type(entry).__name__}")
    problem = None
    if "://" in entry or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", entry):
        problem = "has a scheme (write example.com, not https://example.com)"
    elif "?" in entry:
        problem = "has a query string"
    elif "#" in entry:
        problem = "has a fragment"
    else:
        host = entry.split("/", 1)[0]
        if ":" in host:
            problem = "has a port"
        elif not _HOST.fullmatch(host):
            problem = "is not a domain, a domain/path prefix or an extension such as .gov"
    if problem:
        raise InputError(f"{name} entry {entry!r} {problem}")
    return entry


def _domains(name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    return [check_domain(entry, name) for entry in _strings(name, value)]


def _after_date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        raise InputError("after_date must be a date (YYYY-MM-DD), not a datetime")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InputError(f"after_date must be a date written YYYY-MM-DD, got {value!r}")
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"after_date {value!r} is not a real date") from None
    return value


def _session_id(value: Any) -> str | None:
    text = _text("session_id", value)
    if text is not None and (not text.strip() or len(text) > MAX_SESSION_ID_CHARS):
        raise InputError(f"session_id must be 1 to {MAX_SESSION_ID_CHARS} characters")
    return text


def _unknown(options: Mapping[str, Any], accepted: frozenset[str], call: str) -> None:
    unknown = set(options) - accepted
    if unknown:
        raise InputError(
            f"{call}() got unknown option(s) {sorted(unknown)}; accepted: {sorted(accepted)}"
        )


def _advanced(options: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name in ("excerpt_settings", "fetch_policy"):
        value = options.get(name)
        if value is not None:
            if not isinstance(value, Mapping):
                raise InputError(f"{name} must be a dict, got {type(value).__name__}")
            settings[name] = dict(value)
    return settings


def _merge_extra(body: dict[str, Any], extra: Any) -> dict[str, Any]:
    if extra is None:
        return body
    if not isinstance(extra, Mapping):
        raise InputError(f"extra_body must be a dict, got {type(extra).__name__}")
    return {**body, **extra}


# -- shaping ------------------------------------------------------------------------------


def shape_search(
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
) -> WebRequest:
    """The validated `/v1/search` request; `InputError` for anything the API refuses.

    With no `queries`, the objective is the one query (the API requires at least one).
    """
    _unknown(options, SEARCH_OPTIONS, "search")
    objective = _text("objective", objective)
    if objective is not None and not objective.strip():
        objective = None
    query_list = _strings("queries", queries) if queries is not None else []
    if not query_list:
        if objective is None:
            raise InputError("search needs an objective or at least one query")
        query_list = [objective]
    mode = _text("mode", mode)
    if mode is not None and not mode.strip():
        raise InputError("mode must be a non-empty string, or None for the server's default")
    include = _domains("include_domains", include_domains)
    exclude = _domains("exclude_domains", exclude_domains)
    if len(include or ()) + len(exclude or ()) > MAX_SOURCE_DOMAINS:
        raise InputError(
            f"include_domains and exclude_domains hold more than {MAX_SOURCE_DOMAINS} "
            "entries combined"
        )
    overlap = sorted(set(include or ()) & set(exclude or ()))
    if overlap:
        raise InputError(f"include_domains and exclude_domains both hold {overlap}")
    policy: dict[str, Any] = {}
    if include:
        policy["include_domains"] = include
    if exclude:
        policy["exclude_domains"] = exclude
    date = _after_date(after_date)
    if date is not None:
        policy["after_date"] = date
    advanced = _advanced(options)
    count = _positive_int("max_results", max_results)
    if count is not None:
        advanced["max_results"] = count
    if policy:
        advanced["source_policy"] = policy
    location = _text("location", options.get("location"))
    if location is not None:
        advanced["location"] = location
    body: dict[str, Any] = {"search_queries": query_list}
    if objective is not None:
        body["objective"] = objective
    if mode is not None:
        body["mode"] = mode
    chars = _positive_int("max_chars_total", max_chars_total)
    if chars is not None:
        body["max_chars_total"] = chars
    session = _session_id(session_id)
    if session is not None:
        body["session_id"] = session
    client_model = _text("client_model", options.get("client_model"))
    if client_model is not None:
        body["client_model"] = client_model
    if advanced:
        body["advanced_settings"] = advanced
    body = _merge_extra(body, options.get("extra_body"))
    return WebRequest("search", body, mode=mode)


def shape_extract(
    urls: str | Iterable[str],
    objective: str | None = None,
    *,
    queries: str | Iterable[str] | None = None,
    full_content: bool | Mapping[str, Any] = False,
    **options: Any,
) -> WebRequest:
    """The validated `/v1/extract` request; `InputError` for anything the API refuses.

    `full_content=True` asks for each page's whole text as well as its excerpts; a dict
    (`{"max_chars_per_result": 5000}`) sets the API's full-content settings.
    """
    _unknown(options, EXTRACT_OPTIONS, "extract")
    url_list = _strings("urls", urls)
    if not url_list:
        raise InputError("extract needs at least one URL")
    if len(url_list) > MAX_EXTRACT_URLS:
        raise InputError(
            f"extract takes at most {MAX_EXTRACT_URLS} URLs per request, got {len(url_list)}"
        )
    body: dict[str, Any] = {"urls": url_list}
    objective = _text("objective", objective)
    if objective is not None and objective.strip():
        body["objective"] = objective
    if queries is not None:
        query_list = _strings("queries", queries)
        if query_list:
            body["search_queries"] = query_list
    advanced = _advanced(options)
    if isinstance(full_content, Mapping):
        advanced["full_content"] = dict(full_content)
    elif isinstance(full_content, bool):
        if full_content:
            advanced["full_content"] = True
    else:
        raise InputError(f"full_content must be True, False or a dict, got {full_content!r}")
    if advanced:
        body["advanced_settings"] = advanced
    chars = _positive_int("max_chars_total", options.get("max_chars_total"))
    if chars is not None:
        body["max_chars_total"] = chars
    session = _session_id(options.get("session_id"))
    if session is not None:
        body["session_id"] = session
    client_model = _text("client_model", options.get("client_model"))
    if client_model is not None:
        body["client_model"] = client_model
    body = _merge_extra(body, options.get("extra_body"))
    return WebRequest("extract", body, urls=tuple(url_list))


# -- reading ------------------------------------------------------------------------------


def _malformed(what: str, body: Any) -> ServerError:
    return ServerError(
        f"the server's {what} answer is malformed", status_code=None, body=body, retryable=False
    )


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ServerError(
            f"the server sent a {type(body).__name__} instead of a JSON object",
            status_code=None,
            retryable=False,
        )
    return body


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _page(item: Any, what: str, body: Any) -> WebResult:
    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        raise _malformed(what, body)
    excerpts = item.get("excerpts") or []
    if not isinstance(excerpts, list) or not all(isinstance(e, str) for e in excerpts):
        raise _malformed(what, body)
    full = item.get("full_content")
    return WebResult(
        url=item["url"],
        title=_optional_str(item.get("title")),
        publish_date=_optional_str(item.get("publish_date")),
        excerpts=tuple(excerpts),
        full_content=full if isinstance(full, str) else None,
    )


def _pages(body: dict[str, Any], what: str) -> tuple[WebResult, ...]:
    results = body.get("results")
    if not isinstance(results, list):
        raise _malformed(what, body)
    return tuple(_page(item, what, body) for item in results)


def _warnings(body: dict[str, Any]) -> tuple[str, ...]:
    items = body.get("warnings") or []
    if not isinstance(items, list):
        return ()
    return tuple(
        str(w.get("message")) if isinstance(w, dict) else str(w) for w in items if w is not None
    )


def _usage(body: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    items = body.get("usage") or []
    return tuple(u for u in items if isinstance(u, dict)) if isinstance(items, list) else ()


def search_from_body(body: Any, request: WebRequest) -> SearchResult:
    """A `SearchResult` from the `/v1/search` answer's JSON body."""
    data = _object(body, "search")
    results = _pages(data, "search")
    return SearchResult(
        search_id=str(data.get("search_id") or ""),
        session_id=_optional_str(data.get("session_id")),
        results=results,
        warnings=_warnings(data),
        cost=search_cost(request.mode, len(results)),
        usage=_usage(data),
    )


def _extract_error(item: Any, body: Any) -> ExtractError:
    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        raise _malformed("extract", body)
    status = item.get("http_status_code")
    if isinstance(status, bool) or not isinstance(status, int):
        status = None
    return ExtractError(
        url=item["url"],
        error_type=str(item.get("error_type") or "error"),
        http_status_code=status
        if isinstance(status, int) and not isinstance(status, bool)
        else None,
        content=_optional_str(item.get("content")),
    )


def extract_from_body(body: Any, request: WebRequest) -> ExtractResult:
    """An `ExtractResult` from the `/v1/extract` answer's JSON body."""
    data = _object(body, "extract")
    errors = data.get("errors") or []
    if not isinstance(errors, list):
        raise _malformed("extract", body)
    return ExtractResult(
        extract_id=str(data.get("extract_id") or ""),
        session_id=_optional_str(data.get("session_id")),
        results=_pages(data, "extract"),
        errors=tuple(_extract_error(item, body) for item in errors),
        warnings=_warnings(data),
        cost=extract_cost(len(request.urls)),
        usage=_usage(data),
    )
