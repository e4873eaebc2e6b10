"""Send shaped requests through the official `openai` client.

The SDK does the HTTP and SSE work; this module adds what the SDK cannot know:
Parallel's auth header choice, per-model timeouts, the shared rate limiter, typed
errors, and one retry layer (the SDK's own retries are off: `max_retries=0`).

We keep the retry loop here rather than in the SDK or tenacity because its rules
are specific: a limiter slot is taken for every attempt, a stream may be retried
only until its first piece of text reaches the caller, and a `Retry-After` longer
than `max_retry_after` is surfaced instead of slept through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Protocol, TypeVar

import openai

from .._version import __version__
from ._budget import Budget, billed_after
from ._call import Call
from ._config import (
    CHAT_PATH,
    MAX_CONNECTIONS,
    MAX_KEEPALIVE_CONNECTIONS,
    RESPONSES_PATH,
    WEB_REQUESTS_PER_MINUTE,
    WEB_TIMEOUTS,
    ParallelConfig,
)
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ParallelError,
    RateLimitError,
    ServerError,
    StreamError,
    error_from_status,
    redact_error,
)
from ._guard import Limits, guard_client
from ._http import (
    Omit,
    Timeout,
    connect_timeouts,
    pool_limits,
    timeout_errors,
    transport_errors,
)
from ._ratelimit import RequestLimiter, shared_limiter
from ._request import ChatRequest
from ._response import Completion, StreamAccumulator, StreamPart, completion_from_body
from ._responses import ResponsesAccumulator, completion_from_responses_body
from ._sending import current_sending, pause
from ._sse import (
    DONE,
    ServerEvent,
    aevents,
    decode_event,
    events,
    is_event_stream,
    read_json_body,
)
from ._web import WebRequest

__all__ = ["AsyncChatStream", "ChatStream", "Transport", "is_transient"]

logger = logging.getLogger("parallel_adapters")

USER_AGENT = f"parallel-adapters/{__version__}"
_T = TypeVar("_T")


class _HasCost(Protocol):
    @property
    def cost(self) -> float | None: ...


_Priced = TypeVar("_Priced", bound=_HasCost)
# The default of the retry loops' `limiter`: the Chat/Responses budget.
_CHAT_BUDGET: Any = object()


class _LoopClient:
    """An async client and the async generator that closes it when its loop shuts down.

    `asyncio.run()` (and every runner that calls `loop.shutdown_asyncgens()`) closes the
    live async generators of a loop before closing the loop; the closer's `finally`
    then closes the client's connections on the loop that opened them. Without it, the
    client outlived its loop: its pooled connections reference the loop, so the weak
    key never died and each finished `asyncio.run()` left its sockets open.
    """

    def __init__(self, client: openai.AsyncOpenAI, forget: Callable[[], None]) -> None:
        self.client = client
        self._abandoned = False
        self.closer = self._close_at_shutdown(forget)
        # Run the generator to its `yield` now: that registers it with the running
        # loop. It never awaits before yielding, so one send() does it synchronously.
        with contextlib.suppress(StopIteration):
            self.closer.asend(None).send(None)

    async def _close_at_shutdown(self, forget: Callable[[], None]) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            forget()
            if not self._abandoned:
                await self.client.close()

    def abandon(self) -> None:
        """Finish the closer without awaiting: its loop is closed, nothing can run on it.

        The client's sockets are closed by the garbage collector once it is unreferenced;
        finishing the generator here keeps asyncio's finalizer from scheduling work on
        the closed loop.
        """
        self._abandoned = True
        with contextlib.suppress(StopIteration, RuntimeError):
            self.closer.aclose().send(None)


_ClientsByLoop = weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient]
_Accumulator = StreamAccumulator | ResponsesAccumulator
_WebClients = weakref.WeakKeyDictionary[openai.AsyncOpenAI, openai.AsyncOpenAI]


def _path(request: ChatRequest) -> str:
    return RESPONSES_PATH if request.api == "responses" else CHAT_PATH


def _read(body: Any, request: ChatRequest) -> Completion:
    if request.api == "responses":
        return completion_from_responses_body(body, request)
    return completion_from_body(body, request)


def _accumulator(request: ChatRequest) -> _Accumulator:
    if request.api == "responses":
        return ResponsesAccumulator(request)
    return StreamAccumulator(request)


def _limits() -> Any:
    # Explicit, for long research calls: see MAX_CONNECTIONS.
    return pool_limits(MAX_CONNECTIONS, MAX_KEEPALIVE_CONNECTIONS)


# Every live Transport, so a forked child can give each fresh clients (see _after_fork).
_live: weakref.WeakSet[Transport] = weakref.WeakSet()
# The parent's clients, held in a forked child so they are never closed there: their
# pooled sockets are the parent's too, and closing would take their (maybe held) locks.
_inherited: list[object] = []


def is_transient(error: ParallelError) -> bool:
    """Worth another attempt: 408, 429, 5xx, timeouts, dropped connections, garbled bodies."""
    if isinstance(error, (APITimeoutError, APIConnectionError, RateLimitError)):
        return True
    if isinstance(error, StreamError):
        return False
    if isinstance(error, ServerError):
        return error.retryable
    return error.status_code == 408


def _url_of(exc: BaseException) -> Any:
    """The URL the failed request went to (an httpx URL), or None when unknown."""
    for candidate in (exc, exc.__cause__):
        try:
            request = getattr(candidate, "request", None)  # httpx raises if it has none
        except RuntimeError:
            request = None
        url = getattr(request, "url", None)
        if url is not None and getattr(url, "host", None):
            return url
    return None


def _address(url: Any) -> str:
    """`host:port` of `url`, the port filled in from the scheme when implicit."""
    port = url.port or (443 if url.scheme == "https" else 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}"


def _shown(url: Any) -> str:
    """`url` without credentials, query or fragment: safe to put in a message."""
    return f"{url.scheme}://{_address(url)}{url.path}"


# A 404 at a base_url ending in /v1 is the OpenAI SDK habit (`base_url=".../v1"`).
_ROOT_HINT = (
    "; base_url is the API's root (e.g. https://api.parallel.ai), without /v1: the kit "
    "adds /chat/completions and /v1/responses itself"
)


def _not_found_message(message: str, url: Any, base_url: str) -> str:
    where = f"{message}: POST {_shown(url)} does not exist"
    if base_url.rstrip("/").lower().endswith("/v1"):
        where += _ROOT_HINT
    return where


def _translate(exc: Exception, base_url: str = "") -> ParallelError:
    """A typed error for anything the SDK or httpx raised; the original is chained by callers.

    Errors that say where: a failed connection names the host and port, a 404 the URL.
    """
    if isinstance(exc, ParallelError):
        return exc
    if isinstance(exc, openai.APIError) and isinstance(exc.__cause__, ParallelError):
        # Raised by the guarded transport under the SDK, which wrapped it.
        return exc.__cause__
    if isinstance(exc, openai.APIStatusError):
        body: Any = exc.body
        if body is None:
            try:
                body = exc.response.json()
            except ValueError:
                body = exc.response.text
        error = error_from_status(exc.status_code, body, exc.response.headers)
        url = _url_of(exc) if exc.status_code == 404 else None
        if url is not None:
            error.message = _not_found_message(error.message, url, base_url)
            error.args = (error.message,)
        return error
    url = _url_of(exc)
    at = f" at {_address(url)}" if url is not None else ""
    if isinstance(exc, timeout_errors):
        if isinstance(exc, connect_timeouts) or isinstance(exc.__cause__, connect_timeouts):
            # Nothing reached the server: safe to retry like any failed connection.
            return APIConnectionError(
                f"could not connect to the Parallel API{at} before the timeout"
            )
        return APITimeoutError(f"no answer from the Parallel API{at} before the timeout")
    if isinstance(exc, transport_errors):
        # The SDK's own text is a bare "Connection error."; its cause says why.
        cause = str(exc.__cause__ or "").strip()
        detail = f"{exc} ({cause})" if cause and cause not in str(exc) else str(exc)
        return APIConnectionError(f"the connection to the Parallel API{at} failed: {detail}")
    if isinstance(exc, json.JSONDecodeError):
        return ServerError(
            f"the server sent malformed JSON: {exc.msg}", status_code=None, retryable=True
        )
    if isinstance(exc, UnicodeDecodeError):
        return ServerError(
            f"the server sent bytes that are not UTF-8 (at byte {exc.start})",
            status_code=None,
            retryable=True,
        )
    if isinstance(exc, RecursionError):
        return ServerError(
            "the server sent JSON nested too deeply to read", status_code=None, retryable=False
        )
    if isinstance(exc, openai.APIError):
        # An error event inside an SSE stream; the SDK puts the server's message first.
        return ServerError(exc.message, body=exc.body, status_code=None, retryable=False)
    raise exc


class Transport:
    """One sync client shared by all threads; one async client per event loop.

    LlamaIndex and DSPy both run coroutines on fresh event loops in worker threads;
    an `httpx.AsyncClient` bound to a closed loop fails with "Event loop is closed",
    so async clients are never shared across loops.
    """

    def __init__(self, config: ParallelConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._async_clients: _ClientsByLoop = weakref.WeakKeyDictionary()
        self._limiter: RequestLimiter | None = None
        self.budget = Budget(config.max_cost)
        # Search/Extract: budgets of their own (their documented limits differ), and
        # clients sending `x-api-key` over the same connection pools (see _web_client).
        self._web_limiters: dict[str, RequestLimiter] = {}
        self._web_client: tuple[openai.OpenAI, openai.OpenAI] | None = None
        self._async_web_clients: _WebClients = weakref.WeakKeyDictionary()
        _live.add(self)

    def __repr__(self) -> str:
        return f"Transport(base_url={self.config.base_url!r})"

    def _after_fork(self) -> None:
        """In a forked child: new clients and limiter on first use, a free lock.

        The inherited pool's connections are shared with the parent (two processes
        reading one socket cross their answers), its locks may be held by a thread that
        does not exist here, and the limiter's log is the parent's.
        """
        _inherited.append((self._client, list(self._async_clients.values())))
        self._lock = threading.Lock()
        self._client = None
        self._async_clients = weakref.WeakKeyDictionary()
        self._limiter = None
        self.budget.after_fork()
        self._web_limiters = {}
        self._web_client = None
        self._async_web_clients = weakref.WeakKeyDictionary()

    # -- clients -------------------------------------------------------------------------

    def _client_options(self, *, is_async: bool) -> dict[str, Any]:
        key = self.config.require_key()
        limits = Limits(self.config.max_response_bytes, self.config.max_line_bytes)
        http_client: Any = (
            openai.DefaultAsyncHttpxClient(follow_redirects=False, limits=_limits())
            if is_async
            else openai.DefaultHttpxClient(follow_redirects=False, limits=_limits())
        )
        headers: dict[str, Any] = {"User-Agent": USER_AGENT, **self.config.extra_headers}
        if self.config.auth_header == "x-api-key":
            # The config names the header; Omit drops the SDK's own Bearer one.
            headers.update({"Authorization": Omit(), **self.config.auth_headers()})
        return {
            "api_key": key,
            "base_url": self.config.base_url,
            "max_retries": 0,
            "default_headers": headers,
            "http_client": guard_client(http_client, limits, is_async=is_async),
        }

    def _sync_client(self) -> openai.OpenAI:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = openai.OpenAI(**self._client_options(is_async=False))
                client = self._client
        return client

    def _async_client(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        entry = self._async_clients.get(loop)
        if entry is None:
            self._forget_closed_loops()
            client = openai.AsyncOpenAI(**self._client_options(is_async=True))
            entry = _LoopClient(client, lambda: self._forget_loop(loop, client))
            with self._lock:
                self._async_clients[loop] = entry
        return entry.client

    def _forget_loop(self, loop: asyncio.AbstractEventLoop, client: openai.AsyncOpenAI) -> None:
        with self._lock:
            entry = self._async_clients.get(loop)
            if entry is not None and entry.client is client:
                del self._async_clients[loop]

    def _forget_closed_loops(self) -> None:
        """Drop the clients of loops closed without `shutdown_asyncgens()` (a bare
        `loop.close()`): nothing can be awaited on a dead loop, but once unreferenced
        their sockets are closed by the garbage collector."""
        with self._lock:
            closed = [loop for loop in self._async_clients if loop.is_closed()]
            stale = [self._async_clients.pop(loop) for loop in closed]
        for entry in stale:
            entry.abandon()

    def _request_limiter(self) -> RequestLimiter | None:
        rpm = self.config.requests_per_minute
        if rpm is None:
            return None
        if self._limiter is None:
            self._limiter = shared_limiter(
                self.config.base_url,
                self.config.require_key(),
                rpm,
                self.config.rate_limit_window,
                self.config.rate_limit_store,
            )
        return self._limiter

    def _web_limiter(self, api: str) -> RequestLimiter | None:
        if self.config.requests_per_minute is None:
            return None
        limiter = self._web_limiters.get(api)
        if limiter is None:
            limiter = self._web_limiters[api] = shared_limiter(
                self.config.base_url,
                self.config.require_key(),
                WEB_REQUESTS_PER_MINUTE[api],
                self.config.rate_limit_window,
                self.config.rate_limit_store,
                api=api,
            )
        return limiter

    def _web_headers(self) -> dict[str, Any]:
        # The Search and Extract APIs document `x-api-key` (as the official SDK sends it),
        # whatever `auth_header` says for the Chat and Responses APIs.
        return {"x-api-key": self.config.require_key(), "Authorization": Omit()}

    def _sync_web_client(self) -> openai.OpenAI:
        base = self._sync_client()
        pair = self._web_client
        if pair is None or pair[0] is not base:
            # `with_options` shares the base client's httpx client: one pool for all APIs.
            pair = self._web_client = (base, base.with_options(default_headers=self._web_headers()))
        return pair[1]

    def _async_web_client(self) -> openai.AsyncOpenAI:
        base = self._async_client()
        client = self._async_web_clients.get(base)
        if client is None:
            client = base.with_options(default_headers=self._web_headers())
            self._async_web_clients[base] = client
        return client

    def _web_options(self, request: WebRequest) -> openai.RequestOptions:
        timeout = self.config.timeout or WEB_TIMEOUTS[request.api]
        return {
            "timeout": Timeout(timeout, connect=min(timeout, 10.0)),
            "headers": {"Authorization": Omit()},
        }

    def web_call(self, request: WebRequest, read: Callable[[Any, WebRequest], _Priced]) -> _Priced:
        """Send a Search or Extract request and read its answer, its price held against
        the budget before sending and settled at what the answer cost."""
        held = self.budget.reserve(request.price)
        try:
            result = read(self.post_web(request), request)
        except BaseException as exc:
            self.budget.settle(held, held if billed_after(exc) else 0.0)
            raise
        self.budget.settle(held, result.cost or 0.0)
        return result

    async def aweb_call(
        self, request: WebRequest, read: Callable[[Any, WebRequest], _Priced]
    ) -> _Priced:
        """The async `web_call`."""
        held = self.budget.reserve(request.price)
        try:
            result = read(await self.apost_web(request), request)
        except BaseException as exc:
            self.budget.settle(held, held if billed_after(exc) else 0.0)
            raise
        self.budget.settle(held, result.cost or 0.0)
        return result

    def post_web(self, request: WebRequest) -> Any:
        """Send a Search or Extract request; its decoded JSON answer."""
        client = self._sync_web_client()

        def once() -> Any:
            return client.post(
                request.path, cast_to=object, body=request.body, options=self._web_options(request)
            )

        return self._with_retries(once, None, self._web_limiter(request.api))

    async def apost_web(self, request: WebRequest) -> Any:
        """The async `post_web`."""
        client = self._async_web_client()

        async def once() -> Any:
            return await client.post(
                request.path, cast_to=object, body=request.body, options=self._web_options(request)
            )

        return await self._awith_retries(once, None, self._web_limiter(request.api))

    def _options(self, request: ChatRequest) -> openai.RequestOptions:
        timeout = self.config.timeout_for(request.model, request.effort)
        options: openai.RequestOptions = {"timeout": Timeout(timeout, connect=min(timeout, 10.0))}
        if self.config.auth_header == "x-api-key":
            # Newer SDKs insist that a request either carries Authorization or omits it
            # explicitly; the key itself stays in the client's default headers, which the
            # SDK does not log.
            options["headers"] = {"Authorization": Omit()}
        return options

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
        self._forget_closed_loops()

    async def aclose(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - only reachable from sync code
            return
        with self._lock:
            entry = self._async_clients.pop(loop, None)
        if entry is not None:
            await entry.closer.aclose()  # its `finally` closes the client

    # -- retries -------------------------------------------------------------------------

    def _retry_delay(self, error: ParallelError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if attempt >= self.config.max_retries or not is_transient(error):
            return None
        if isinstance(error, APITimeoutError) and not self.config.retry_timeouts:
            # The server may still finish (and bill) a request we stopped waiting for.
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.config.max_retry_after:
                return None
            return float(retry_after)
        backoff = min(self.config.retry_initial_delay * 2.0**attempt, self.config.retry_max_delay)
        return backoff * (1.0 - 0.25 * random.random())

    def typed(self, exc: Exception) -> ParallelError:
        """The typed error for `exc`, the configured key blanked from the server's words."""
        key = self.config.api_key.get_secret_value() if self.config.api_key else None
        return redact_error(_translate(exc, self.config.base_url), key)

    def _server_hold(self, error: ParallelError) -> float | None:
        """How long a 429's `Retry-After` asks every client of this key to hold back."""
        retry_after = getattr(error, "retry_after", None)
        if not isinstance(error, RateLimitError) or retry_after is None or retry_after <= 0:
            return None
        # A bogus huge value must not stall every process sharing the budget for long.
        return min(float(retry_after), self.config.max_retry_after)

    def _log_retry(self, error: ParallelError, attempt: int, delay: float) -> None:
        logger.info(
            "retrying after %s (attempt %d of %d, waiting %.2fs)",
            type(error).__name__,
            attempt + 1,
            self.config.max_retries,
            delay,
        )

    def begin(self, request: ChatRequest) -> Call:
        """Hold the call's price (`BudgetExceededError` over the cap) and start its span."""
        return Call(self.budget, request, self.config.base_url)

    def _with_retries(
        self, once: Callable[[], _T], call: Call | None, limiter: Any = _CHAT_BUDGET
    ) -> _T:
        attempt = 0
        if limiter is _CHAT_BUDGET:
            limiter = self._request_limiter()
        sending = current_sending.get()
        while True:
            if limiter is not None:
                limiter.acquire(self.config.max_retry_after)
            try:
                if sending is not None:
                    sending.on_wire = True
                return once()
            except Exception as exc:
                if sending is not None:
                    sending.on_wire = False
                error = self.typed(exc)
                hold = self._server_hold(error)
                if limiter is not None and hold is not None:
                    limiter.hold(hold)
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    if error is exc:
                        raise
                    raise error from exc
            self._log_retry(error, attempt, delay)
            if call is not None:
                call.retry(error, attempt, delay)
            attempt += 1
            pause(delay)  # ended early by a batch's Ctrl-C

    async def _awith_retries(
        self, once: Callable[[], Awaitable[_T]], call: Call | None, limiter: Any = _CHAT_BUDGET
    ) -> _T:
        attempt = 0
        if limiter is _CHAT_BUDGET:
            limiter = self._request_limiter()
        sending = current_sending.get()
        while True:
            if limiter is not None:
                await limiter.aacquire(self.config.max_retry_after)
            try:
                if sending is not None:
                    sending.on_wire = True
                return await once()
            except Exception as exc:
                if sending is not None:
                    sending.on_wire = False
                error = self.typed(exc)
                hold = self._server_hold(error)
                if limiter is not None and hold is not None:
                    await limiter.ahold(hold)
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    if error is exc:
                        raise
                    raise error from exc
            self._log_retry(error, attempt, delay)
            if call is not None:
                call.retry(error, attempt, delay)
            attempt += 1
            await asyncio.sleep(delay)

    # -- non-streaming ---------------------------------------------------------------------

    def complete(self, request: ChatRequest) -> Completion:
        # Built before a limiter slot is taken, so the first request is not late to the
        # server for its own set-up (late arrivals bunch up into server-side 429s).
        client = self._sync_client()

        def once() -> Completion:
            body = client.post(
                _path(request), cast_to=object, body=request.body, options=self._options(request)
            )
            return _read(body, request)

        call = self.begin(request)
        try:
            completion = self._with_retries(once, call)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(completion)

    async def acomplete(self, request: ChatRequest) -> Completion:
        client = self._async_client()

        async def once() -> Completion:
            body = await client.post(
                _path(request), cast_to=object, body=request.body, options=self._options(request)
            )
            return _read(body, request)

        call = self.begin(request)
        try:
            completion = await self._awith_retries(once, call)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(completion)

    # -- streaming -------------------------------------------------------------------------

    def stream(self, request: ChatRequest) -> ChatStream:
        return ChatStream(self, request)

    def astream(self, request: ChatRequest) -> AsyncChatStream:
        return AsyncChatStream(self, request)


