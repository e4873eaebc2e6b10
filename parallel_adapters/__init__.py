"""Parallel's Chat, Responses, Search and Extract APIs inside LlamaIndex, DSPy and plain Python.

This module is the public surface of the shared core: the plain callable, `ParallelChat`,
`ParallelConfig`, the result types and the error tree. The framework adapters live in
`parallel_adapters.llama_index` and `parallel_adapters.dspy`, the emulator in
`parallel_adapters.testing`; every module whose name starts with `_` is private.

Names are loaded on first use, so `import parallel_adapters` costs almost nothing
and never imports llama_index or dspy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._chat import (
        ParallelChat,
        acomplete,
        astream,
        complete,
        configure,
        default_chat,
        stream,
    )
    from ._core import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AsyncChatStream,
        AuthenticationError,
        BadRequestError,
        BatchError,
        BudgetExceededError,
        ChatRequest,
        ChatStream,
        Citation,
        CitedSpan,
        Completion,
        FieldBasis,
        InputError,
        MissingAPIKeyError,
        NotFoundError,
        OutputParseError,
        ParallelConfig,
        ParallelError,
        PaymentRequiredError,
        PermissionDeniedError,
        RateLimitError,
        RateLimitStoreError,
        RedirectError,
        Research,
        ResponseFailedError,
        ResponseNotFinishedError,
        ResponseTooLargeError,
        ServerError,
        Source,
        StreamError,
        StreamPart,
        UnprocessableRequestError,
        WebSearchAction,
        WebSearchCall,
    )
    from ._core._web_types import ExtractError, ExtractResult, SearchResult, WebResult
    from ._search import aextract, asearch, extract, search

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "BudgetExceededError",
    "ChatRequest",
    "ChatStream",
    "Citation",
    "CitedSpan",
    "Completion",
    "ExtractError",
    "ExtractResult",
    "FieldBasis",
    "InputError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputParseError",
    "ParallelChat",
    "ParallelConfig",
    "ParallelError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitStoreError",
    "RedirectError",
    "Research",
    "ResponseFailedError",
    "ResponseNotFinishedError",
    "ResponseTooLargeError",
    "SearchResult",
    "ServerError",
    "Source",
    "StreamError",
    "StreamPart",
    "UnprocessableRequestError",
    "WebResult",
    "WebSearchAction",
    "WebSearchCall",
    "__version__",
    "acomplete",
    "aextract",
    "asearch",
    "astream",
    "complete",
    "configure",
    "default_chat",
    "extract",
    "search",
    "stream",
]

_CHAT_NAMES = frozenset(
    {"ParallelChat", "acomplete", "astream", "complete", "configure", "default_chat", "stream"}
)


_SEARCH_NAMES = frozenset({"aextract", "asearch", "extract", "search"})
_WEB_TYPES = frozenset({"ExtractError", "ExtractResult", "SearchResult", "WebResult"})


def __getattr__(name: str) -> Any:
    if name in _CHAT_NAMES:
        module = importlib.import_module("._chat", __name__)
    elif name in _SEARCH_NAMES:
        module = importlib.import_module("._search", __name__)
    elif name in _WEB_TYPES:
        module = importlib.import_module("._core._web_types", __name__)
    elif name in __all__:
        module = importlib.import_module("._core", __name__)
    else:
        raise AttributeError(f"module 'parallel_adapters' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
