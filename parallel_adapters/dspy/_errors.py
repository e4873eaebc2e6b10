"""The core's typed errors, made DSPy's public LM errors as well.

An engine error that is not a DSPy error reaches the user as `LMUnexpectedError`,
with the real error only in `__cause__`. DSPy passes its own public errors through
unchanged, so each error raised here is at once the core's typed error (catch
`parallel_adapters.RateLimitError`) and the matching DSPy error (catch
`dspy.LMRateLimitError`, or `dspy.LMError` for all of them). DSPy would retry the
retryable ones itself, but `ParallelLM` sets DSPy's `num_retries` to 0: the core's
retry layer has already run by the time one of these is raised.
"""

from __future__ import annotations

from typing import Any

import dspy  # type: ignore[import-untyped]

from .._core import _errors as core

__all__ = ["as_dspy_error"]

PROVIDER = "parallel"


class InputError(core.InputError, dspy.LMUnsupportedFeatureError):  # type: ignore[misc]
    """`parallel_adapters.InputError` that is also `dspy.LMUnsupportedFeatureError`."""


class MissingAPIKeyError(core.MissingAPIKeyError, dspy.LMNotConfiguredError):  # type: ignore[misc]
    """`parallel_adapters.MissingAPIKeyError` that is also `dspy.LMNotConfiguredError`."""


class AuthenticationError(core.AuthenticationError, dspy.LMAuthError):  # type: ignore[misc]
    """`parallel_adapters.AuthenticationError` that is also `dspy.LMAuthError`."""


class PermissionDeniedError(core.PermissionDeniedError, dspy.LMAuthError):  # type: ignore[misc]
    """`parallel_adapters.PermissionDeniedError` that is also `dspy.LMAuthError`."""


class PaymentRequiredError(core.PaymentRequiredError, dspy.LMBillingError):  # type: ignore[misc]
    """`parallel_adapters.PaymentRequiredError` that is also `dspy.LMBillingError`."""


class BudgetExceededError(core.BudgetExceededError, dspy.LMBillingError):  # type: ignore[misc]
    """`parallel_adapters.BudgetExceededError` (over `max_cost`, nothing sent) that is also
    `dspy.LMBillingError`."""


class RateLimitError(core.RateLimitError, dspy.LMRateLimitError):  # type: ignore[misc]
    """`parallel_adapters.RateLimitError` that is also `dspy.LMRateLimitError`."""


class NotFoundError(core.NotFoundError, dspy.LMInvalidRequestError):  # type: ignore[misc]
    """`parallel_adapters.NotFoundError` that is also `dspy.LMInvalidRequestError`."""


class UnprocessableRequestError(core.UnprocessableRequestError, dspy.LMInvalidRequestError):  # type: ignore[misc]
    """`parallel_adapters.UnprocessableRequestError` that is also `dspy.LMInvalidRequestError`."""


class ServerError(core.ServerError, dspy.LMServerError):  # type: ignore[misc]
    """`parallel_adapters.ServerError` that is also `dspy.LMServerError`."""


class ResponseFailedError(core.ResponseFailedError, dspy.LMServerError):  # type: ignore[misc]
    """`parallel_adapters.ResponseFailedError` (a failed Responses run) that is also
    `dspy.LMServerError`."""


class ResponseNotFinishedError(core.ResponseNotFinishedError, dspy.LMServerError):  # type: ignore[misc]
    """`parallel_adapters.ResponseNotFinishedError` (a queued, running or cancelled
    Responses run) that is also `dspy.LMServerError`."""


class ResponseTooLargeError(core.ResponseTooLargeError, dspy.LMServerError):  # type: ignore[misc]
    """`parallel_adapters.ResponseTooLargeError` that is also `dspy.LMServerError`."""


class RedirectError(core.RedirectError, dspy.LMProviderError):  # type: ignore[misc]
    """`parallel_adapters.RedirectError` that is also `dspy.LMProviderError`."""


class APITimeoutError(core.APITimeoutError, dspy.LMTimeoutError):  # type: ignore[misc]
    """`parallel_adapters.APITimeoutError` that is also `dspy.LMTimeoutError`."""