def _after_fork_in_child() -> None:
    for transport in list(_live):
        transport._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _stream_broken(error: ParallelError, accumulator: _Accumulator) -> StreamError:
    return StreamError(
        f"the stream broke after {len(accumulator.text)} characters: {error.message}",
        partial_text=accumulator.text,
        status_code=error.status_code,
    )


def _payloads(response: Any, accumulator: _Accumulator) -> Iterator[Any]:
    """The JSON payloads of a stream's events, up to `[DONE]` (noted on the accumulator)."""
    for event in events(response.iter_bytes()):
        if accumulator.saw_done:
            continue  # read to the end (bounded by the deadline and the size caps)
        if event.data.strip() == DONE:
            accumulator.saw_done = True
            continue
        yield decode_event(event)


async def _aevents_to_done(
    response: Any, accumulator: _Accumulator
) -> AsyncGenerator[ServerEvent, None]:
    """The events before `[DONE]`, read to the end of the body as the SDK does.

    Nothing is raised in here and nothing closed: an error is raised by the caller, so
    this generator and the HTTP library's under it stay suspended and referenced by the
    stream until it goes, and the loop finalizes them at shutdown, not mid-call (a
    generator dropped mid-call leaves a closing task behind).
    """
    async for event in aevents(response.aiter_bytes()):
        if accumulator.saw_done:
            continue
        if event.data.strip() == DONE:
            accumulator.saw_done = True
            continue
        yield event


