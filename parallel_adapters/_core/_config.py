"""Connection settings shared by every adapter."""

from __future__ import annotations

import math
import os
from typing import Any, Literal, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ._errors import InputError, MissingAPIKeyError, redact_text
from ._ratestore import check_store_url, redact_store_url

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "EFFORT_TIMEOUTS",
    "MODEL_TIMEOUTS",
    "RESPONSES_MODELS",
    "ChatOptions",
    "ConnectionOptions",
    "ParallelConfig",
    "ReasoningEffort",
]

DEFAULT_BASE_URL = "https://api.parallel.ai"
"""The real API; `PARALLEL_BASE_URL` or `base_url=` points elsewhere (e.g. the emulator)."""
DEFAULT_MODEL = "speed"
"""The model used when none is given: the fastest, and the only one without a basis."""
API_KEY_ENV = "PARALLEL_API_KEY"
BASE_URL_ENV = "PARALLEL_BASE_URL"
# Where the request budget is counted: "memory" (this process), "sqlite:///path" (every
# process on one host) or "redis://host:port/db" (every host). The environment variable
# switches a whole deployment without code changes.
RATE_LIMIT_STORE_ENV = "PARALLEL_RATE_LIMIT_STORE"
DEFAULT_RATE_LIMIT_STORE = "memory"
# A whole number, or "off" for no client-side limiter.
REQUESTS_PER_MINUTE_ENV = "PARALLEL_REQUESTS_PER_MINUTE"

# OpenTelemetry: prompt and answer text go on spans only when this is "true" (the GenAI
# conventions' switch); the conventions followed are those of GENAI_SEMCONV.
CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
GENAI_SEMCONV = "open-telemetry/semantic-conventions-genai@002c8a6e (Development)"

# The Chat API's models; any other name (but the Responses API's) is refused before sending.
MODELS: tuple[str, ...] = ("speed", "lite", "base", "core")
# Documented time to first token is ~3 s (speed), 10-60 s (lite), 15-100 s (base) and
# 60 s-5 min (core); each timeout leaves about twice the worst case.
MODEL_TIMEOUTS: dict[str, float] = {"speed": 60.0, "lite": 180.0, "base": 300.0, "core": 600.0}
"""Seconds to wait per model when `ParallelConfig.timeout` is None (600 for other models)."""
UNKNOWN_MODEL_TIMEOUT = 600.0
# Caps on one answer, decoded: a real answer with its basis is kilobytes to a few MB.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024

CHAT_PATH = "/chat/completions"
RESPONSES_PATH = "/v1/responses"
ReasoningEffort = Literal["low", "medium", "high"]
REASONING_EFFORTS: tuple[ReasoningEffort, ...] = ("low", "medium", "high")
# The one model the Responses API serves; the wire always says this.
RESPONSES_MODEL = "parallel"
# Model names that pick the Responses API, and the effort each pins (None: not pinned).
# The pinned names are LiteLLM's aliases.
RESPONSES_MODELS: dict[str, ReasoningEffort | None] = {
    "parallel": None,
    "parallel-low": "low",
    "parallel-medium": "medium",
    "parallel-high": "high",
}
# The server's effort when `reasoning` is omitted.
SERVER_DEFAULT_EFFORT: ReasoningEffort = "medium"
# Documented latency is ~5-10 s (low), ~15-20 s (medium) and ~30-60 s (high), and the docs
# recommend 120 s. Timeouts are not retried (the run may still finish and be billed), so
# each leaves wide headroom: 6x the worst case for low and medium, 3x for high.
EFFORT_TIMEOUTS: dict[str, float] = {"low": 60.0, "medium": 120.0, "high": 180.0}
# Documented Responses API limits, checked before sending.
RESPONSES_MAX_INPUT_CHARS = 20_000
METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 512
# A batch with a journal puts an item back after a 429 that outlived the transport's
# retries, at most this many times, pausing every worker first: a 429 storm slows a long
# batch down instead of failing its items.
BATCH_RATE_LIMIT_ROUNDS = 20
DEFAULT_BATCH_CONCURRENCY = 8

# Connection pool, per client. At 300 requests a minute and 1-5 minutes per `core` call,
# keeping the budget busy means 300-1,500 requests in flight; the SDK's default pool
# (1,000 connections, 100 kept alive) would queue the rest until they fail with a pool
# timeout, and reopen most connections after every burst.
MAX_CONNECTIONS = 2000
MAX_KEEPALIVE_CONNECTIONS = 500

