"""Connection settings shared by every adapter."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ._errors import InputError, MissingAPIKeyError

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "MODEL_TIMEOUTS", "ParallelConfig"]

DEFAULT_BASE_URL = "https://api.parallel.ai"
"""The real API; `PARALLEL_BASE_URL` or `base_url=` points elsewhere (e.g. the emulator)."""
DEFAULT_MODEL = "speed"
"""The model used when none is given: the fastest, and the only one without a basis."""
API_KEY_ENV = "PARALLEL_API_KEY"
BASE_URL_ENV = "PARALLEL_BASE_URL"

# Documented time to first token is ~3 s (speed), 10-60 s (lite), 15-100 s (base) and
# 60 s-5 min (core); each timeout leaves about twice the worst case.
MODEL_TIMEOUTS: dict[str, float] = {"speed": 60.0, "lite": 180.0, "base": 300.0, "core": 600.0}
"""Seconds to wait per model when `ParallelConfig.timeout` is None (600 for other models)."""
UNKNOWN_MODEL_TIMEOUT = 600.0

AuthHeader = Literal["bearer", "x-api-key"]


class ParallelConfig(BaseModel):
    """Everything needed to reach the API. The key is a `SecretStr`: never printed.

    Every adapter takes these options as keyword arguments (`ParallelChat(model="base",
    timeout=120)`, `ParallelLLM(...)`, `ParallelLM(...)`) and builds one with
    `from_options`. The model is frozen: `replace` returns a changed copy.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = Field(default=None, repr=False)
    """The Parallel API key; `from_options` reads `PARALLEL_API_KEY` when it is not given.
    Checked at the first request (`MissingAPIKeyError`), not here."""
    base_url: str = DEFAULT_BASE_URL
    """Where the API is: `PARALLEL_BASE_URL` when not given, else `https://api.parallel.ai`.
    Starts with `http://` or `https://`, without `/chat/completions`."""
    model: str = DEFAULT_MODEL
    """The default model, `speed` unless given: `speed`, `lite`, `base` or `core` (each
    call may pass its own)."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds to wait for a whole answer; None picks one per model (`MODEL_TIMEOUTS`:
    60 s for speed, 180 s lite, 300 s base, 600 s core)."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries after a transient failure (connection error, timeout, 408, 429, 5xx); 0 is
    none. A stream is retried only before its first text."""
    requests_per_minute: int | None = Field(default=300, gt=0)
    """The client-side rate limit, shared by every client and thread of this process using
    the same key and `base_url`; None turns it off."""
    # The window the rate is enforced over; shorter windows allow smaller bursts.
    rate_limit_window: float = Field(default=60.0, gt=0)
    """Seconds over which `requests_per_minute` is enforced (scaled to the window)."""
    auth_header: AuthHeader = "bearer"
    """How the key is sent: `"bearer"` (`Authorization: Bearer <key>`) or `"x-api-key"`."""
    extra_headers: dict[str, str] = Field(default_factory=dict)
    """Headers added to every request (none by default); the key may not be passed here."""
    # Backoff between retries: full jitter over min(initial * 2**n, max) seconds.
    retry_initial_delay: float = Field(default=0.5, ge=0)
    """Seconds: the cap of the first retry's random wait, doubled for each later retry."""
    retry_max_delay: float = Field(default=8.0, ge=0)
    """Seconds: the largest cap of a retry's random wait."""
    # A Retry-After longer than this is not waited out; the RateLimitError is raised.
    max_retry_after: float = Field(default=60.0, ge=0)
    """Seconds: a server's `Retry-After` longer than this is not waited out."""

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
        try:
            return cls(**values)
        except ValueError as exc:
            # pydantic's message is clear, but never let it echo a secret input back.
            raise InputError(_redact(str(exc), values.get("api_key"))) from None

    def replace(self, **changes: Any) -> ParallelConfig:
        """A copy with `changes` applied and validated as by `from_options`."""
        if not changes:
            return self
        data: dict[str, Any] = {**dict(self), **changes}
        return type(self).from_options(**data)

    def require_key(self) -> str:
        """The key in clear, for the transport; `MissingAPIKeyError` when none is set."""
        if self.api_key is None or not self.api_key.get_secret_value():
            raise MissingAPIKeyError(
                f"no Parallel API key: set the {API_KEY_ENV} environment variable or pass "
                "api_key=..."
            )
        return self.api_key.get_secret_value()

    def timeout_for(self, model: str) -> float:
        """Seconds to wait for `model`: `timeout` if set, else its entry in `MODEL_TIMEOUTS`."""
        if self.timeout is not None:
            return self.timeout
        return MODEL_TIMEOUTS.get(model, UNKNOWN_MODEL_TIMEOUT)

    def auth_headers(self) -> dict[str, str]:
        """The header carrying the key, as `auth_header` says; `MissingAPIKeyError` if none."""
        key = self.require_key()
        if self.auth_header == "x-api-key":
            return {"x-api-key": key}
        return {"Authorization": f"Bearer {key}"}

    def public_dict(self) -> dict[str, Any]:
        """The settings without the key: safe to log, save or print."""
        data = self.model_dump(exclude={"api_key"})
        data["api_key_set"] = self.api_key is not None
        return data


# Options where an explicit None means "off" rather than "use the default".
_NULLABLE = frozenset({"requests_per_minute"})


def _redact(text: str, secret: Any) -> str:
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if isinstance(raw, str) and raw:
        text = text.replace(raw, "***")
    return text
