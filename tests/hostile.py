"""A raw-socket loopback server that misbehaves on purpose, for the hardening tests.

The emulator speaks HTTP through uvicorn, which keeps it honest; the attacks here need
bytes uvicorn would never send: redirects to another origin, headers and bodies
trickled a byte at a time, keep-alive comments forever, gzip bombs, invalid UTF-8,
HTML or JSON where a stream was asked for. Each connection runs a *script*: a function
given the parsed request and the socket.

    with HostileServer(lambda x: x.respond(200, "text/html", b"<html>")) as server:
        ParallelChat(base_url=server.base_url, api_key="k")("q")
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exchange", "HostileServer", "chat_body", "sse_events"]

# Scripts that could run forever stop after this long whatever happens, so a test of a
# missing bound fails (with an answer it should not have got) instead of hanging.
SCRIPT_CAP = 8.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    @property
    def streaming(self) -> bool:
        return bool(self.json.get("stream"))


@dataclass
class Exchange:
    request: Received
    sock: socket.socket
    stopped: threading.Event
    sent: int = 0
    gone: bool = field(default=False)

    def send(self, data: bytes) -> bool:
        """False once the client has hung up."""
        try:
            self.sock.sendall(data)
        except OSError:
            self.gone = True
            return False
        self.sent += len(data)
        return True

    def head(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> bytes:
        lines = [f"HTTP/1.1 {status} X", "connection: close", *(f"{k}: {v}" for k, v in headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def respond(
        self,
        status: int,
        content_type: str | None,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        extra = list(headers)
        if content_type is not None:
            extra.append(("content-type", content_type))
        extra.append(("content-length", str(len(body))))
        self.send(self.head(status, extra) + body)

    def respond_json(self, status: int, value: Any) -> None:
        self.respond(status, "application/json", json.dumps(value).encode())

    def trickle(self, data: bytes, interval: float) -> None:
        """One byte every `interval` seconds, until done or the client leaves."""
        deadline = time.monotonic() + SCRIPT_CAP
        for index in range(len(data)):
            if not self.send(data[index : index + 1]) or self.stopped.is_set():
                return
            if time.monotonic() < deadline:
                time.sleep(interval)

    def idle(self, seconds: float) -> bool:
        """Wait; False if the server is stopping."""
        return not self.stopped.wait(seconds)


Script = Callable[[Exchange], None]


class HostileServer:
    """Runs `script` for every connection on 127.0.0.1; records each request."""

    def __init__(self, script: Script, host: str = "127.0.0.1") -> None:
        self.script = script
        self.requests: list[Received] = []
        self._stopped = threading.Event()
        self._listener = socket.create_server((host, 0))
        self.host = host
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> HostileServer:
        self._accepting.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=SCRIPT_CAP + 2)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            sock.settimeout(SCRIPT_CAP)
            try:
                request = _read_request(sock)
            except OSError:
                return
            if request is None:
                return
            self.requests.append(request)
            self.script(Exchange(request, sock, self._stopped))
            try:
                sock.shutdown(socket.SHUT_WR)
                # Let the client read everything before the close resets the connection.
                sock.settimeout(1.0)
                while sock.recv(65536):
                    pass
            except OSError:
                pass


def _read_request(sock: socket.socket) -> Received | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Received(method, path, headers, body)


# -- answers --------------------------------------------------------------------------


def chat_body(text: str = "Hello.", basis: list[Any] | None = None) -> dict[str, Any]:
    return {
        "id": "",
        "object": "chat.completion",
        "created": 1,
        "model": "",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "basis": basis or [],
    }


def sse_events(
    pieces: Iterable[str],
    *,
    finish_reason: str | None = "stop",
    basis: list[Any] | None = None,
    done: bool = True,
) -> bytes:
    """A chat stream: one chunk per piece, then a finishing chunk and `[DONE]` as asked."""
    out = []
    for piece in pieces:
        chunk = {"object": "chat.completion.chunk", "choices": [{"delta": {"content": piece}}]}
        out.append(f"data: {json.dumps(chunk)}\n\n")
    if finish_reason or basis:
        last: dict[str, Any] = {"choices": [{"delta": {}, "finish_reason": finish_reason}]}
        if basis:
            last["basis"] = basis
        out.append(f"data: {json.dumps(last)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def answer(exchange: Exchange, text: str = "Hello.") -> None:
    """A well-formed answer, streamed or whole as the request asked."""
    if exchange.request.streaming:
        exchange.respond(200, "text/event-stream", sse_events([text[:3], text[3:]]))
    else:
        exchange.respond_json(200, chat_body(text))


def gzip_of_zeros_answer(size: int, *, streaming: bool) -> bytes:
    """A valid answer whose text is `size` spaces-worth of 'a's, gzip-compressed (a bomb:
    a few kB on the wire)."""
    raw = sse_events(["a" * size]) if streaming else json.dumps(chat_body("a" * size)).encode()
    return gzip.compress(raw, compresslevel=9)
