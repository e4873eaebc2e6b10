"""The Parallel Chat API inside LlamaIndex, DSPy and plain Python.

Names are loaded on first use, so `import parallel_adapters` costs almost nothing
and never imports llama_index or dspy (those live in their own subpackages).
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
    from .core import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AsyncChatStream,
        AuthenticationError,
        BadRequestError,
        BatchError,
        ChatStream,
        Citation,
        CitedSpan,
        Completion,
        FieldBasis,
        InputError,
        MissingAPIKeyError,
        NotFoundError,
        OutputParseError,
        ParallelClient,
        ParallelConfig,
        ParallelError,
        PaymentRequiredError,
        PermissionDeniedError,
        RateLimitError,
        RateLimitStoreError,
        RedirectError,
        ResponseFailedError,
        ResponseTooLargeError,
        ServerError,
        StreamError,
        StreamPart,
        UnprocessableRequestError,
        WebSearchCall,
        merge_messages,
    )

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
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
    "ParallelClient",
    "ParallelConfig",
    "ParallelError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitStoreError",
    "RedirectError",
    "ResponseFailedError",
    "ResponseTooLargeError",
    "ServerError",
    "StreamError",
    "StreamPart",
    "UnprocessableRequestError",
    "WebSearchCall",
    "__version__",
    "acomplete",
    "astream",
    "complete",
    "configure",
    "default_chat",
    "merge_messages",
    "stream",
]

_CHAT_NAMES = frozenset(
    {"ParallelChat", "acomplete", "astream", "complete", "configure", "default_chat", "stream"}
)


def __getattr__(name: str) -> Any:
    if name in _CHAT_NAMES:
        module = importlib.import_module("._chat", __name__)
    elif name in __all__:
        module = importlib.import_module(".core", __name__)
    else:
        raise AttributeError(f"module 'parallel_adapters' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
