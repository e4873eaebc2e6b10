"""Run many requests: the one engine behind `map`, `amap` and `parallel-adapters batch`.

Sync and async run the same algorithm, so they behave the same: `concurrency` workers
take the next item in input order, and a worker checks whether the batch has stopped
before it takes one. Stopping (the first failure when failing fast, a key the server
refuses, Ctrl-C) therefore never cancels a request already sent: its answer is paid
for, so it is waited for and kept. Items never sent stay None in the results.

With a journal, every finished item is written (durably) as it arrives, ids already
answered there are skipped, and a 429 that outlived the transport's own retries puts
the item back after a pause that every worker honours: a 429 storm slows the batch down
instead of failing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from ._core import (
    AuthenticationError,
    Completion,
    InputError,
    MissingAPIKeyError,
    OutputParseError,
    ParallelClient,
    PaymentRequiredError,
    RateLimitError,
    RateLimitStoreError,
)
from ._core._config import BATCH_RATE_LIMIT_ROUNDS
from ._core._request import ChatRequest
from ._core._sending import Sending, WaitInterrupted, current_sending
from ._journal import (
    Journal,
    answer_record,
    completion_from_record,
    error_record,
    fingerprint,
    id_key,
    incomplete_record,
)

__all__ = ["BatchItem", "BatchRunner", "Progress", "halt_message"]

StopReason = Literal["failure", "fatal", "interrupted", "halted"]
# Errors every later request would get too: continuing would only multiply them.
FATAL_ERRORS = (AuthenticationError, PaymentRequiredError, MissingAPIKeyError)


def halt_message(cause: BaseException, max_retry_after: float) -> str:
    """Why a batch stopped sending, for a person: the wait a server asked for, the store
    or the file that failed."""
    if isinstance(cause, RateLimitError):
        wait = cause.retry_after
        shown = f"{wait:,.0f}s" if wait is not None and math.isfinite(wait) else "an unbounded time"
        return (
            f"the server asked to wait {shown} (Retry-After), more than max_retry_after "
            f"({max_retry_after:g}s): stopped sending; resume once that wait is over"
        )
    if isinstance(cause, RateLimitStoreError):
        return f"stopped sending: {cause.message}"
    return f"the journal cannot be written: {cause}"


@dataclass(frozen=True)
class BatchItem:
    id: str | int
    request: ChatRequest
    line: int | None = None
    """The input file's line number, for messages (CLI only)."""


