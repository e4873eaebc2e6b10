"""Parallel's Chat and Responses APIs inside LlamaIndex, DSPy and plain Python.

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
    "ServerError",
    "Source",
    "StreamError",
    "StreamPart",
    "UnprocessableRequestError",
    "WebSearchAction",
    "WebSearchCall",
    "__version__",
    "acomplete",
    "astream",
    "complete",
    "configure",
    "default_chat",
    "stream",
]

_CHAT_NAMES = frozenset(
    {"ParallelChat", "acomplete", "astream", "complete", "configure", "default_chat", "stream"}
)


def __getattr__(name: str) -> Any:
    if name in _CHAT_NAMES:
        module = importlib.import_module("._chat", __name__)
    elif name in __all__:
        module = importlib.import_module("._core", __name__)
    else:
        raise AttributeError(f"module 'parallel_adapters' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