# What an opened stream hands on: the SDK stream (to close), the payloads still to read,
# the accumulator, the first text, and the whole answer when a JSON body came instead.
_Opened = tuple[Any, Any, _Accumulator, str, "Completion | None"]


class ChatStream:
    """Iterate for `StreamPart`s; once exhausted, `.completion` holds the whole answer.

    Opening is retried like any request until the first piece of text is handed to
    you; after that, a failure raises `StreamError` carrying the partial text.
    """

    def __init__(self, transport: Transport, request: ChatRequest) -> None:
        self._transport = transport
        self._request = request
        self._completion: Completion | None = None
        self._parts: Generator[StreamPart, None, None] = self._generate()

    def __iter__(self) -> Iterator[StreamPart]:
        return self

    def __next__(self) -> StreamPart:
        return next(self._parts)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and release the connection; safe to call more than once."""
        self._parts.close()

    @property
    def completion(self) -> Completion:
        """The final answer; only once the stream has been read to its end."""
        if self._completion is None:
            raise RuntimeError("the stream has not been read to its end; call collect()")
        return self._completion

    def collect(self) -> Completion:
        """Read whatever is left of the stream and return the final answer."""
        for _ in self:
            pass
        return self.completion

    def _open(self, call: Call) -> _Opened:
        """Open the stream and read up to its first text, inside the retry layer."""
        transport, request = self._transport, self._request
        client = transport._sync_client()

        def once() -> _Opened:
            sdk_stream = client.post(
                _path(request),
                cast_to=object,
                body=request.body,
                options=transport._options(request),
                stream=True,
                stream_cls=openai.Stream[object],
            )
            accumulator = _accumulator(request)
            try:
                response = sdk_stream.response
                content_type = response.headers.get("content-type")
                if not is_event_stream(content_type):
                    body = read_json_body(content_type, response.read())
                    whole = _read(body, request)
                    return sdk_stream, iter(()), accumulator, whole.text, whole
                chunks = _payloads(response, accumulator)
                for chunk in chunks:
                    delta = accumulator.add(chunk)
                    if delta:
                        return sdk_stream, chunks, accumulator, delta, None
            except BaseException:
                sdk_stream.close()
                raise
            return sdk_stream, chunks, accumulator, "", None

        return transport._with_retries(once, call)

    def _generate(self) -> Generator[StreamPart, None, None]:
        call = self._transport.begin(self._request)
        try:
            sdk_stream, chunks, accumulator, first, whole = self._open(call)
            try:
                if first:
                    call.first_chunk()
                    yield StreamPart(first)
                while True:
                    try:
                        chunk = next(chunks, _END)
                        if chunk is _END:
                            break
                        delta = accumulator.add(chunk)
                    except Exception as exc:
                        error = self._transport.typed(exc)
                        raise _stream_broken(error, accumulator) from exc
                    if delta:
                        call.first_chunk()
                        yield StreamPart(delta)
            finally:
                sdk_stream.close()
            completion = whole or accumulator.finish()
        except GeneratorExit:
            call.abandon()
            raise
        except BaseException as exc:
            call.fail(exc)
            raise
        self._completion = call.succeed(completion)


_END = object()


class AsyncChatStream:
    """The async twin of `ChatStream`: `async for part in stream`, then `.completion`."""

    def __init__(self, transport: Transport, request: ChatRequest) -> None:
        self._transport = transport
        self._request = request
        self._completion: Completion | None = None
        self._readers: list[AsyncGenerator[ServerEvent, None]] = []  # see _aevents_to_done
        self._parts: AsyncGenerator[StreamPart, None] = self._generate()

    def __aiter__(self) -> AsyncIterator[StreamPart]:
        return self

    async def __anext__(self) -> StreamPart:
        return await self._parts.__anext__()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading and release the connection; safe to call more than once."""
        await self._parts.aclose()

    @property
    def completion(self) -> Completion:
        """The final answer; only once the stream has been read to its end."""
        if self._completion is None:
            raise RuntimeError("the stream has not been read to its end; await collect()")
        return self._completion

    async def collect(self) -> Completion:
        """Read whatever is left of the stream and return the final answer."""
        async for _ in self:
            pass
        return self.completion

    async def _open(self, call: Call) -> _Opened:
        transport, request = self._transport, self._request
        client = transport._async_client()

        async def once() -> _Opened:
            sdk_stream = await client.post(
                _path(request),
                cast_to=object,
                body=request.body,
                options=transport._options(request),
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
            accumulator = _accumulator(request)
            try:
                response = sdk_stream.response
                content_type = response.headers.get("content-type")
                if not is_event_stream(content_type):
                    body = read_json_body(content_type, await response.aread())
                    whole = _read(body, request)
                    return sdk_stream, _no_events(), accumulator, whole.text, whole
                chunks = _aevents_to_done(response, accumulator)
                self._readers.append(chunks)
                async for event in chunks:
                    delta = accumulator.add(decode_event(event))
                    if delta:
                        return sdk_stream, chunks, accumulator, delta, None
            except BaseException:
                await sdk_stream.close()
                raise
            return sdk_stream, chunks, accumulator, "", None

        return await transport._awith_retries(once, call)

    async def _generate(self) -> AsyncGenerator[StreamPart, None]:
        call = self._transport.begin(self._request)
        try:
            sdk_stream, chunks, accumulator, first, whole = await self._open(call)
            try:
                if first:
                    call.first_chunk()
                    yield StreamPart(first)
                while True:
                    try:
                        event = await chunks.__anext__()
                        delta = accumulator.add(decode_event(event))
                    except StopAsyncIteration:
                        break
                    except Exception as exc:
                        error = self._transport.typed(exc)
                        raise _stream_broken(error, accumulator) from exc
                    if delta:
                        call.first_chunk()
                        yield StreamPart(delta)
            finally:
                await sdk_stream.close()
            completion = whole or accumulator.finish()
        except GeneratorExit:
            call.abandon()
            raise
        except BaseException as exc:
            call.fail(exc)
            raise
        self._completion = call.succeed(completion)


async def _no_events() -> AsyncGenerator[ServerEvent, None]:
    return
    yield  # pragma: no cover - makes this an async generator
