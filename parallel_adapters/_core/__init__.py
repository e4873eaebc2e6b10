"""The shared core: request shaping, message merging, basis, transport, errors.

Private: the names users need are public in `parallel_adapters` (and documented there);
the rest is the adapters' plumbing and may change. It imports no framework; each adapter
translates between its framework and this.
"""

from ._basis import Citation, FieldBasis, parse_basis, unique_citations
from ._client import ParallelClient
from ._collector import CallCollector, ResearchFields
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MODEL,
    EFFORT_TIMEOUTS,
    MODEL_TIMEOUTS,
    RESPONSES_MAX_INPUT_CHARS,
    RESPONSES_MODELS,
    ChatOptions,
    ConnectionOptions,
    ParallelConfig,
    ReasoningEffort,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchError,
    BudgetExceededError,
    InputError,
    MissingAPIKeyError,
    NotFoundError,
    OutputParseError,
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
    UnprocessableRequestError,
)
from ._messages import MessagesInput, WireMessage, merge_messages
from ._request import ChatRequest, normalize_response_format, shape_request
from ._response import Completion, StreamAccumulator, StreamPart, completion_from_body
from ._responses import (
    ResponsesAccumulator,
    completion_from_responses_body,
    is_responses_model,
    shape_responses_request,
)
from ._sources import Research, Source, research_from_dict, research_to_dict, sources_from_basis
from ._spans import CitedSpan, WebSearchAction, WebSearchCall, insert_markers
from ._transport import AsyncChatStream, ChatStream, Transport, is_transient

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "EFFORT_TIMEOUTS",
    "MODEL_TIMEOUTS",
    "RESPONSES_MAX_INPUT_CHARS",
    "RESPONSES_MODELS",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncChatStream",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "BudgetExceededError",
    "CallCollector",
    "ChatOptions",
    "ChatRequest",
    "ChatStream",
    "Citation",
    "CitedSpan",
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
    "RateLimitStoreError",
    "ReasoningEffort",
    "RedirectError",
    "Research",
    "ResearchFields",
    "ResponseFailedError",
    "ResponseTooLargeError",
    "ResponsesAccumulator",
    "ServerError",
    "Source",
    "StreamAccumulator",
    "StreamError",
    "StreamPart",
    "Transport",
    "UnprocessableRequestError",
    "WebSearchAction",
    "WebSearchCall",
    "WireMessage",
    "completion_from_body",
    "completion_from_responses_body",
    "insert_markers",
    "is_responses_model",
    "is_transient",
    "merge_messages",
    "normalize_response_format",
    "parse_basis",
    "research_from_dict",
    "research_to_dict",
    "shape_request",
    "shape_responses_request",
    "sources_from_basis",
    "unique_citations",
]
