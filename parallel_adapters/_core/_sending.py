"""Which asyncio task has a request on the wire, for callers that cancel the others.

A batch stopped by Ctrl-C must not wait out a `Retry-After`, a backoff or a rate-limit
slot: those requests are not on the wire, so cancelling them loses nothing. A request on
the wire is another matter: its answer may be billed, so it is waited for. The transport
marks the moment an attempt goes out (and the moment it failed) on the `Sending` of the
current context; the batch runner gives each of its tasks one and reads it.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["Sending", "current_sending"]


class Sending:
    """`on_wire` is True from the moment an attempt is sent until it fails (an answer
    leaves it True: it is paid for)."""

    __slots__ = ("on_wire",)

    def __init__(self) -> None:
        self.on_wire = False


current_sending: ContextVar[Sending | None] = ContextVar("parallel_adapters_sending", default=None)
