"""Bounds on what a server can make the client do: a transport wrapped around the SDK's.

The SDK trusts its server: it follows redirects (with the key, to any host), bounds
each read but not a whole answer, and decodes a gzip body of any size. Every request
of the core goes through `GuardedTransport`, which adds, for whichever API path:

- no redirects: a 3xx raises `RedirectError` naming its `Location`, nothing is re-sent;
- a deadline per attempt (the request's read timeout, from send to last byte): every
  socket read waits at most the time left, and a body that keeps trickling past it is
  cut off, so neither slow headers, trickled bytes nor keep-alive comments outlive it;
- a cap on the decoded body (`max_response_bytes`) and on one line (`max_line_bytes`),
  decoding gzip/deflate here, in bounded steps, so a compression bomb never expands.

The deadline reaches the socket through a wrapped network backend of the HTTP
library's pool: a context variable holds the deadline while this request's own reads
run, so interleaved requests on one thread each keep their own.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._errors import APITimeoutError, RedirectError, ResponseTooLargeError, ServerError
from ._http import http_library

__all__ = ["ACCEPT_ENCODING", "AsyncGuardedTransport", "GuardedTransport", "Limits"]

# Only encodings decoded here in bounded steps are asked for; br/zstd would need
# optional packages and their own bomb guards.
ACCEPT_ENCODING = "gzip, deflate"
_MIN_WAIT = 0.001  # a read past the deadline still polls once, then times out

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "parallel_adapters_deadline", default=None
)


class Limits:
    """What one response may cost: bytes decoded, bytes on one line."""

    def __init__(self, max_response_bytes: int, max_line_bytes: int) -> None:
        self.max_response_bytes = max_response_bytes
        self.max_line_bytes = max_line_bytes


def _bounded(timeout: float | None) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), _MIN_WAIT)
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _within(deadline: float | None) -> Iterator[None]:
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


# -- the socket side: every read and write waits at most the time left -----------------


class _Stream:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))  # type: ignore[no-any-return]

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _AsyncStream:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, _bounded(timeout))  # type: ignore[no-any-return]

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _bounded(timeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> _AsyncStream:
        return _AsyncStream(await self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(self._inner.connect_tcp(*args, **kwargs))

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _Stream:
        return _Stream(self._inner.connect_unix_socket(*args, **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncBackend:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> _AsyncStream:
        return _AsyncStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> _AsyncStream:
        return _AsyncStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guard_sockets(transport: Any, backend: type[_Backend] | type[_AsyncBackend]) -> bool:
    """Wrap the network backend of an httpx(2) transport's pool; False if it has none.

    The pool's backend is not public API in either library; without it the deadline
    still holds between body chunks, only a stalled single read may outlast it by up
    to the read timeout. The trickled-headers test in tests/core/test_hostile.py fails
    if the attribute moves.
    """
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if pool is None or inner is None:
        return False
    if not isinstance(inner, (_Backend, _AsyncBackend)):
        pool._network_backend = backend(inner)
    return True


# -- the body side: redirects, decoding, size caps, the deadline between chunks -------


class _Decoder:
    """gzip/deflate decoded in steps of at most the bytes still allowed, lines measured."""

    def __init__(self, encoding: str, limits: Limits, deadline: float | None) -> None:
        self._limits = limits
        self._deadline = deadline
        self._total = 0
        self._line = 0
        self._zlib: Any = None
        if encoding == "gzip":
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise APITimeoutError("the answer did not finish before the timeout")
        if self._zlib is None:
            yield self._count(data)
            return
        source = data
        while source:
            # At most one byte past the cap per step: a bomb never expands in memory.
            try:
                out = self._zlib.decompress(source, self._room())
            except zlib.error as exc:
                raise _garbled(f"a compressed body is corrupt: {exc}") from None
            if out:
                yield self._count(out)
            source = self._zlib.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        if self._zlib is not None:
            out = self._zlib.decompress(b"", self._room())
            if out:
                yield self._count(out)

    def _room(self) -> int:
        return max(self._limits.max_response_bytes - self._total + 1, 1)

    def _count(self, data: bytes) -> bytes:
        self._total += len(data)
        if self._total > self._limits.max_response_bytes:
            raise ResponseTooLargeError(
                f"the answer exceeded max_response_bytes={self._limits.max_response_bytes}"
            )
        end = max(data.rfind(b"\n"), data.rfind(b"\r"))
        self._line = len(data) - end - 1 if end >= 0 else self._line + len(data)
        if self._line > self._limits.max_line_bytes:
            raise ResponseTooLargeError(
                f"a line of the answer exceeded max_line_bytes={self._limits.max_line_bytes}"
            )
        return data


def _garbled(message: str) -> ServerError:
    return ServerError(message, status_code=None, retryable=False)


def _check_redirect(response: Any) -> None:
    if 300 <= response.status_code < 400:
        location = response.headers.get("location") or "(no Location header)"
        raise RedirectError(
            f"the server redirected to {location}; redirects are not followed, so neither "
            "the key nor the prompt goes elsewhere (set base_url to the final address)",
            status_code=response.status_code,
            location=location,
        )


def _encoding(response: Any) -> str:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", "deflate", ""):
        raise _garbled(f"the server used content-encoding {encoding!r}, which was not asked for")
    return encoding or "identity"


def _attempt_deadline(request: Any) -> float | None:
    timeout = (request.extensions.get("timeout") or {}).get("read")
    return None if timeout is None else time.monotonic() + float(timeout)


def _plain_headers(response: Any, encoding: str) -> Any:
    if encoding == "identity":
        return response.headers
    return [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length")
    ]


class _GuardedBody(http_library.SyncByteStream):  # type: ignore[misc]
    def __init__(self, inner: Any, decoder: _Decoder, deadline: float | None) -> None:
        self._inner = inner
        self._decoder = decoder
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            with _within(self._deadline):
                chunk = next(chunks, None)
            if chunk is None:
                break
            yield from self._decoder.feed(chunk)
        yield from self._decoder.flush()

    def close(self) -> None:
        self._inner.close()


class _AsyncGuardedBody(http_library.AsyncByteStream):  # type: ignore[misc]
    def __init__(self, inner: Any, decoder: _Decoder, deadline: float | None) -> None:
        self._inner = inner
        self._decoder = decoder
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            with _within(self._deadline):
                try:
                    chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    break
            for piece in self._decoder.feed(chunk):
                yield piece
        for piece in self._decoder.flush():
            yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(http_library.BaseTransport):  # type: ignore[misc]
    def __init__(self, inner: Any, limits: Limits) -> None:
        self._inner = inner
        self._limits = limits
        guard_sockets(inner, _Backend)

    def handle_request(self, request: Any) -> Any:
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        deadline = _attempt_deadline(request)
        with _within(deadline):
            response = self._inner.handle_request(request)
        try:
            _check_redirect(response)
            encoding = _encoding(response)
        except BaseException:
            response.close()
            raise
        body = _GuardedBody(response.stream, _Decoder(encoding, self._limits, deadline), deadline)
        return http_library.Response(
            response.status_code,
            headers=_plain_headers(response, encoding),
            stream=body,
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


class AsyncGuardedTransport(http_library.AsyncBaseTransport):  # type: ignore[misc]
    def __init__(self, inner: Any, limits: Limits) -> None:
        self._inner = inner
        self._limits = limits
        guard_sockets(inner, _AsyncBackend)

    async def handle_async_request(self, request: Any) -> Any:
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        deadline = _attempt_deadline(request)
        with _within(deadline):
            response = await self._inner.handle_async_request(request)
        try:
            _check_redirect(response)
            encoding = _encoding(response)
        except BaseException:
            await response.aclose()
            raise
        body = _AsyncGuardedBody(
            response.stream, _Decoder(encoding, self._limits, deadline), deadline
        )
        return http_library.Response(
            response.status_code,
            headers=_plain_headers(response, encoding),
            stream=body,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def guard_client(client: Any, limits: Limits, *, is_async: bool) -> Any:
    """Wrap every transport of an httpx(2) client: its default one and any proxy mounts.

    Wrapping after construction keeps the library's own choice of transport (proxies
    from the environment included), which passing `transport=` would switch off.
    """
    wrapper: Any = AsyncGuardedTransport if is_async else GuardedTransport
    client._transport = wrapper(client._transport, limits)
    mounts = getattr(client, "_mounts", {})
    for pattern, transport in list(mounts.items()):
        if transport is not None:
            mounts[pattern] = wrapper(transport, limits)
    return client