AuthHeader = Literal["bearer", "x-api-key"]


def is_known_model(model: str) -> bool:
    """A Chat API model (exact name) or a Responses API one (any case)."""
    return model in MODELS or model.strip().lower() in RESPONSES_MODELS


def unknown_model_message(model: object) -> str:
    """Why `model` is refused, naming the models of both APIs."""
    return (
        f"unknown model {model!r}: the Parallel Chat API's models are {', '.join(MODELS)}; "
        f"the Responses API's are {', '.join(RESPONSES_MODELS)}"
    )


def effort_on_chat_model_message(model: str) -> str:
    """Why a reasoning effort with Chat model `model` is refused: it would do nothing."""
    return (
        f"reasoning_effort is for the Responses API (model 'parallel'); the Chat API model "
        f"{model!r} has no effort and would ignore it: pass model='parallel' (or "
        f"'parallel-low|medium|high'), or drop reasoning_effort"
    )


class ConnectionOptions(TypedDict, total=False):
    """The keyword options of `ParallelConfig` but `model`, for type checkers:
    `ParallelChat(model, **options)`. A test keeps it in step with `ParallelConfig`."""

    api_key: str | SecretStr | None
    base_url: str
    timeout: float | None
    max_retries: int
    retry_timeouts: bool
    reasoning_effort: ReasoningEffort | None
    requests_per_minute: int | None
    rate_limit_window: float
    rate_limit_store: str
    auth_header: AuthHeader
    extra_headers: dict[str, str]
    retry_initial_delay: float
    retry_max_delay: float
    max_retry_after: float
    max_response_bytes: int
    max_line_bytes: int
    max_cost: float | None


class ChatOptions(ConnectionOptions, total=False):
    """Every keyword option of `ParallelConfig`: `ParallelClient(**options)`, `configure()`."""

    model: str | None


