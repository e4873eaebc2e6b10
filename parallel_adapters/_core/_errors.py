"""One error hierarchy for every adapter, and the mapping from transport errors into it."""

from __future__ import annotations

import email.utils
import html
import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "BudgetExceededError",
    "InputError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputParseError",
    "ParallelError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitStoreError",
    "RedirectError",
    "ResponseFailedError",
    "ResponseNotFinishedError",
    "ResponseTooLargeError",
    "ServerError",
    "StreamError",
    "UnprocessableRequestError",
    "error_from_status",
    "message_from_body",
    "parse_retry_after",
    "redact_error",
    "redact_text",
    "text_body_summary",
]

# Keys shorter than this are not blanked from messages: a real key is tens of characters,
# while a short one ("e", "test", used with the emulator) would garble ordinary words
# ("Unauthoriz***d") and guards nothing a guess would not find. docs/errors.md states it.
MIN_REDACTED_KEY_CHARS = 8


class ParallelError(Exception):
    """Base of every error this kit raises.

    Attributes:
        message: The error's text, without the HTTP status.
        status_code: The HTTP status of the answer, or None when no status applies.
        body: The decoded error body the server sent, when there was one.
    """

    status_code: int | None = None

    def __init__(self, message: str, *, status_code: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.body = body

    def __str__(self) -> str:
        if self.status_code is not None:
            return f"{self.message} (HTTP {self.status_code})"
        return self.message


class InputError(ParallelError, ValueError):
    """The request cannot be sent as given; raised before any network traffic."""


class MissingAPIKeyError(ParallelError):
    """No API key was configured; raised at the first request, not at construction."""


class OutputParseError(ParallelError):
    """The answer is not the structured output that was asked for.

    Attributes:
        text: The answer's text as received, for logging or a retry with a fix-up.
    """

    def __init__(self, message: str, *, text: str) -> None:
        super().__init__(message)
        self.text = text


class APIStatusError(ParallelError):
    """The server answered with an error status."""


class BadRequestError(APIStatusError):
    """400: the server refused the request as invalid (the Responses API's validation
    errors; the message says what it objected to). Not retried."""

    status_code = 400


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked."""

    status_code = 401


class PaymentRequiredError(APIStatusError):
    """402: the account has no credit left."""

    status_code = 402


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or endpoint (the API's answer to an unknown model)."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: no such endpoint at the configured `base_url`."""

    status_code = 404


class UnprocessableRequestError(APIStatusError):
    """422: the server rejected the request body; `detail` lists what it objected to."""

    status_code = 422

    @property
    def detail(self) -> list[dict[str, Any]]:
        """FastAPI's validation details (`loc`, `msg`, `type`), when the server sent them."""
        if isinstance(self.body, Mapping):
            detail = self.body.get("detail")
            if isinstance(detail, list):
                return [d for d in detail if isinstance(d, dict)]
            inner = self.body.get("error")
            if isinstance(inner, Mapping) and isinstance(inner.get("detail"), list):
                return [d for d in inner["detail"] if isinstance(d, dict)]
        return []


class RateLimitError(APIStatusError):
    """429: too many requests for this key.

    Retried by the core when the wait is short enough (see
    `ParallelConfig.max_retry_after`); raised once the retries are spent.

    Attributes:
        retry_after: Seconds the server asked to wait (`retry-after-ms` or
            `retry-after`), or None when it did not say.
    """

    status_code = 429

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """A 5xx answer, a garbled body, or an error event inside a stream.

    Attributes:
        retryable: Whether the core retries it (a 5xx is retried; a garbled body is not).
    """

    status_code: int | None = 500

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = 500,
        body: Any = None,
        retryable: bool = True,
    ) -> None:
        super().__init__(message, body=body)
        # None: no HTTP status applies (a garbled 200 body, an SSE error event).
        self.status_code = status_code
        self.retryable = retryable


