"""A diagnostic: how much of a call is the client's and how much the server's.

Hooks on `socket.socket`'s send and receive methods record timestamps for every
contender alike (DSPy's engines run in worker threads; the hooks see those too). Only
used in a separate pass after the timed one, since the hooks cost a little themselves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import perf_counter
from typing import Any

_SEND = ("send", "sendall")
_RECV = ("recv", "recv_into")


class SocketLog:
    def __init__(self) -> None:
        self.sends: list[float] = []
        self.receives: list[float] = []
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.sends.clear()
            self.receives.clear()

    def _wrap(self, method: Callable[..., Any], times: list[float], after: bool) -> Any:
        def wrapped(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
            if not after:
                times.append(perf_counter())
            result = method(sock, *args, **kwargs)
            if after:
                times.append(perf_counter())
            return result

        return wrapped

    @contextmanager
    def installed(self) -> Iterator[SocketLog]:
        originals = {name: getattr(socket.socket, name) for name in (*_SEND, *_RECV)}
        try:
            for name in _SEND:
                setattr(socket.socket, name, self._wrap(originals[name], self.sends, False))
            for name in _RECV:
                setattr(socket.socket, name, self._wrap(originals[name], self.receives, True))
            yield self
        finally:
            for name, method in originals.items():
                setattr(socket.socket, name, method)

    def split(self, start: float, first_delta: float) -> tuple[float, float, float] | None:
        """Milliseconds (from the call to the request's first byte sent, from then to the
        first receive: the server's answer headers, from the last receive before the first
        delta to the delta reaching the caller)."""
        sends = [t for t in self.sends if t >= start]
        receives = [t for t in self.receives if start <= t <= first_delta]
        if not sends or not receives:
            return None
        sent = sends[0]
        headers = next((t for t in receives if t > sent), receives[-1])
        return (
            (sent - start) * 1000,
            (headers - sent) * 1000,
            (first_delta - receives[-1]) * 1000,
        )

    def server_ms(self, start: float) -> float | None:
        """For a non-streaming call: ms from the request's last byte sent to the first
        receive after it, the server's time (and the loopback's)."""
        sends = [t for t in self.sends if t >= start]
        if not sends:
            return None
        answer = next((t for t in self.receives if t > sends[-1]), None)
        return None if answer is None else (answer - sends[-1]) * 1000
