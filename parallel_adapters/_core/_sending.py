"""Which request is on the wire, for a caller that stops the others' waits.

A batch stopped by Ctrl-C must not wait out a `Retry-After`, a backoff or a rate-limit
slot: those requests are not on the wire, so ending their waits loses nothing. A request
on the wire is another matter: its answer may be billed, so it is waited for. The batch
runner gives each of its tasks or threads a `Sending` through `current_sending`; the
transport marks on it the moment an attempt goes out (and the moment it failed), and
waits on its `stopping` event instead of sleeping, raising `WaitInterrupted` when it is
set.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar

__all__ = ["Sending", "WaitInterrupted", "current_sending", "pause"]


class WaitInterrupted(Exception):
    """A wait before sending was ended by the batch stopping: nothing was sent."""


class Sending:
    """`on_wire` is True from the moment an attempt is sent until it fails (an answer
    leaves it True: it is paid for). `stopping` ends the waits of a thread."""

    __slots__ = ("on_wire", "stopping")

    def __init__(self, stopping: threading.Event | None = None) -> None:
        self.on_wire = False
        self.stopping = stopping


current_sending: ContextVar[Sending | None] = ContextVar("parallel_adapters_sending", default=None)


def pause(seconds: float) -> None:
    """`time.sleep(seconds)`, ended by the current batch stopping (`WaitInterrupted`)."""
    sending = current_sending.get()
    stopping = sending.stopping if sending is not None else None
    if stopping is None:
        time.sleep(seconds)
        return
    if stopping.wait(seconds) or stopping.is_set():
        raise WaitInterrupted