class RedirectError(APIStatusError):
    """The server answered 3xx. Redirects are never followed: the key and the prompt
    would go to another address. Not retried: set `base_url` to the final address.

    Attributes:
        location: Where the server pointed (its `Location` header, or
            `"(no Location header)"`).
    """

    def __init__(self, message: str, *, status_code: int, location: str) -> None:
        super().__init__(message, status_code=status_code)
        self.location = location


class ResponseTooLargeError(ServerError):
    """The answer (decoded) exceeded `max_response_bytes`, or one of its lines
    `max_line_bytes`; reading stopped there. Not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=None, retryable=False)


class ResponseFailedError(ServerError):
    """The Responses API reported `status: "failed"` (in a 200 body or a `response.failed`
    stream event).

    Retried like a 5xx: failed runs are not billed.

    Attributes:
        code: The server's error code (documented as always `server_error`), or None
            when it sent none.
    """

    def __init__(self, message: str, *, code: str | None = None, body: Any = None) -> None:
        super().__init__(message, status_code=None, body=body, retryable=True)
        self.code = code


class ResponseNotFinishedError(ServerError):
    """The Responses API sent a response object that is not a finished answer: `status`
    `queued` or `in_progress` (a run still going, with no output yet), or `cancelled`.

    Not retried: a run still going may yet be billed, and a cancelled one was stopped on
    purpose. (`incomplete` is an answer: it comes back with `Completion.incomplete`.)

    Attributes:
        status: The run's `status` as the server sent it.
    """

    def __init__(self, message: str, *, status: str, body: Any = None) -> None:
        super().__init__(message, status_code=None, body=body, retryable=False)
        self.status = status


class RateLimitStoreError(ParallelError):
    """The shared rate-limit store (`rate_limit_store`) could not be used.

    Raised instead of waiting on, or silently skipping, a budget that other processes
    count on.

    Attributes:
        store: The store's URL, with any password masked.
    """

    def __init__(self, message: str, *, store: str) -> None:
        super().__init__(message)
        self.store = store


class BudgetExceededError(ParallelError):
    """A call would take the client's spending over its `max_cost`: nothing was sent.

    Attributes:
        max_cost: The cap, in US dollars.
        spent: What the client had spent when the call was refused (dollars).
        reserved: What calls still in flight had reserved (dollars).
        price: The price of the refused call (dollars).
    """

    def __init__(
        self, message: str, *, max_cost: float, spent: float, reserved: float, price: float
    ) -> None:
        super().__init__(message)
        self.max_cost = max_cost
        self.spent = spent
        self.reserved = reserved
        self.price = price


class APITimeoutError(ParallelError):
    """No whole answer within the configured timeout (a deadline for each attempt)."""


class APIConnectionError(ParallelError):
    """The connection failed or was closed before an answer arrived."""


class StreamError(ParallelError):
    """A stream broke after part of the answer had been delivered.

    It is not retried: the caller has already seen part of the answer.

    Attributes:
        partial_text: What arrived before the break; never returned as if it were the
            whole answer.
    """

    def __init__(self, message: str, *, partial_text: str, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.partial_text = partial_text


class BatchError(ParallelError):
    """Some items of a batch (`map`, `amap`) failed; nothing that succeeded is lost.

    The first failure is also chained as `__cause__`.

    Attributes:
        results: One entry per input, in input order: a `Completion` where an answer
            arrived, the exception where the item failed, and None where it was never
            sent (the batch stopped first).
    """

    def __init__(self, message: str, *, results: list[Any]) -> None:
        super().__init__(message)
        self.results = results

    @property
    def errors(self) -> dict[int, BaseException]:
        """The failed items: input position -> exception."""
        return {i: r for i, r in enumerate(self.results) if isinstance(r, BaseException)}

    @property
    def not_started(self) -> list[int]:
        """Input positions of the items that were never sent."""
        return [i for i, r in enumerate(self.results) if r is None]

    @property
    def succeeded(self) -> dict[int, Any]:
        """The answers that arrived: input position -> `Completion`."""
        return {
            i: r
            for i, r in enumerate(self.results)
            if r is not None and not isinstance(r, BaseException)
        }


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: UnprocessableRequestError,
    429: RateLimitError,
}


def message_from_body(body: Any) -> str | None:
    """The human message of an error body, whichever envelope the server used.

    Handles OpenAI's `{"error": {"message"}}`, Parallel's
    `{"type": "error", "error": {"ref_id", "message", "detail"}}` and FastAPI's
    `{"detail": [{"loc", "msg", "type"}]}` (or `{"detail": "text"}`).
    """
    if isinstance(body, str):
        return body.strip() or None
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message:
            ref = error.get("ref_id")
            return f"{message} [ref_id {ref}]" if isinstance(ref, str) and ref else message
    elif isinstance(error, str) and error:
        return error
    detail = body.get("detail")
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                loc = ".".join(str(p) for p in item.get("loc") or [])
                msg = str(item.get("msg", ""))
                parts.append(f"{loc}: {msg}" if loc else msg)
        if parts:
            return "; ".join(parts)
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    return None


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# Of a body that is not JSON (a proxy's HTML error page), this many characters of text
# go into the message, on one line.
MAX_TEXT_BODY_CHARS = 200
_INVISIBLE = re.compile(r"<!--.*?-->|<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def text_body_summary(status_code: int, content_type: str | None, text: str) -> str:
    """One line for an error body that is not JSON: the status, the content type and at
    most `MAX_TEXT_BODY_CHARS` characters of its text, markup stripped."""
    stripped = html.unescape(_TAG.sub(" ", _INVISIBLE.sub(" ", text)))
    words = " ".join(stripped.split())
    if len(words) > MAX_TEXT_BODY_CHARS:
        words = words[: MAX_TEXT_BODY_CHARS - 1].rstrip() + "…"
    kind = content_type.split(";")[0].strip() if content_type else "no content type"
    summary = f"the server answered HTTP {status_code} with {kind}, not JSON"
    return f"{summary}: {words}" if words else summary


def error_from_status(
    status_code: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> APIStatusError:
    """The typed error for an HTTP error answer, with the server's own message (one line
    of text for a body that is not JSON, e.g. a proxy's HTML page)."""
    if isinstance(body, str):
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        message = text_body_summary(status_code, lowered.get("content-type"), body)
    else:
        message = message_from_body(body) or f"the server answered HTTP {status_code}"
    cls = _BY_STATUS.get(status_code)
    if cls is RateLimitError:
        return RateLimitError(
            message, status_code=status_code, body=body, retry_after=parse_retry_after(headers)
        )
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    return cls(message, status_code=status_code, body=body)


def _redact_value(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, "***")
    if isinstance(value, Mapping):
        return {_redact_value(k, secret): _redact_value(v, secret) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(v, secret) for v in value]
    return value


def redact_text(text: str, secret: str | None) -> str:
    """`text` with `secret` blanked as `***`, when it is long enough to be a secret
    (`MIN_REDACTED_KEY_CHARS`)."""
    if not secret or len(secret) < MIN_REDACTED_KEY_CHARS:
        return text
    return text.replace(secret, "***")


def redact_error(error: ParallelError, secret: str | None) -> ParallelError:
    """The same error with `secret` (the configured key) blanked from everything the
    server put in it: a server may echo the key it was sent (`Incorrect API key: sk-…`).
    Keys shorter than `MIN_REDACTED_KEY_CHARS` are left: see `redact_text`."""
    if not secret or len(secret) < MIN_REDACTED_KEY_CHARS:
        return error
    for name, value in list(vars(error).items()):
        if isinstance(value, (str, Mapping, list, tuple)):
            setattr(error, name, _redact_value(value, secret))
    error.args = tuple(_redact_value(arg, secret) for arg in error.args)
    return error
