"""The HTTP library under the installed `openai` SDK: httpx (1.x, 2.x) or httpx2 (3.x).

Errors raised while a stream is being read come straight from that library, not
wrapped by the SDK, so the transport must name the right exception classes.
"""

from __future__ import annotations

import importlib
from typing import Any

import openai

__all__ = [
    "Omit",
    "Timeout",
    "connect_timeouts",
    "http_library",
    "pool_limits",
    "timeout_errors",
    "transport_errors",
]

# A header value that makes the SDK drop a header it would send (its own Bearer auth).
# Public as `openai.Omit` since 2.x; 1.x only has it in `openai._types`.
Omit: Any = getattr(openai, "Omit", None)
if Omit is None:  # pragma: no cover - openai 1.x
    from openai._types import Omit


def _library_under_openai() -> Any:
    # openai re-labels the classes it re-exports, so follow the MRO of its default client
    # down to the first class that belongs to the HTTP library itself.
    for cls in openai.DefaultHttpxClient.__mro__:
        root = cls.__module__.split(".")[0]
        if root not in ("openai", "builtins"):
            return importlib.import_module(root)
    return importlib.import_module("httpx")  # pragma: no cover - every SDK so far has one


Timeout: Any = openai.Timeout
http_library = _library_under_openai()
timeout_errors: tuple[type[BaseException], ...] = (
    openai.APITimeoutError,
    http_library.TimeoutException,
)
# Timed out before the request was sent: as safe to retry as a refused connection.
connect_timeouts: tuple[type[BaseException], ...] = (
    http_library.ConnectTimeout,
    http_library.PoolTimeout,
)
transport_errors: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,
    http_library.TransportError,
)


def pool_limits(max_connections: int, max_keepalive_connections: int) -> Any:
    """The HTTP library's `Limits` for a client's connection pool."""
    return http_library.Limits(
        max_connections=max_connections, max_keepalive_connections=max_keepalive_connections
    )
