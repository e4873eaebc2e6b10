"""The emulator as an ASGI application (uvicorn serves it; `_server` starts uvicorn).

A request to `POST /chat/completions`, `POST /v1beta/chat/completions` (the Chat API),
`POST /v1/responses` (the Responses API), `POST /v1/search` or `POST /v1/extract` (the
Search and Extract APIs, `_web`) goes through:

1. the fault, if one applies: status faults (429, 5xx, envelopes), `stall` and
   `disconnect-before-first-byte` act here, before authentication, the way a failure in
   front of the service would;
2. authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`; otherwise 401;
3. the per-key rate limit: 429 with Retry-After and retry-after-ms (one window for Chat
   and Responses: Parallel documents no separate limit for the Responses API; Search and
   Extract, whose documented limits differ, are each counted apart);
4. validation: 422 with FastAPI's `{"detail": [...]}`; on the Responses API also the
   documented rules, 400 with their exact messages (`_responses_request`);
5. the model: one of speed, lite, base, core. An unknown model gets **403** in Parallel's
   envelope, `{"type": "error", "error": {"ref_id", "message": "Forbidden: invalid model in
   request", "detail": {...}}}`. Why: the request schema types `model` as a free string, so
   FastAPI cannot reject it with a 422; the research models are Task API processors, and the
   Task API answers an invalid processor with 403 "Forbidden: invalid processor in request"
   in this envelope. The real Chat API's answer is undocumented; this is the likeliest one.
6. the answer: the responder (`EmulatorRequest` -> `EmulatorAnswer`, by default the
   research simulator) answers, the API's wire layer (`_wire` or `_responses_wire`)
   renders, and it goes out after the latency model's wait, as JSON or as SSE, shaped by
   any remaining fault (mid-stream disconnect, malformed JSON, keep-alive comments, ...).

Errors of the Chat API use Parallel's envelope, those of the Responses API OpenAI's
(`{"error": {message, type, param, code}}`), as each API documents.

Other paths get FastAPI's `{"detail": "Not Found"}` (404) and other methods 405.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

from . import _responses_request as _rr
from . import _responses_wire as _rw
from . import _wire
from ._faults import FAULT_HEADER, STREAM_ONLY, Fault, FaultQueue
from ._interactions import (
    Interactions,
    interaction_id_for,
    request_digest,
    response_id_for,
)
from ._latency import LatencyModel, LatencyPreset
from ._log import RequestLog, RequestLogEntry
from ._ratelimit import (
    RATE_LIMIT_MESSAGE,
    RateLimit,
    SlidingWindowLimiter,
    retry_after_headers,
)
from ._responder import (
    EmulatorAnswer,
    EmulatorRequest,
    FieldBasis,
    Responder,
    SchemaError,
    Turn,
    as_answer,
    basis_for,
    default_web_actions,
    spans_for,
)
from ._validation import MODELS, ChatRequest, parse_chat_request
from ._web import WebApi, WebRejected, WebResponder, as_web_answer, parse_web_body, render_web

CHAT_PATHS = frozenset({"/chat/completions", "/v1beta/chat/completions"})
# A request body past this gets 413 unread; the suites send 10 MB prompts.
MAX_BODY_BYTES = 32 * 1024 * 1024
# Headers and body must arrive within this (seconds), or the connection is closed (408).
READ_TIMEOUT = 30.0
RESPONSES_PATH = "/v1/responses"
WEB_PATHS: dict[str, WebApi] = {
    "/v1/search": "search",
    "/v1/extract": "extract",
    # The pre-GA paths existing integrations still call (bodies read by `_web.beta_to_ga`).
    "/v1beta/search": "search",
    "/v1beta/extract": "extract",
}
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
        responder: Responder,
        stall_seconds: float,
        web_responder: WebResponder,
    ) -> None:
        self.api_key = api_key
        self.profile = profile
        self.latency = LatencyModel.of(latency)
        self.stall_seconds = stall_seconds
        self.faults = FaultQueue()
        self.log = RequestLog()
        self.connections = ConnectionRegistry()
        self.interactions = Interactions()
        self.responder = responder
        self.web_responder = web_responder
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
            body = _error_body(
                scope["path"] == RESPONSES_PATH, status, "ref_unread", _UNREAD[status]
            )
            await exchange.respond(status, body, headers={"connection": "close"})
            return
        entry = self.log.record(request.method, scope["path"], headers, raw)
        exchange = _Exchange(self, scope, receive, send, entry)
        try:
            await self._route(exchange, request, raw)
        finally:
            exchange.watch.close()

    def _refuse_unread(self, scope: Scope, request: Request) -> tuple[int, bytes] | None:
        """401 or 413 decided from the headers alone, for a POST to an API path."""
        responses = scope["path"] == RESPONSES_PATH
        known = scope["path"] in CHAT_PATHS or scope["path"] in WEB_PATHS or responses
        if not known or request.method != "POST":
            return None
        if self._authenticate(request) is None:
            return 401, _error_body(responses, 401, "ref_unauthenticated")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return 413, _error_body(responses, 413, "ref_too_large", _UNREAD[413])
        return None

    async def _read_body(self, request: Request) -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise _BodyTooLarge
        return bytes(body)

    async def _route(self, exchange: _Exchange, request: Request, raw: bytes) -> None:
        responses = exchange.scope["path"] == RESPONSES_PATH
        web = WEB_PATHS.get(exchange.scope["path"])
        if exchange.scope["path"] not in CHAT_PATHS and not responses and web is None:
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
            if not await self._early_fault(exchange, fault, ref_id, responses):
                return
            if fault.name not in STREAM_ONLY | _SHAPING | {"failed"}:
                fault = None

        key = self._authenticate(request)
        if key is None:
            await exchange.respond(401, _error_body(responses, 401, ref_id))
            return
        if self._limiter is not None:
            wait = self._limiter.acquire(key if web is None else f"{key}\n{web}")
            if wait is not None:
                body = _error_body(responses, 429, ref_id, RATE_LIMIT_MESSAGE)
                await exchange.respond(429, body, headers=retry_after_headers(wait))
                return
        if responses:
            await self._responses(exchange, raw, fault)
            return
        if web is not None:
            await self._web(exchange, web, raw, ref_id, fault)
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

    async def _early_fault(
        self, exchange: _Exchange, fault: Fault, ref_id: str, responses: bool
    ) -> bool:
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
        if fault.name == "failed" and not responses:
            status = 500  # the Chat API has no failed status: its failures are 5xx
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
        elif fault.name == "envelope-parallel":
            body, kind = _wire.parallel_error(status, ref_id), _JSON
        else:
            body, kind = _error_body(responses, status, ref_id), _JSON
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

    async def _respond(
        self, exchange: _Exchange, request: EmulatorRequest, responses: bool
    ) -> EmulatorAnswer | None:
        """The responder's answer, or None once an error was sent for it."""
        try:
            result = self.responder(request)
            if inspect.isawaitable(result):
                result = await result
            return as_answer(result)
        except (SchemaError, RecursionError) as error:
            # The request models accept any object as a schema; one that no value can
            # satisfy is reported like the other validation errors.
            schema = request.schema
            if responses:
                message = f"Request validation error. text.format.schema: {error}"
                await exchange.respond(400, _wire.openai_error(400, message))
                return None
            item = {
                "type": "value_error",
                "loc": ["body", "response_format", "json_schema", "schema"],
                "msg": f"Value error, {error}",
                "input": dict(schema) if schema else None,
            }
            await exchange.respond(422, _wire.fastapi_error([item]))
            return None
        except Exception as error:  # a scripted responder's bug: say so, in the API's shape
            message = f"Internal server error: the emulator's responder raised {error!r}"
            ref_id = "ref_" + hashlib.sha256(exchange.entry.body).hexdigest()[:24]
            await exchange.respond(500, _error_body(responses, 500, ref_id, message))
            return None

    async def _answer(self, exchange: _Exchange, request: ChatRequest, fault: Fault | None) -> None:
        digest = request_digest(request.canonical())
        interaction_id = interaction_id_for(digest)
        history = self.interactions.context(request.previous_interaction_id)
        neutral = EmulatorRequest(
            api="chat",
            model=request.model,
            messages=request.messages,
            response_format=request.response_format,
            history=history,
            body=exchange.entry.json or {},
        )
        answer = await self._respond(exchange, neutral, False)
        if answer is None:
            return
        self.interactions.remember(interaction_id, (*history, Turn(request.messages, answer.text)))
        reply = _wire.Reply(
            model=request.model,
            content=answer.text,
            # The speed model has no basis, whatever a responder says.
            basis=[] if request.model == "speed" else _basis_json(basis_for(answer)),
            interaction_id=interaction_id,
            completion_id=f"chatcmpl-{digest[:29]}",
            created=int(time.time()),
            prompt_tokens=_wire.count_prompt_tokens([m.content for m in request.messages]),
        )
        if request.stream:
            chunks = _wire.stream_chunks(self.profile, reply)
            error = {"message": "Internal server error: the stream was interrupted"}
            error |= {"type": "server_error", "interaction_id": reply.interaction_id}
            rendered = _Rendered(
                latency_key=reply.model,
                seed=int(digest[:8], 16),
                events=[(b"", _wire.dumps(chunk)) for chunk in chunks],
                trailer=_wire.DONE,
                error_event=lambda _: (b"", _wire.dumps({"error": error})),
            )
            await self._stream(exchange, rendered, fault)
        else:
            pieces = len(_wire.pieces(reply.content))
            rendered = _Rendered(reply.model, int(digest[:8], 16), pieces=pieces)
            await self._complete(
                exchange, _wire.completion_body(self.profile, reply), rendered, fault
            )

    async def _responses(self, exchange: _Exchange, raw: bytes, fault: Fault | None) -> None:
        parsed = _rr.parse_responses_body(raw)
        if isinstance(parsed, list):
            await exchange.respond(422, _wire.fastapi_error(parsed))
            return
        previous = parsed.previous_response_id
        try:
            _rr.check_rules(parsed)
            if previous is not None and not self.interactions.known(previous):
                raise _rr.RequestRejected(f"Interaction context not found: {previous}", 404)
        except _rr.RequestRejected as rejected:
            body = _wire.openai_error(rejected.status, rejected.message)
            await exchange.respond(rejected.status, body)
            return
        digest = request_digest(_rr.canonical(parsed))
        response_id = response_id_for(digest)
        history = self.interactions.context(previous)
        request = _rr.emulator_request(parsed, history, exchange.entry.json or {})
        answer = await self._respond(exchange, request, True)
        if answer is None:
            return
        self.interactions.remember(response_id, (*history, Turn(request.messages, answer.text)))
        reply = _rw.ResponsesReply(
            response_id=response_id,
            created=int(time.time()),
            text=answer.text,
            spans=spans_for(answer),
            actions=default_web_actions(answer, request.question),
            input_tokens=_wire.count_prompt_tokens([m.content for m in request.messages]),
            instructions=parsed.instructions,
            metadata=parsed.metadata,
            previous_response_id=previous,
            tools=parsed.tools or [],
        )
        key = f"parallel-{request.effort or 'medium'}"
        seed = int(digest[:8], 16)
        if parsed.stream:
            events, research = _rw.stream_events(reply)

            def failed(position: int) -> tuple[bytes, bytes]:
                return _rw.frame(_rw.failed_event(reply), position)

            rendered = _Rendered(
                latency_key=key,
                seed=seed,
                events=[_rw.frame(event, n) for n, event in enumerate(events)],
                research_at=research,
                error_event=failed,
            )
            await self._stream(exchange, rendered, fault)
        elif fault is not None and fault.name == "failed":
            await self._complete(exchange, _rw.failed_body(reply), _Rendered(key, seed), None)
        else:
            await self._complete(exchange, _rw.response_body(reply), _Rendered(key, seed), fault)

    async def _web(
        self, exchange: _Exchange, api: WebApi, raw: bytes, ref_id: str, fault: Fault | None
    ) -> None:
        try:
            beta = exchange.scope["path"].startswith("/v1beta/")
            query = parse_web_body(api, raw, beta=beta)
        except WebRejected as rejected:
            body = _wire.parallel_error(rejected.status, ref_id, rejected.message, rejected.detail)
            await exchange.respond(rejected.status, body)
            return
        try:
            result = self.web_responder(query)
            if inspect.isawaitable(result):
                result = await result
            answer = as_web_answer(result)
        except Exception as error:  # a scripted responder's bug: say so, in the API's shape
            message = f"Internal server error: the emulator's web responder raised {error!r}"
            await exchange.respond(500, _wire.parallel_error(500, ref_id, message))
            return
        seed = int(hashlib.sha256(raw).hexdigest()[:8], 16)
        await self._complete(exchange, render_web(query, answer, raw), _Rendered(api, seed), fault)

    async def _complete(
        self, exchange: _Exchange, body: bytes, rendered: _Rendered, fault: Fault | None
    ) -> None:
        delay = self.latency.whole_answer(rendered.latency_key, rendered.seed, rendered.pieces)
        if not await exchange.watch.sleep(delay):
            await exchange.abort()
            return
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

    async def _stream(self, exchange: _Exchange, rendered: _Rendered, fault: Fault | None) -> None:
        name = fault.name if fault else None
        strike = _strike_position(fault, rendered.research_at)
        keepalive = _wire.KEEPALIVE if name == "keepalive-comments" else b""
        # Headers go out at once, as a streaming server sends them; the wait comes after.
        await exchange.start(200, "text/event-stream; charset=utf-8", _SSE_HEADERS)
        pending = bytearray(keepalive)
        for position, event in enumerate(rendered.events):
            if position == rendered.research_at:
                delay = self.latency.first_token(rendered.latency_key, rendered.seed)
            else:
                delay = self.latency.chunk_interval if position > rendered.research_at else 0.0
            if delay > 0:
                # Flush before waiting, so the client sees every chunk at its own time.
                await _flush(exchange, pending)
                if not await exchange.watch.sleep(delay):
                    await exchange.abort()
                    return
            if position == strike and fault is not None:
                outcome = await self._strike(exchange, fault, pending, event, rendered, position)
                if outcome == "stop":
                    return
                if outcome == "skip":
                    continue
            if position > 0:
                pending += keepalive
            pending += _sse(event)
        if name != "no-done":
            pending += rendered.trailer
        await exchange.body(bytes(pending), more=False)

    async def _strike(
        self,
        exchange: _Exchange,
        fault: Fault,
        pending: bytearray,
        event: tuple[bytes, bytes],
        rendered: _Rendered,
        position: int,
    ) -> str:
        """Apply a mid-stream fault at its event: "stop", "skip" this event, or "go" on."""
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
            # Cut inside the data line (an `event:` line alone would just be ignored).
            whole, prefix = _sse(event), len(event[0])
            pending += whole[: prefix + (len(whole) - prefix) // 2].rstrip(b"\n") + b"\n\n"
            return "skip"
        if fault.name in ("error-mid-stream", "failed"):
            pending += _sse(rendered.error_event(position))
            await exchange.body(bytes(pending), more=False)
            return "stop"
        return "go"


class _BodyTooLarge(Exception):
    pass


_UNREAD = {
    408: "Request timeout: the request was not received in time",
    413: "Payload too large: the request body exceeds the limit",
}


@dataclass
class _Rendered:
    """An answer in one API's wire shape, with what its timing and faults need."""

    latency_key: str
    """The `LatencyModel` key: the Chat model, or `parallel-<effort>`."""
    seed: int
    pieces: int = 1
    """Stream pieces a non-streaming answer is timed as."""
    events: list[tuple[bytes, bytes]] = field(default_factory=list)
    research_at: int = 0
    """The first event that waits for the research (time to first token)."""
    trailer: bytes = b""
    error_event: Callable[[int], tuple[bytes, bytes]] = lambda _: (b"", b"{}")


def _sse(event: tuple[bytes, bytes]) -> bytes:
    prefix, data = event
    return prefix + b"data: " + data + b"\n\n"


def _basis_json(basis: tuple[FieldBasis, ...]) -> list[dict[str, Any]]:
    return [
        {
            "field": entry.field,
            "citations": [
                {"url": c.url, "title": c.title, "excerpts": list(c.excerpts)}
                for c in entry.citations
            ],
            "reasoning": entry.reasoning if entry.reasoning is not None else "",
            "confidence": entry.confidence,
        }
        for entry in basis
    ]


def _error_body(responses: bool, status: int, ref_id: str, message: str | None = None) -> bytes:
    """The API's own error envelope: OpenAI's for Responses, Parallel's for Chat."""
    if responses:
        return _wire.openai_error(status, message or _wire.PARALLEL_MESSAGES.get(status))
    return _wire.parallel_error(status, ref_id, message)


# Faults that change a successful answer rather than replace it.
_SHAPING = frozenset({"disconnect-mid-stream", "stall-mid-stream", "malformed-json"})


def _strike_position(fault: Fault | None, research_at: int) -> int:
    """The event before which a mid-stream fault acts (that many events went out)."""
    if fault is None or fault.name not in _SHAPING | {"error-mid-stream", "failed"}:
        return -1
    if fault.name == "failed":
        return research_at  # the research failed: no text, a terminal response.failed
    default = 2 if fault.name == "disconnect-mid-stream" else 1
    return default if fault.after_chunks is None else fault.after_chunks


async def _flush(exchange: _Exchange, pending: bytearray) -> None:
    if pending:
        await exchange.body(bytes(pending))
        pending.clear()
