"""The emulator as an ASGI application (uvicorn serves it; `_server` starts uvicorn).

A request to `POST /chat/completions` or `POST /v1beta/chat/completions` goes through:

1. the fault, if one applies: status faults (429, 5xx, envelopes), `stall` and
   `disconnect-before-first-byte` act here, before authentication, the way a failure in
   front of the service would;
2. authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`; otherwise 401;
3. the per-key rate limit: 429 with Retry-After and retry-after-ms;
4. validation: 422 with FastAPI's `{"detail": [...]}`;
5. the model: one of speed, lite, base, core. An unknown model gets **403** in Parallel's
   envelope, `{"type": "error", "error": {"ref_id", "message": "Forbidden: invalid model in
   request", "detail": {...}}}`. Why: the request schema types `model` as a free string, so
   FastAPI cannot reject it with a 422; the research models are Task API processors, and the
   Task API answers an invalid processor with 403 "Forbidden: invalid processor in request"
   in this envelope. The real Chat API's answer is undocumented; this is the likeliest one.
6. the answer, after the latency model's wait, as JSON or as SSE, shaped by any remaining
   fault (mid-stream disconnect, malformed JSON, keep-alive comments, ...).

Other paths get FastAPI's `{"detail": "Not Found"}` (404) and other methods 405.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Sequence
from typing import Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from . import _wire
from ._answers import MODELS, AnswerEngine
from ._corpus import CorpusPage
from ._faults import FAULT_HEADER, STREAM_ONLY, Fault, FaultQueue
from ._interactions import Interactions, interaction_id_for, request_digest
from ._latency import LatencyModel, LatencyPreset
from ._log import RequestLog, RequestLogEntry
from ._prompts import parse_prompt
from ._ratelimit import (
    RATE_LIMIT_MESSAGE,
    RateLimit,
    SlidingWindowLimiter,
    retry_after_headers,
)
from ._schema import SchemaError
from ._validation import ChatRequest, parse_chat_request

CHAT_PATHS = frozenset({"/chat/completions", "/v1beta/chat/completions"})
# A request body past this gets 413 unread; the suites send 10 MB prompts.
MAX_BODY_BYTES = 32 * 1024 * 1024
# Headers and body must arrive within this (seconds), or the connection is closed (408).
READ_TIMEOUT = 30.0
_JSON = "application/json"
_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class ConnectionRegistry:
    """Open connections by client address, filled by the server's protocol class.

    ASGI has no way to drop a connection without answering, so the disconnect faults find
    the connection's transport here and abort it, which resets the TCP connection for real.
    """

    def __init__(self) -> None:
        self._transports: dict[tuple[str, int], asyncio.BaseTransport] = {}

    def add(self, transport: asyncio.BaseTransport) -> None:
        peer = _peer(transport)
        if peer is not None:
            self._transports[peer] = transport

    def discard(self, transport: asyncio.BaseTransport) -> None:
        peer = _peer(transport)
        if peer is not None and self._transports.get(peer) is transport:
            del self._transports[peer]

    def abort(self, client: object) -> bool:
        if not isinstance(client, (tuple, list)) or len(client) != 2:
            return False
        transport = self._transports.get((str(client[0]), int(client[1])))
        if transport is None:
            return False
        cast("asyncio.Transport", transport).abort()
        return True


def _peer(transport: asyncio.BaseTransport) -> tuple[str, int] | None:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, (tuple, list)) and len(peer) >= 2:
        return str(peer[0]), int(peer[1])
    return None


class _Watch:
    """Waits that end early when the client goes away or the emulator stops.

    One watcher per request, started only when the request has to wait at all, so the
    zero-latency path costs nothing.
    """

    def __init__(self, receive: Receive, stopping: asyncio.Event) -> None:
        self._receive = receive
        self._stopping = stopping
        self._ended: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Future[Any]] = []
        self.client_gone = False

    def _start(self) -> asyncio.Future[None]:
        if self._ended is None:
            ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def finish(_: object) -> None:
                if not ended.done():
                    ended.set_result(None)

            for waiter in (self._stopping.wait(), self._disconnect()):
                task = asyncio.ensure_future(waiter)
                task.add_done_callback(finish)
                self._tasks.append(task)
            self._ended = ended
        return self._ended

    async def _disconnect(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.client_gone = True

    async def sleep(self, seconds: float) -> bool:
        """Wait; False if the client left or the emulator is stopping (stop answering)."""
        if seconds <= 0:
            return True
        ended = self._start()
        done, _ = await asyncio.wait({ended}, timeout=seconds)
        return not done

    async def closed(self, timeout: float = 1.0) -> None:
        await asyncio.wait({self._start()}, timeout=timeout)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()


class _Exchange:
    """One request/response: sending helpers that also record the status in the log."""

    def __init__(
        self,
        app: EmulatorApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        entry: RequestLogEntry,
    ) -> None:
        self.scope = scope
        self.send = send
        self.entry = entry
        self.watch = _Watch(receive, app.stopping_event())
        self._connections = app.connections

    async def respond(
        self,
        status: int,
        body: bytes,
        content_type: str = _JSON,
        headers: dict[str, str] | None = None,
    ) -> None:
        await self.start(status, content_type, headers, length=len(body))
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def start(
        self,
        status: int,
        content_type: str,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        raw = [(b"content-type", content_type.encode())]
        if length is not None:
            raw.append((b"content-length", str(length).encode()))
        raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        self.entry.status = status
        await self.send({"type": "http.response.start", "status": status, "headers": raw})

    async def body(self, data: bytes, more: bool = True) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def abort(self) -> None:
        """Drop the TCP connection without a word (or mid-body)."""
        if self.watch.client_gone:
            return
        if self._connections.abort(self.scope.get("client")):
            await self.watch.closed()  # let the server notice before the app returns
            return
        # Served in-process (no socket): raising is the nearest thing to a dropped connection.
        raise ConnectionAbortedError("the emulator dropped the connection (fault)")


class EmulatorApp:
    """The ASGI app. Its settings may be changed between requests from another thread."""

    def __init__(
        self,
        *,
        api_key: str | None,
        profile: _wire.Profile,
        latency: LatencyModel | LatencyPreset,
        rate_limit: RateLimit | tuple[int, float] | None,
        corpus: Sequence[CorpusPage],
        stall_seconds: float,
    ) -> None:
        self.api_key = api_key
        self.profile = profile
        self.latency = LatencyModel.of(latency)
        self.stall_seconds = stall_seconds
        self.faults = FaultQueue()
        self.log = RequestLog()
        self.connections = ConnectionRegistry()
        self.interactions = Interactions()
        self._engine = AnswerEngine(corpus)
        self._limiter: SlidingWindowLimiter | None = None
        self.rate_limit = RateLimit.of(rate_limit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self.max_body_bytes = MAX_BODY_BYTES
        self.read_timeout = READ_TIMEOUT

    @property
    def rate_limit(self) -> RateLimit | None:
        return self._limiter.limit if self._limiter else None

    @rate_limit.setter
    def rate_limit(self, value: RateLimit | tuple[int, float] | None) -> None:
        limit = RateLimit.of(value)
        self._limiter = SlidingWindowLimiter(limit) if limit else None

    def reset(self) -> None:
        """Forget requests, queued faults, rate-limit counts and conversation turns."""
        self.log.clear()
        self.faults.clear()
        self.interactions.clear()
        if self._limiter:
            self._limiter.reset()

    def stopping_event(self) -> asyncio.Event:
        if self._stopping is None:
            self._stopping = asyncio.Event()
            self._loop = asyncio.get_running_loop()
        return self._stopping

    def begin_shutdown(self) -> None:
        """From any thread: end every wait (latency, stalls) so the server can stop at once."""
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.stopping_event()  # bind to the server's loop for begin_shutdown
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items()]
        refusal = self._refuse_unread(scope, request)
        if refusal is not None:
            # Nothing unauthenticated or oversized is read, let alone kept in the log.
            status, body = refusal
            entry = self.log.record(request.method, scope["path"], headers, b"")
            exchange = _Exchange(self, scope, receive, send, entry)
            await exchange.respond(status, body, headers={"connection": "close"})
            return
        try:
            raw = await asyncio.wait_for(self._read_body(request), self.read_timeout)
        except ClientDisconnect:
            return
        except (asyncio.TimeoutError, _BodyTooLarge) as error:
            status = 413 if isinstance(error, _BodyTooLarge) else 408
            entry = self.log.record(request.method, scope["path"], headers, b"")
            exchange = _Exchange(self, scope, receive, send, entry)
            body = _wire.parallel_error(status, "ref_unread", _UNREAD[status])
            await exchange.respond(status, body, headers={"connection": "close"})
            return
        entry = self.log.record(request.method, scope["path"], headers, raw)
        exchange = _Exchange(self, scope, receive, send, entry)
        try:
            await self._route(exchange, request, raw)
        finally:
            exchange.watch.close()

    def _refuse_unread(self, scope: Scope, request: Request) -> tuple[int, bytes] | None:
        """401 or 413 decided from the headers alone, for a chat POST."""
        if scope["path"] not in CHAT_PATHS or request.method != "POST":
            return None
        if self._authenticate(request) is None:
            return 401, _wire.parallel_error(401, "ref_unauthenticated")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return 413, _wire.parallel_error(413, "ref_too_large", _UNREAD[413])
        return None

    async def _read_body(self, request: Request) -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise _BodyTooLarge
        return bytes(body)

    async def _route(self, exchange: _Exchange, request: Request, raw: bytes) -> None:
        if exchange.scope["path"] not in CHAT_PATHS:
            await exchange.respond(404, _wire.fastapi_error("Not Found"))
            return
        if request.method != "POST":
            body = _wire.fastapi_error("Method Not Allowed")
            await exchange.respond(405, body, headers={"allow": "POST"})
            return
        ref_id = "ref_" + hashlib.sha256(raw).hexdigest()[:24]
        header = request.headers.get(FAULT_HEADER)
        try:
            fault = Fault.parse(header) if header else self.faults.pop()
        except ValueError as error:
            message = f"Bad request: invalid {FAULT_HEADER} header: {error}"
            await exchange.respond(400, _wire.parallel_error(400, ref_id, message))
            return
        if fault is not None:
            exchange.entry.fault = fault.spec()
            if not await self._early_fault(exchange, fault, ref_id):
                return
            if fault.name not in STREAM_ONLY | _SHAPING:
                fault = None

        key = self._authenticate(request)
        if key is None:
            await exchange.respond(401, _wire.parallel_error(401, ref_id))
            return
        if self._limiter is not None:
            wait = self._limiter.acquire(key)
            if wait is not None:
                body = _wire.parallel_error(429, ref_id, RATE_LIMIT_MESSAGE)
                await exchange.respond(429, body, headers=retry_after_headers(wait))
                return
        parsed = parse_chat_request(raw)
        if isinstance(parsed, list):
            await exchange.respond(422, _wire.fastapi_error(parsed))
            return
        if parsed.model not in MODELS:
            detail = {"model": parsed.model, "supported_models": list(MODELS)}
            body = _wire.parallel_error(403, ref_id, detail=detail)
            await exchange.respond(403, body)
            return
        await self._answer(exchange, parsed, fault)

    async def _early_fault(self, exchange: _Exchange, fault: Fault, ref_id: str) -> bool:
        """Apply a fault that acts before authentication; False if the request is done."""
        if fault.name == "disconnect-before-first-byte":
            await exchange.abort()
            return False
        if fault.name == "stall":
            if not await exchange.watch.sleep(self._stall(fault)):
                await exchange.abort()
                return False
            return True
        status = fault.error_status
        if status is None:
            return True
        headers: dict[str, str] = {}
        if fault.name == "429-retry-after":
            headers = retry_after_headers(1.0 if fault.retry_after is None else fault.retry_after)
        if fault.name == "envelope-openai":
            body, kind = _wire.openai_error(status), _JSON
        elif fault.name == "envelope-fastapi":
            detail = [
                {
                    "type": "value_error",
                    "loc": ["body", "messages"],
                    "msg": "Value error, emulated validation failure",
                    "input": None,
                }
            ]
            body, kind = _wire.fastapi_error(detail), _JSON
        elif status in (502, 504):
            body, kind = _wire.gateway_html(status), "text/html; charset=utf-8"
        else:
            body, kind = _wire.parallel_error(status, ref_id), _JSON
        await exchange.respond(status, body, kind, headers)
        return False

    def _stall(self, fault: Fault) -> float:
        return self.stall_seconds if fault.duration is None else fault.duration

    def _authenticate(self, request: Request) -> str | None:
        """The presented key if it is accepted (api_key=None accepts any non-empty key)."""
        presented: list[str] = []
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            presented.append(token.strip())
        if request.headers.get("x-api-key", "").strip():
            presented.append(request.headers["x-api-key"].strip())
        for key in presented:
            if self.api_key is None or key == self.api_key:
                return key
        return None

    # -- success ------------------------------------------------------------------------

    async def _answer(self, exchange: _Exchange, request: ChatRequest, fault: Fault | None) -> None:
        digest = request_digest(request.canonical())
        interaction_id = interaction_id_for(digest)
        prompt = parse_prompt(request.messages)
        questions = (
            *self.interactions.context(request.previous_interaction_id),
            prompt.query,
        )
        self.interactions.remember(interaction_id, questions)
        try:
            answer = self._engine.answer(
                request.model,
                dataclasses.replace(prompt, query=" ".join(questions)),
                request.response_format,
            )
        except (SchemaError, RecursionError) as error:
            # The request model accepts any object as a schema; one that no value can
            # satisfy is reported like the other validation errors.
            fmt = request.response_format
            item = {
                "type": "value_error",
                "loc": ["body", "response_format", "json_schema", "schema"],
                "msg": f"Value error, {error}",
                "input": dict(fmt.schema) if fmt and fmt.schema else None,
            }
            await exchange.respond(422, _wire.fastapi_error([item]))
            return
        reply = _wire.Reply(
            model=request.model,
            content=answer.content,
            basis=answer.basis,
            interaction_id=interaction_id,
            completion_id=f"chatcmpl-{digest[:29]}",
            created=int(time.time()),
            prompt_tokens=_wire.count_prompt_tokens([m.content for m in request.messages]),
        )
        seed = int(digest[:8], 16)
        if request.stream:
            await self._stream(exchange, reply, seed, fault)
        else:
            await self._complete(exchange, reply, seed, fault)

    async def _complete(
        self, exchange: _Exchange, reply: _wire.Reply, seed: int, fault: Fault | None
    ) -> None:
        delay = self.latency.whole_answer(reply.model, seed, len(_wire.pieces(reply.content)))
        if not await exchange.watch.sleep(delay):
            await exchange.abort()
            return
        body = _wire.completion_body(self.profile, reply)
        name = fault.name if fault else None
        if name == "malformed-json":
            await exchange.respond(200, body[: len(body) // 2])
        elif name in ("disconnect-mid-stream", "stall-mid-stream"):
            assert fault is not None
            await exchange.start(200, _JSON, length=len(body))
            await exchange.body(body[: len(body) // 2])
            if name == "disconnect-mid-stream" or not await exchange.watch.sleep(
                self._stall(fault)
            ):
                await exchange.abort()
                return
            await exchange.body(body[len(body) // 2 :], more=False)
        else:
            await exchange.respond(200, body)

    async def _stream(
        self, exchange: _Exchange, reply: _wire.Reply, seed: int, fault: Fault | None
    ) -> None:
        chunks = _wire.stream_chunks(self.profile, reply)
        name = fault.name if fault else None
        strike = _strike_position(fault)
        keepalive = _wire.KEEPALIVE if name == "keepalive-comments" else b""
        # Headers go out at once, as a streaming server sends them; the wait comes after.
        await exchange.start(200, "text/event-stream; charset=utf-8", _SSE_HEADERS)
        pending = bytearray(keepalive)
        for position, chunk in enumerate(chunks):
            delay = (
                self.latency.first_token(reply.model, seed)
                if position == 0
                else self.latency.chunk_interval
            )
            if delay > 0:
                # Flush before waiting, so the client sees every chunk at its own time.
                await _flush(exchange, pending)
                if not await exchange.watch.sleep(delay):
                    await exchange.abort()
                    return
            if position == strike and fault is not None:
                outcome = await self._strike(exchange, fault, pending, chunk, reply)
                if outcome == "stop":
                    return
                if outcome == "skip":
                    continue
            if position > 0:
                pending += keepalive
            pending += _wire.sse_event(chunk)
        if name != "no-done":
            pending += _wire.DONE
        await exchange.body(bytes(pending), more=False)

    async def _strike(
        self,
        exchange: _Exchange,
        fault: Fault,
        pending: bytearray,
        chunk: dict[str, Any],
        reply: _wire.Reply,
    ) -> str:
        """Apply a mid-stream fault at its chunk: "stop", "skip" this chunk, or "go" on."""
        if fault.name == "disconnect-mid-stream":
            await _flush(exchange, pending)
            await exchange.abort()
            return "stop"
        if fault.name == "stall-mid-stream":
            await _flush(exchange, pending)
            if not await exchange.watch.sleep(self._stall(fault)):
                await exchange.abort()
                return "stop"
            return "go"
        if fault.name == "malformed-json":
            event = _wire.sse_event(chunk)
            pending += event[: len(event) // 2].rstrip(b"\n") + b"\n\n"
            return "skip"
        if fault.name == "error-mid-stream":
            error = {"message": "Internal server error: the stream was interrupted"}
            error |= {"type": "server_error", "interaction_id": reply.interaction_id}
            pending += b"data: " + _wire.dumps({"error": error}) + b"\n\n"
            await exchange.body(bytes(pending), more=False)
            return "stop"
        return "go"


class _BodyTooLarge(Exception):
    pass


_UNREAD = {
    408: "Request timeout: the request was not received in time",
    413: "Payload too large: the request body exceeds the limit",
}


# Faults that change a successful answer rather than replace it.
_SHAPING = frozenset({"disconnect-mid-stream", "stall-mid-stream", "malformed-json"})


def _strike_position(fault: Fault | None) -> int:
    """The chunk before which a mid-stream fault acts (that many chunks went out)."""
    if fault is None or fault.name not in _SHAPING | {"error-mid-stream"}:
        return -1
    default = 2 if fault.name == "disconnect-mid-stream" else 1
    return default if fault.after_chunks is None else fault.after_chunks


async def _flush(exchange: _Exchange, pending: bytearray) -> None:
    if pending:
        await exchange.body(bytes(pending))
        pending.clear()
