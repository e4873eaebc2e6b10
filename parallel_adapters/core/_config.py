"""Connection settings shared by every adapter."""

from __future__ import annotations

import os
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ._errors import InputError, MissingAPIKeyError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "MODEL_TIMEOUTS",
    "ChatOptions",
    "ConnectionOptions",
    "ParallelConfig",
]

DEFAULT_BASE_URL = "https://api.parallel.ai"
DEFAULT_MODEL = "speed"
API_KEY_ENV = "PARALLEL_API_KEY"
BASE_URL_ENV = "PARALLEL_BASE_URL"
# A whole number, or "off" for no client-side limiter.
REQUESTS_PER_MINUTE_ENV = "PARALLEL_REQUESTS_PER_MINUTE"

# The Chat API's models. A model released after this list can be sent as
# `extra_body={"model": ...}`, which is not checked.
MODELS: tuple[str, ...] = ("speed", "lite", "base", "core")
# Documented time to first token is ~3 s (speed), 10-60 s (lite), 15-100 s (base) and
# 60 s-5 min (core); each timeout leaves about twice the worst case.
MODEL_TIMEOUTS: dict[str, float] = {"speed": 60.0, "lite": 180.0, "base": 300.0, "core": 600.0}
UNKNOWN_MODEL_TIMEOUT = 600.0

AuthHeader = Literal["bearer", "x-api-key"]


class ConnectionOptions(TypedDict, total=False):
    """The keyword options of `ParallelConfig` but `model`, for type checkers:
    `ParallelChat(model, **options)`. A test keeps it in step with `ParallelConfig`."""

    api_key: str | SecretStr | None
    base_url: str
    timeout: float | None
    max_retries: int
    requests_per_minute: int | None
    rate_limit_window: float
    auth_header: AuthHeader
    extra_headers: dict[str, str]
    retry_initial_delay: float
    retry_max_delay: float
    max_retry_after: float


class ChatOptions(ConnectionOptions, total=False):
    """Every keyword option of `ParallelConfig`: `ParallelClient(**options)`, `configure()`."""

    model: str | None


class ParallelConfig(BaseModel):
    """Everything needed to reach the API. The key is a `SecretStr`: never printed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = Field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    timeout: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    requests_per_minute: int | None = Field(default=300, gt=0)
    # The window the rate is enforced over; shorter windows allow smaller bursts.
    rate_limit_window: float = Field(default=60.0, gt=0)
    auth_header: AuthHeader = "bearer"
    extra_headers: dict[str, str] = Field(default_factory=dict)
    # Backoff between retries: full jitter over min(initial * 2**n, max) seconds.
    retry_initial_delay: float = Field(default=0.5, ge=0)
    retry_max_delay: float = Field(default=8.0, ge=0)
    # A Retry-After longer than this is not waited out; the RateLimitError is raised.
    max_retry_after: float = Field(default=60.0, ge=0)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value

    @field_validator("model")
    @classmethod
    def _model_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("model must be a non-empty string")
        return value

    @field_validator("extra_headers")
    @classmethod
    def _no_auth_in_headers(cls, value: dict[str, str]) -> dict[str, str]:
        if {k.lower() for k in value} & {"authorization", "x-api-key"}:
            raise ValueError("pass the key as api_key=, not as a header")
        return value

    @classmethod
    def from_options(cls, **options: Any) -> ParallelConfig:
        """Build from keyword options, filling `api_key` and `base_url` from the environment.

        Raises `InputError` (a `ValueError`) for invalid options.
        """
        unknown = set(options) - set(cls.model_fields)
        if unknown:
            raise InputError(
                f"unknown option(s) {sorted(unknown)}; accepted: {sorted(cls.model_fields)}"
            )
        values = {k: v for k, v in options.items() if v is not None or k in _NULLABLE}
        if values.get("api_key") is None:
            env_key = os.environ.get(API_KEY_ENV)
            if env_key:
                values["api_key"] = env_key
        if "base_url" not in values and os.environ.get(BASE_URL_ENV):
            values["base_url"] = os.environ[BASE_URL_ENV]
        if "requests_per_minute" not in values and os.environ.get(REQUESTS_PER_MINUTE_ENV):
            values["requests_per_minute"] = _rate_from_env(os.environ[REQUESTS_PER_MINUTE_ENV])
        try:
            return cls(**values)
        except ValidationError as exc:
            raise InputError(_redact(_describe(exc), values.get("api_key"))) from None
        except ValueError as exc:
            # pydantic's message is clear, but never let it echo a secret input back.
            raise InputError(_redact(str(exc), values.get("api_key"))) from None

    def replace(self, **changes: Any) -> ParallelConfig:
        if not changes:
            return self
        data: dict[str, Any] = {**dict(self), **changes}
        return type(self).from_options(**data)

    def require_key(self) -> str:
        if self.api_key is None or not self.api_key.get_secret_value():
            # Setting only PARALLEL_BASE_URL for the emulator is an easy mistake.
            hint = (
                ""
                if self.base_url == DEFAULT_BASE_URL
                else " (a local emulator needs a key too: any, with --any-key)"
            )
            raise MissingAPIKeyError(
                f"no Parallel API key: set the {API_KEY_ENV} environment variable or pass "
                f"api_key=...{hint}"
            )
        return self.api_key.get_secret_value()

    def timeout_for(self, model: str) -> float:
        if self.timeout is not None:
            return self.timeout
        return MODEL_TIMEOUTS.get(model, UNKNOWN_MODEL_TIMEOUT)

    def auth_headers(self) -> dict[str, str]:
        key = self.require_key()
        if self.auth_header == "x-api-key":
            return {"x-api-key": key}
        return {"Authorization": f"Bearer {key}"}

    def public_dict(self) -> dict[str, Any]:
        """The settings without the key: safe to log, save or print."""
        data = self.model_dump(exclude={"api_key"})
        data["api_key_set"] = self.api_key is not None
        return data


def _rate_from_env(text: str) -> int | None:
    value = text.strip()
    if value.lower() in ("off", "none"):
        return None
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise InputError(
        f"{REQUESTS_PER_MINUTE_ENV} must be a positive whole number or 'off', not {text!r}"
    )


def _describe(error: ValidationError) -> str:
    """pydantic's errors as one line, without the input values (one may be the key)."""
    parts = [
        f"{'.'.join(str(part) for part in item['loc']) or 'options'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False)
    ]
    return "invalid option(s): " + "; ".join(parts)


# Options where an explicit None means "off" rather than "use the default".
_NULLABLE = frozenset({"requests_per_minute"})


def _redact(text: str, secret: Any) -> str:
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if isinstance(raw, str) and raw:
        text = text.replace(raw, "***")
    return text
