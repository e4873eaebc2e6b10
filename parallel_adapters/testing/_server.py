"""Serving the emulator with uvicorn: in a background thread (`ParallelEmulator`) or in the
foreground (`serve`).

uvicorn with httptools, no access log and no per-response `date`/`server` headers, so the
server is never the bottleneck of a client benchmark. Connections are tracked through a
protocol subclass because the disconnect faults must be able to reset a connection, which
ASGI itself cannot express.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from ._app import ConnectionRegistry, EmulatorApp

try:  # httptools is part of the `emulator` extra; h11 (a uvicorn dependency) is the fallback
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol
except ImportError:  # pragma: no cover - only without httptools
    from uvicorn.protocols.http.h11_impl import (  # type: ignore[assignment]
        H11Protocol as _BaseProtocol,
    )

_STARTUP_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0


class _EmulatorConfig(uvicorn.Config):
    """uvicorn's config plus the registry its protocol instances report connections to."""

    connections: ConnectionRegistry
    emulator: EmulatorApp


class _TrackingProtocol(_BaseProtocol):
    """Tracks connections, and closes one whose request headers do not arrive in time.

    uvicorn waits for headers forever (its keep-alive timeout is reset by every byte),
    so a client trickling a byte at a time, or never finishing, held a connection open
    for good. The body has its own limit in the app (408).
    """

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _registry(self.config).add(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        _registry(self.config).discard(self.transport)
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_header_timer()  # the next request's headers get the same time

    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        app = getattr(self.config, "emulator", None)
        if app is not None:
            self._header_timer = self.loop.call_later(app.read_timeout, self._headers_overdue)

    def _headers_overdue(self) -> None:
        cycle = self.cycle
        waiting = cycle is None or cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()


def _registry(config: uvicorn.Config) -> ConnectionRegistry:
    return config.connections if isinstance(config, _EmulatorConfig) else ConnectionRegistry()


def build_config(app: EmulatorApp, host: str, port: int, *, foreground: bool) -> uvicorn.Config:
    config = _EmulatorConfig(
        app,
        host=host,
        port=port,
        http=_TrackingProtocol,
        lifespan="on",
        access_log=False,
        log_level="info" if foreground else "warning",
        # In a thread, leave the process's logging configuration alone.
        log_config=LOGGING_CONFIG if foreground else None,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        # Stalled or slow answers are cut off by the app at shutdown; this is the backstop.
        timeout_graceful_shutdown=1,
    )
    config.connections = app.connections
    config.emulator = app
    return config


class ServerThread:
    """uvicorn on its own event loop in a daemon thread, bound before it starts."""

    def __init__(self, app: EmulatorApp, host: str, port: int) -> None:
        self._app = app
        self._socket = bind(host, port)  # port 0: the OS picks a free port, known right away
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self._server = uvicorn.Server(build_config(app, host, self.port, foreground=False))
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"parallel-emulator-{self.port}", daemon=True
        )

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # reported to the starting thread
            self._error = error

    def start(self) -> None:
        self._thread.start()
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the emulator failed to start: {self._error!r}")
            if waited > _STARTUP_TIMEOUT:
                self.stop()
                raise RuntimeError("the emulator did not start within 10 seconds")
            self._thread.join(0.005)
            waited += 0.005

    def stop(self) -> None:
        self._app.begin_shutdown()
        self._server.should_exit = True
        self._thread.join(_STOP_TIMEOUT)
        if self._thread.is_alive():  # pragma: no cover - a stuck app; do not hang the caller
            self._server.force_exit = True
            self._thread.join(_STOP_TIMEOUT)
        self._socket.close()


def run_foreground(app: EmulatorApp, host: str, port: int) -> None:
    """Block serving until Ctrl-C (uvicorn handles the signals in the main thread).

    Raises OSError if the address is taken (uvicorn would log it and exit the process).
    """
    sock = bind(host, port)
    uvicorn.Server(build_config(app, host, port, foreground=True)).run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    """A bound TCP socket; uvicorn listens on it.

    The protocol must be named: asyncio sets TCP_NODELAY only on accepted sockets whose
    `proto` is IPPROTO_TCP, and with protocol 0 Nagle's algorithm and delayed ACKs held
    every answer ~40 ms.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