class ParallelConfig(BaseModel):
    """Everything needed to reach the API. The key is a `SecretStr`: never printed.

    Every adapter takes these options as keyword arguments (`ParallelChat(model="base",
    timeout=120)`, `ParallelLLM(...)`, `ParallelLM(...)`) and builds one with
    `from_options`. The model is frozen: `replace` returns a changed copy.
    """

    # hide_input_in_errors: a rejected api_key must not be echoed by pydantic's message.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    api_key: SecretStr | None = Field(default=None, repr=False)
    """The Parallel API key; `from_options` reads `PARALLEL_API_KEY` when it is not given.
    Checked at the first request (`MissingAPIKeyError`), not here."""
    base_url: str = DEFAULT_BASE_URL
    """Where the API is: `PARALLEL_BASE_URL` when not given, else `https://api.parallel.ai`.
    Starts with `http://` or `https://`, without `/chat/completions`."""
    model: str = DEFAULT_MODEL
    """The default model, `speed` unless given: `speed`, `lite`, `base` or `core` (Chat
    API), `parallel` or `parallel-low|medium|high` (Responses API); each call may pass its
    own. Any other name is refused here, when the config is built."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds to wait for a whole answer; None picks one per model (`MODEL_TIMEOUTS`:
    60 s for speed, 180 s lite, 300 s base, 600 s core)."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries after a transient failure (connection error, timeout, 408, 429, 5xx); 0 is
    none. A stream is retried only before its first text."""
    # A timed-out request may still finish, and be billed, on the server: opt in to retry it.
    retry_timeouts: bool = False
    """Whether a timed-out attempt is retried like other transient failures (default
    False: a run that timed out here may still finish, and be billed, on the server)."""
    # Responses API only (model "parallel"); None leaves the server default (medium).
    reasoning_effort: ReasoningEffort | None = None
    """Responses API only (model `"parallel"`): `"low"`, `"medium"` or `"high"`, sent as
    `reasoning.effort`; None (the default) leaves the server's default, medium. A model
    name with a pinned effort (e.g. `"parallel-high"`) overrides it. Refused with a Chat
    API `model`, which has no effort."""
    requests_per_minute: int | None = Field(default=300, gt=0)
    """The client-side rate limit, shared by every client and thread of this process using
    the same key and `base_url`; None turns it off."""
    # The window the rate is enforced over; shorter windows allow smaller bursts.
    rate_limit_window: float = Field(default=60.0, gt=0)
    """Seconds over which `requests_per_minute` is enforced (scaled to the window)."""
    rate_limit_store: str = DEFAULT_RATE_LIMIT_STORE
    """Where the request budget is counted: `"memory"` (this process), `"sqlite:///path"`
    (every process on one host) or `"redis://host:port/db"` (any number of hosts). Every
    process naming the same store shares one budget; see docs/scale.md."""
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
    # Past these the answer is refused with ResponseTooLargeError (bytes, decoded).
    max_response_bytes: int = Field(default=MAX_RESPONSE_BYTES, gt=0)
    """The largest answer read, in bytes after decompression (default 64 MiB); a larger
    one raises `ResponseTooLargeError`, so a broken or hostile server cannot exhaust memory."""
    max_line_bytes: int = Field(default=MAX_LINE_BYTES, gt=0)
    """The longest single line of a stream read, in bytes after decompression (default
    16 MiB); a longer one raises `ResponseTooLargeError`."""
    max_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    """A spending cap in US dollars for each client built with these settings (None: no
    cap). A call that would take the client's `total_cost` over it raises
    `BudgetExceededError` before anything is sent. See docs/cost-and-tracing.md."""

    @field_validator("api_key", mode="before")
    @classmethod
    def _header_safe_key(cls, value: Any) -> Any:
        if value is None:
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            raise ValueError(f"api_key must be a string, got {type(raw).__name__}")
        # A key read from a file often ends with a newline; nothing else is changed.
        raw = raw.strip()
        if not all("!" <= c <= "~" for c in raw):
            raise ValueError(
                "api_key holds characters an HTTP header cannot carry (non-ASCII, spaces "
                "or control characters such as CR/LF); check how the key was copied"
            )
        return SecretStr(raw)

    @field_validator(
        "timeout", "rate_limit_window", "max_retry_after", "retry_initial_delay", "retry_max_delay"
    )
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        # `inf` passes `gt=0` and would turn a bound into no bound: a wait with no end, or
        # a budget window the limiter cannot size.
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

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

    @model_validator(mode="after")
    def _model_and_effort(self) -> ParallelConfig:
        # Refused here, when the object is built, rather than at the first call.
        if not is_known_model(self.model):
            raise ValueError(unknown_model_message(self.model))
        if self.reasoning_effort is not None and self.model.strip().lower() not in RESPONSES_MODELS:
            raise ValueError(effort_on_chat_model_message(self.model))
        return self

    # True when base_url was read from PARALLEL_BASE_URL: saved state leaves it out, so a
    # loaded copy resolves the address where it is loaded (never the emulator's address
    # it was saved with, which would receive the real key).
    _base_url_from_env: bool = PrivateAttr(default=False)

    @field_validator("rate_limit_store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        return check_store_url(value)

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
        from_env = "base_url" not in values and bool(os.environ.get(BASE_URL_ENV))
        if from_env:
            values["base_url"] = os.environ[BASE_URL_ENV]
        if "rate_limit_store" not in values and os.environ.get(RATE_LIMIT_STORE_ENV):
            values["rate_limit_store"] = os.environ[RATE_LIMIT_STORE_ENV]
        if "requests_per_minute" not in values and os.environ.get(REQUESTS_PER_MINUTE_ENV):
            values["requests_per_minute"] = _rate_from_env(os.environ[REQUESTS_PER_MINUTE_ENV])
        try:
            config = cls(**values)
        except ValidationError as exc:
            # Built without the inputs: never echo a secret (or a list holding one) back.
            problems = "; ".join(
                _problem(err) for err in exc.errors(include_url=False, include_input=False)
            )
            raise InputError(
                _redact(f"invalid option(s): {problems}", values.get("api_key"))
            ) from None
        except ValueError as exc:
            # pydantic's message is clear, but never let it echo a secret input back.
            message = _redact(str(exc), values.get("api_key"))
            store = values.get("rate_limit_store")
            if isinstance(store, str):
                message = message.replace(store, redact_store_url(store))
            raise InputError(message) from None
        config._base_url_from_env = from_env
        return config

    def __getstate__(self) -> dict[Any, Any]:
        # A pickle is saved state: it never holds the key, nor an address read from the
        # environment. The loaded copy reads PARALLEL_API_KEY (and PARALLEL_BASE_URL, if it
        # was read) where it is loaded, as the adapters' pickles do.
        state = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "api_key": None}
        if self._base_url_from_env:
            state["__dict__"]["base_url"] = DEFAULT_BASE_URL
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        private = state.get("__pydantic_private__") or {}
        if private.get("_base_url_from_env"):
            env_url = os.environ.get(BASE_URL_ENV)
            url = type(self)._strip_slash(env_url) if env_url else DEFAULT_BASE_URL
            state["__dict__"] = {**state["__dict__"], "base_url": url}
            private["_base_url_from_env"] = bool(env_url)
        env_key = os.environ.get(API_KEY_ENV)
        if state["__dict__"].get("api_key") is None and env_key:
            try:
                key = type(self)._header_safe_key(env_key)
            except ValueError:
                key = None  # refused at the first request instead, by require_key
            state["__dict__"] = {**state["__dict__"], "api_key": key}
        super().__setstate__(state)

    def replace(self, **changes: Any) -> ParallelConfig:
        """A copy with `changes` applied and validated as by `from_options`."""
        if not changes:
            return self
        data: dict[str, Any] = {**dict(self), **changes}
        changed = type(self).from_options(**data)
        if "base_url" not in changes:
            changed._base_url_from_env = self._base_url_from_env
        return changed

    def require_key(self) -> str:
        """The key in clear, for the transport; `MissingAPIKeyError` when none is set."""
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

    def timeout_for(self, model: str, effort: str | None = None) -> float:
        """Seconds to wait for one attempt at `model`: `timeout` if set, else its entry in
        `MODEL_TIMEOUTS`, or for the Responses API the entry in `EFFORT_TIMEOUTS` of the
        effort in force (`effort`, the model name's pinned one, `reasoning_effort`, or the
        server's default)."""
        if self.timeout is not None:
            return self.timeout
        if model.lower() in RESPONSES_MODELS:
            pinned = RESPONSES_MODELS[model.lower()]
            chosen: str = effort or pinned or self.reasoning_effort or SERVER_DEFAULT_EFFORT
            return EFFORT_TIMEOUTS.get(chosen, UNKNOWN_MODEL_TIMEOUT)
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
        data["rate_limit_store"] = redact_store_url(self.rate_limit_store)
        data["api_key_set"] = self.api_key is not None
        return data

    def saved_options(self) -> dict[str, Any]:
        """The options a saved program stores (DSPy's `save()`): `public_dict()` without
        `api_key_set`, and without `base_url` when it was read from `PARALLEL_BASE_URL`,
        so the loaded copy resolves the address where it is loaded, as a new one does."""
        data = self.public_dict()
        del data["api_key_set"]
        if self._base_url_from_env:
            del data["base_url"]
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