class Progress:
    """A tqdm bar (rate and ETA) when tqdm is installed; else, if `fallback` is given, a
    plain line there every few seconds; else nothing."""

    def __init__(
        self,
        total: int,
        *,
        enabled: bool,
        initial: int = 0,
        fallback: TextIO | None = None,
        required: bool = False,
    ) -> None:
        self._bar: Any = None
        self._fallback: TextIO | None = None
        self._total, self._done, self._initial = total, initial, initial
        self._started = time.monotonic()
        self._last_line = 0.0
        self._lock = threading.Lock()
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            if required:
                raise ImportError(
                    "progress=True needs tqdm: pip install 'parallel-adapters[progress]'"
                ) from exc
            self._fallback = fallback
            return
        self._bar = tqdm(total=total, initial=initial, unit="call", smoothing=0.05)

    def step(self) -> None:
        with self._lock:
            self._done += 1
            if self._bar is not None:
                self._bar.update(1)
            elif self._fallback is not None:
                now = time.monotonic()
                if now - self._last_line >= 2.0 or self._done == self._total:
                    self._last_line = now
                    self._fallback.write(self._line(now) + "\n")
                    self._fallback.flush()

    def _line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = (self._done - self._initial) / elapsed
        left = self._total - self._done
        eta = f"{left / rate:,.0f}s" if rate > 0 else "?"
        return f"{self._done:,}/{self._total:,} done, {rate:,.1f}/s, ETA {eta}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class BatchRunner:
    """One run over `items` with `client`; `run()` or `await arun()`, then read the results.

    `fail_fast`: the first failure stops the batch (what has not started is not sent);
    otherwise every item is tried and failures are kept in their slots. A key the server
    refuses (401, 402) or a missing key stops it either way when there is a journal.
    """

    def __init__(
        self,
        client: ParallelClient,
        items: Sequence[BatchItem],
        *,
        concurrency: int,
        journal: Journal | None = None,
        fail_fast: bool = False,
        progress: Progress | None = None,
        rate_limit_rounds: int | None = None,
        reask_changed: bool = False,
    ) -> None:
        self.client = client
        self.items = list(items)
        self.concurrency = concurrency
        self.journal = journal
        self.fail_fast = fail_fast
        self.progress = progress
        if rate_limit_rounds is None:
            rate_limit_rounds = BATCH_RATE_LIMIT_ROUNDS if journal is not None else 0
        self.rate_limit_rounds = rate_limit_rounds
        self.results: list[Completion | BaseException | None] = [None] * len(self.items)
        self.skipped: list[int] = []
        self.reask_changed = reask_changed
        self.changed: list[int] = []
        """Positions answered in the journal for another question than theirs now (an
        edited input): sent again with `reask_changed`, else left alone (see
        `refuse_changed`)."""
        self.stopped: StopReason | None = None
        self.halted: BaseException | None = None
        """What stopped the batch that is no question's fault: a Retry-After over
        `max_retry_after`, a rate-limit store that failed, a journal that cannot be
        written (`OSError`). Questions it kept from being answered stay unsent (None)."""
        self.unwritten: list[int] = []
        """Positions whose answer arrived but could not be written to the journal."""
        self.sent_now = 0
        self._lock = threading.Lock()
        self._pause_until = 0.0
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending: dict[asyncio.Task[None], Sending] = {}
        self._abandoned = False
        self._writing: set[asyncio.Task[None]] = set()
        self.pending = self._to_send()
        """Input positions still to send (not answered in the journal), in order."""
        self._todo = iter(self.pending)
        self._tasks: list[asyncio.Task[None]] = []

    def _to_send(self) -> list[int]:
        if self.journal is None:
            return list(range(len(self.items)))
        todo = []
        answered = self.journal.state.answered
        for index, item in enumerate(self.items):
            record = answered.get(id_key(item.id))
            if record is not None and record.get("fingerprint", None) not in (
                None,  # written before journals kept fingerprints: trusted
                fingerprint(item.request),
            ):
                self.changed.append(index)
                if self.reask_changed:
                    todo.append(index)
                continue
            if record is None:
                todo.append(index)
            else:
                try:
                    self.results[index] = completion_from_record(record, item.request)
                except ValueError as exc:  # pydantic's ValidationError included
                    raise InputError(
                        f"{self.journal.path}: the answer to id {item.id!r} does not fit this "
                        f"request's response_format ({exc}); use another journal"
                    ) from None
                self.skipped.append(index)
        return todo

    @property
    def to_send(self) -> int:
        return len(self.pending)

    def refuse_changed(self) -> None:
        """`InputError` naming the ids whose question changed, unless told to re-ask."""
        if not self.changed or self.reask_changed:
            return
        ids = [self.items[i].id for i in self.changed]
        shown = f"{ids[:10]}" + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise InputError(
            f"{self.journal.path if self.journal else 'the journal'}: ids {shown} were "
            "answered there for another question (model, effort, messages or "
            "response_format changed); nothing was sent. Pass reask_changed=True to ask "
            "them again (their new answers supersede the old ones), or use another journal"
        )

    # -- shared steps ---------------------------------------------------------------------

    def stop(self, reason: StopReason = "interrupted") -> None:
        """Send nothing more; requests in flight still finish and are kept.

        Ctrl-C and a halt also end every wait at once (a pause after a 429, and on asyncio
        the client's own backoff and rate-limit waits): those requests are not on the
        wire, so nothing paid for is lost."""
        with self._lock:
            if self.stopped is None:
                self.stopped = reason
        if reason in ("interrupted", "halted"):
            self._stopping.set()
            loop = self._loop
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop just closed
                    loop.call_soon_threadsafe(self._cancel_waiting)

    def _halt(self, cause: BaseException) -> None:
        with self._lock:
            if self.halted is None:
                self.halted = cause
        self.stop("halted")

    def _cancel_waiting(self) -> None:
        for task, sending in self._sending.items():
            if not sending.on_wire and task not in self._writing and not task.done():
                task.cancel()

    def _take(self) -> int | None:
        with self._lock:
            if self.stopped is not None:
                return None
            return next(self._todo, None)

    def _finish(self, index: int, result: Completion | BaseException) -> None:
        item = self.items[index]
        if self.journal is not None:
            if isinstance(result, Completion) and result.incomplete:
                # Returned to the caller, but not counted as answered: asked again next run.
                record = incomplete_record(item.id, result)
            elif isinstance(result, Completion):
                try:
                    record = answer_record(item.id, result, item.request)
                except OutputParseError as exc:
                    result, record = exc, error_record(item.id, exc, item.request)
            else:
                record = error_record(item.id, result, item.request)
            try:
                self.journal.write(record)
            except OSError as exc:
                # A full disk fails every later write too: stop sending. The answer stays
                # in the results (map returns it); the journal lost it, so a resume asks
                # again.
                with self._lock:
                    self.unwritten.append(index)
                self._halt(exc)
        self.results[index] = result
        if isinstance(result, BaseException):
            if self.fail_fast:
                self.stop("failure")
            elif self.journal is not None and isinstance(result, FATAL_ERRORS):
                self.stop("fatal")
        if self.progress is not None:
            self.progress.step()

    def _rate_limit_pause(self, error: RateLimitError, rounds: int) -> float | None:
        """Seconds to hold every worker back before this item goes again, or None."""
        if rounds >= self.rate_limit_rounds:
            return None
        config = self.client.config
        delay = error.retry_after
        if delay is not None and delay > config.max_retry_after:
            # "Come back tomorrow" (or never): raised, not slept through. Stop sending;
            # what is in flight finishes and is written.
            self._halt(error)
            return 0.0
        if delay is None:
            delay = min(config.retry_initial_delay * 2.0**rounds, config.retry_max_delay)
            delay *= 1.0 - 0.25 * random.random()
        with self._lock:
            self._pause_until = max(self._pause_until, time.monotonic() + delay)
        return delay

    def _pause_left(self) -> float:
        with self._lock:
            return self._pause_until - time.monotonic()

    # -- threads --------------------------------------------------------------------------

    def _going(self) -> bool:
        """False once the batch stopped for a reason that keeps unsent items unsent."""
        return self.stopped not in ("interrupted", "halted")

    def _send(self, request: ChatRequest) -> Completion | BaseException | None:
        """The answer or the question's failure; None if it was not sent after all."""
        rounds = 0
        while True:
            left = self._pause_left()
            if left > 0:
                self._stopping.wait(left)
            if not self._going():
                return None
            try:
                return self.client.send(request)
            except WaitInterrupted:
                return None  # Ctrl-C or a halt ended a wait before sending
            except RateLimitError as exc:
                if self._rate_limit_pause(exc, rounds) is None:
                    return exc
                rounds += 1
            except RateLimitStoreError as exc:
                # The budget cannot be counted: no question's fault, and none was sent.
                self._halt(exc)
                return None
            except Exception as exc:
                return exc

    def _worker(self) -> None:
        # This thread's own context: the transport's waits end when the batch stops.
        current_sending.set(Sending(self._stopping))
        while (index := self._take()) is not None:
            with self._lock:
                self.sent_now += 1
            result = self._send(self.items[index].request)
            if result is not None:
                self._finish(index, result)

    def run(self) -> None:
        """Run on `concurrency` threads. Ctrl-C stops sending, waits for the requests in
        flight (a second Ctrl-C stops waiting), then re-raises `KeyboardInterrupt`."""
        workers = min(self.concurrency, self.to_send)
        if workers == 0:
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._worker) for _ in range(workers)]
            try:
                wait(futures)
            except KeyboardInterrupt:
                self.stop("interrupted")
                wait(futures)
                raise
        for future in futures:
            future.result()

    # -- asyncio --------------------------------------------------------------------------

    async def _asend(self, request: ChatRequest) -> Completion | BaseException | None:
        rounds = 0
        while True:
            left = self._pause_left()
            if left > 0:
                await asyncio.sleep(left)
            if not self._going():
                return None
            try:
                return await self.client.asend(request)
            except RateLimitError as exc:
                if self._rate_limit_pause(exc, rounds) is None:
                    return exc
                rounds += 1
            except RateLimitStoreError as exc:
                self._halt(exc)
                return None
            except Exception as exc:
                return exc

    async def _aworker(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        sending = self._sending[task] = Sending()
        current_sending.set(sending)  # this task's own context: the transport marks it
        while (index := self._take()) is not None:
            with self._lock:
                self.sent_now += 1
            sending.on_wire = False
            try:
                result = await self._asend(self.items[index].request)
            except asyncio.CancelledError:
                if self._abandoned or sending.on_wire:
                    raise
                continue  # a wait ended by Ctrl-C or a halt: not sent; the loop ends
            if result is None:
                continue
            self._writing.add(task)
            try:
                if self.journal is None:
                    self._finish(index, result)
                else:
                    # An fsync blocks for milliseconds: off the loop, so the other requests
                    # in flight keep being read meanwhile, and concurrent writes share
                    # fsyncs.
                    await asyncio.to_thread(self._finish, index, result)
            finally:
                self._writing.discard(task)

    async def arun(self) -> None:
        """Run with `concurrency` tasks. `stop()` lets the requests in flight finish;
        `cancel()` abandons them. Cancelling the caller stops sending and, with a journal,
        waits for the requests in flight to be written (a second cancellation abandons
        them); without one it abandons them at once, since nothing could keep them."""
        workers = min(self.concurrency, self.to_send)
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.ensure_future(self._aworker()) for _ in range(workers)]
        if not self._tasks:
            return
        try:
            await asyncio.wait(self._tasks)
        except asyncio.CancelledError:
            self.stop("interrupted")
            if self.journal is not None:
                # Like Ctrl-C in `run()`: the answers in flight are paid for, so wait for
                # them to reach the journal; a second cancellation abandons them.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait(self._tasks)
            self._abandoned = True
            for task in self._tasks:
                task.cancel()
            raise
        for task in self._tasks:
            if not task.cancelled():
                task.result()

    def cancel(self) -> None:
        """Stop, and abandon the requests in flight (their answers are lost)."""
        self._abandoned = True
        self.stop("interrupted")
        for task in self._tasks:
            task.cancel()

    # -- outcome --------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return sum(1 for task in self._tasks if not task.done())

    def failed(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if isinstance(r, BaseException)]

    def not_started(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]