class APIConnectionError(core.APIConnectionError, dspy.LMTransportError):  # type: ignore[misc]
    """`parallel_adapters.APIConnectionError` that is also `dspy.LMTransportError`."""


class StreamError(core.StreamError, dspy.LMProviderError):  # type: ignore[misc]
    """`parallel_adapters.StreamError` that is also `dspy.LMProviderError`."""


class OutputParseError(core.OutputParseError, dspy.LMProviderError):  # type: ignore[misc]
    """`parallel_adapters.OutputParseError` that is also `dspy.LMProviderError`."""


class APIStatusError(core.APIStatusError, dspy.LMProviderError):  # type: ignore[misc]
    """`parallel_adapters.APIStatusError` that is also `dspy.LMProviderError`."""


class ParallelError(core.ParallelError, dspy.LMProviderError):  # type: ignore[misc]
    """`parallel_adapters.ParallelError` that is also `dspy.LMProviderError`."""


class BadRequestError(core.BadRequestError, dspy.LMInvalidRequestError):  # type: ignore[misc]
    """400, and any 4xx the core has no class for (409, ...): the request's fault."""


class RequestTimeoutError(core.APIStatusError, dspy.LMTimeoutError):  # type: ignore[misc]
    """HTTP 408."""


# Most specific first: the first core class in an error's MRO picks the pair.
_DUAL: dict[type[core.ParallelError], type[core.ParallelError]] = {
    core.InputError: InputError,
    core.MissingAPIKeyError: MissingAPIKeyError,
    core.BudgetExceededError: BudgetExceededError,
    core.AuthenticationError: AuthenticationError,
    core.PermissionDeniedError: PermissionDeniedError,
    core.PaymentRequiredError: PaymentRequiredError,
    core.RateLimitError: RateLimitError,
    core.NotFoundError: NotFoundError,
    core.UnprocessableRequestError: UnprocessableRequestError,
    core.BadRequestError: BadRequestError,
    core.ResponseTooLargeError: ResponseTooLargeError,
    core.ResponseFailedError: ResponseFailedError,
    core.ResponseNotFinishedError: ResponseNotFinishedError,
    core.ServerError: ServerError,
    core.RedirectError: RedirectError,
    core.APITimeoutError: APITimeoutError,
    core.APIConnectionError: APIConnectionError,
    core.StreamError: StreamError,
    core.OutputParseError: OutputParseError,
    core.APIStatusError: APIStatusError,
    core.ParallelError: ParallelError,
}


def _dual_class(error: core.ParallelError) -> type[core.ParallelError]:
    if isinstance(error, core.APIStatusError) and type(error) is core.APIStatusError:
        # A status the core has no class for: 400 and other 4xx are the request's fault.
        status = error.status_code or 0
        if status == 408:
            return RequestTimeoutError
        if 400 <= status < 500:
            return BadRequestError
    for cls in type(error).__mro__:
        dual = _DUAL.get(cls)
        if dual is not None:
            return dual
    return ParallelError  # pragma: no cover - every ParallelError has a pair


def as_dspy_error(error: core.ParallelError, *, model: str | None = None) -> core.ParallelError:
    """A copy of `error` that is also the matching DSPy error; raise it `from error`."""
    cls = _dual_class(error)
    if isinstance(error, cls):
        return error
    dual = cls.__new__(cls)
    dual.args = error.args
    dual.__dict__.update(vars(error))
    # The metadata DSPy's own errors carry (`DSPyError.__init__` is bypassed on purpose:
    # the core's constructor already ran and its attributes were copied above).
    extra: dict[str, Any] = {
        "code": getattr(cls, "default_code", None),
        "model": model,
        "provider": PROVIDER,
        "provider_code": None,
        "status": error.status_code,
        "request_id": None,
        "retry_after": getattr(error, "retry_after", None),
    }
    for name, value in extra.items():
        setattr(dual, name, value)
    if isinstance(dual, dspy.LMUnsupportedFeatureError):
        dual.__dict__.setdefault("feature", None)
        dual.__dict__.setdefault("features", [])
        dual.__dict__.setdefault("issues", [])
    return dual