# Options where an explicit None means "off" rather than "use the default".
_NULLABLE = frozenset({"requests_per_minute"})


def _problem(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "options"
    # pydantic prefixes a validator's own ValueError with "Value error, ".
    return f"{where}: {error['msg'].removeprefix('Value error, ')}"


def _redact(text: str, secret: Any) -> str:
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return redact_text(text, raw) if isinstance(raw, str) else text


# Search and Extract APIs (GA, `/v1`). Their documented limits differ from the Chat API's,
# so each draws from a budget of its own: docs.parallel.ai getting-started/rate-limits,
# copy of 2026-10-08 ("Search | 600 per min", "Extract | 600 per min").
SEARCH_PATH = "/v1/search"
EXTRACT_PATH = "/v1/extract"
WEB_REQUESTS_PER_MINUTE: dict[str, int] = {"search": 600, "extract": 600}
# Documented timing: Search 200 ms-3 s, Extract 1-20 s (live fetches); ~10x headroom each.
WEB_TIMEOUTS: dict[str, float] = {"search": 30.0, "extract": 120.0}
# Documented request limits, checked before sending (SDK 1.3.7 types, SourcePolicy docs).
MAX_EXTRACT_URLS = 20
MAX_SOURCE_DOMAINS = 200
# The mode the Search API uses when none is sent (SDK 1.3.7: "Defaults to `advanced`").
SERVER_DEFAULT_SEARCH_MODE = "advanced"
# The Search API's price covers this many results; more are billed per result.
SEARCH_INCLUDED_RESULTS = 10
