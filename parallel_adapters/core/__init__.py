"""The shared core: request shaping, message merging, basis, transport, errors.

It imports no framework; each adapter translates between its framework and this.
"""

from ._basis import Citation, FieldBasis, parse_basis, unique_citations
from ._client import ParallelClient
from ._collector import CallCollector, ResearchFields
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    MODEL_TIMEOUTS,
    ChatOptions,
    ConnectionOptions,
    ParallelConfig,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InputError,
    MissingAPIKeyError,
    NotFoundError,
    OutputParseError,
    ParallelError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
    UnprocessableRequestError,
)
from ._messages import MessagesInput, WireMessage, merge_messages
from ._request import ChatRequest, normalize_response_format, shape_request
from ._response import Completion, StreamAccumulator, StreamPart, completion_from_body
from ._sources import Research, Source, research_from_dict, research_to_dict, sources_from_basis
from ._transport import AsyncChatStream, ChatStream, Transport, is_transient

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "MODEL_TIMEOUTS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AuthenticationError",
    "CallCollector",
    "ChatOptions",
    "ChatRequest",
    "ChatStream",
    "Citation",
    "Completion",
    "ConnectionOptions",
    "FieldBasis",
    "InputError",
    "MessagesInput",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputParseError",
    "ParallelClient",
    "ParallelConfig",
    "ParallelError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "Research",
    "ResearchFields",
    "ServerError",
    "Source",
    "StreamAccumulator",
    "StreamError",
    "StreamPart",
    "Transport",
    "UnprocessableRequestError",
    "WireMessage",
    "completion_from_body",
    "is_transient",
    "merge_messages",
    "normalize_response_format",
    "parse_basis",
    "research_from_dict",
    "research_to_dict",
    "shape_request",
    "sources_from_basis",
    "unique_citations",
]
