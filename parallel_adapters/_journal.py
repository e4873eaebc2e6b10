"""The batch journal: one JSON line per finished item, durable as soon as it is written.

Each line is appended with a single write, then flushed and fsynced, so a crash or a
SIGKILL loses at most the answers still in flight. The only damage a crash can do is a
torn last line; it is cut off when the journal is opened again (an answer that was cut
off was never counted as written, and is asked again). Reading it back gives, per id,
its answer (skip it) or its last failure (retry it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._core import (
    Citation,
    Completion,
    FieldBasis,
    InputError,
    OutputParseError,
    ParallelError,
)
from ._core._budget import billed_after
from ._core._prices import call_price
from ._core._request import ChatRequest

try:  # POSIX: keep two batches from appending to one journal at once.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ItemId",
    "Journal",
    "answer_record",
    "completion_from_record",
    "error_record",
    "fingerprint",
    "id_key",
    "incomplete_record",
]

logger = logging.getLogger("parallel_adapters")

ItemId = str | int


def id_key(item_id: ItemId) -> str:
    """How ids compare: as JSON, so 1 and "1" are different ids."""
    return json.dumps(item_id)


def check_id(item_id: Any, where: str) -> ItemId:
    if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
        raise InputError(f"{where}: id must be a string or an integer, got {item_id!r}")
    if isinstance(item_id, str) and not item_id:
        raise InputError(f"{where}: id must not be empty")
    return item_id


def fingerprint(request: ChatRequest) -> str:
    """What was asked, in 32 hex digits: model, effort, messages and response format.

    Kept on every journal line, so a resume can tell an id whose question changed (an
    edited input file, shifted line numbers) from one that was answered as asked. Only
    what the question is goes in: not the transport, nor fields a newer kit might add.
    """
    body = request.body
    if request.api == "responses":
        messages: Any = [body.get("instructions"), body.get("input")]
        response_format = body.get("text")
    else:
        messages, response_format = body.get("messages"), body.get("response_format")
    asked = {
        "model": request.model,
        "effort": request.effort,
        "messages": messages,
        "response_format": response_format,
    }
    canonical = json.dumps(
        asked, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _wants_json(request: ChatRequest) -> bool:
    response_format = request.body.get("response_format")
    return isinstance(response_format, Mapping) and response_format.get("type") != "text"


def answer_record(item_id: ItemId, completion: Completion, request: ChatRequest) -> dict[str, Any]:
    """The journal line of an answer; `OutputParseError` if a JSON answer is not JSON."""
    record: dict[str, Any] = {
        "id": item_id,
        "text": completion.text,
        "citations": [c.model_dump(mode="json") for c in completion.citations],
        "basis": [b.model_dump(mode="json") for b in completion.basis],
        "interaction_id": completion.interaction_id,
        "model": completion.model,
        "cost": completion.cost,
        "fingerprint": fingerprint(request),
    }
    if _wants_json(request):
        if completion.parsed is not None:
            record["parsed"] = completion.parsed.model_dump(mode="json")
        else:
            record["parsed"] = completion.json()
    return record


def error_record(
    item_id: ItemId, error: BaseException, request: ChatRequest | None = None
) -> dict[str, Any]:
    """The journal line of a failure: its type, message and HTTP status, and its `cost`:
    0 when it was surely not billed, the request's price when it may have been."""
    message = error.message if isinstance(error, ParallelError) else str(error)
    record: dict[str, Any] = {
        "id": item_id,
        "error": {
            "type": type(error).__name__,
            "message": message,
            "status_code": getattr(error, "status_code", None),
        },
    }
    record["cost"] = (
        call_price(request.api, request.model, request.effort)
        if request is not None and billed_after(error)
        else 0.0
    )
    if request is not None:
        record["fingerprint"] = fingerprint(request)
    if isinstance(error, OutputParseError):
        # The answer was received (and billed); keep it even though it did not parse.
        record["text"] = error.text
    return record


def incomplete_record(item_id: ItemId, completion: Completion) -> dict[str, Any]:
    """The journal line of an answer that stopped short (`Completion.incomplete`): a
    failure, so the next run asks it again, keeping the text that did arrive."""
    reason = completion.incomplete_reason or "cut short"
    return {
        "id": item_id,
        "error": {
            "type": "IncompleteAnswer",
            "message": f"the answer is incomplete ({reason}); it is asked again next run",
            "status_code": None,
        },
        "text": completion.text,
    }


def completion_from_record(record: Mapping[str, Any], request: ChatRequest) -> Completion:
    """The `Completion` an answer line stands for (`raw` is the line itself)."""
    basis = [FieldBasis.model_validate(b) for b in record.get("basis") or []]
    citations = [Citation.model_validate(c) for c in record.get("citations") or []]
    parsed = None
    if request.output_model is not None:
        if record.get("parsed") is not None:
            parsed = request.output_model.model_validate(record["parsed"])
        else:
            parsed = request.output_model.model_validate_json(record["text"])
    return Completion(
        text=str(record["text"]),
        model=str(record.get("model") or request.model),
        basis=basis,
        citations=citations,
        interaction_id=record.get("interaction_id"),
        parsed=parsed,
        raw=dict(record),
        cost=record["cost"] if isinstance(record.get("cost"), (int, float)) else None,
    )


def _is_record(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and "id" in value
        and (isinstance(value.get("text"), str) or isinstance(value.get("error"), dict))
    )


@dataclass
class JournalState:
    """What an existing journal holds."""

    answered: dict[str, dict[str, Any]]
    """The answer of each id whose last line is an answer."""
    failed: dict[str, dict[str, Any]]
    """The last failure of each id whose last line is a failure."""
    torn_bytes: int
    """Bytes of a torn last line that were cut off when it was opened (0 if none)."""


class Journal:
    """An append-only JSONL file of answers and failures. Thread-safe; one writer at a time.

    Opening it repairs a torn last line and reads what is there (`state`). `write()` makes
    one line durable before it returns. `close()` drops failure lines that a later line for
    the same id superseded, atomically (a temporary file renamed over the journal).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._appended = self._synced = 0
        self._records: list[dict[str, Any]] = []
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self._lock_file()
            torn = self._repair()
            self._records = self._read()
        except BaseException:
            os.close(self._fd)
            raise
        answered: dict[str, dict[str, Any]] = {}
        failed: dict[str, dict[str, Any]] = {}
        for record in self._records:
            # The last line of an id decides: a later answer is a re-asked question's
            # (`reask_changed`), and a later failure means its re-asking failed.
            key = id_key(record["id"])
            if "error" in record:
                answered.pop(key, None)
                failed[key] = record
            else:
                failed.pop(key, None)
                answered[key] = record
        self.state = JournalState(answered=answered, failed=failed, torn_bytes=torn)
        self._superseded = len(self._records) - len(answered) - len(failed)

    def _lock_file(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{self.path} is in use by another running batch; wait for it to finish"
            ) from None

    def _repair(self) -> int:
        """Cut a torn last line off (a crash between two writes never leaves one)."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return 0
        tail_start = max(0, size - 1)
        if os.pread(self._fd, 1, tail_start) == b"\n":
            return 0
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1
        torn = data[keep:]
        try:
            whole = _is_record(json.loads(torn))
        except ValueError:
            whole = False
        if whole:
            # Only the newline is missing: keep the line, finish it.
            _write_all(self._fd, b"\n")
            os.fsync(self._fd)
            return 0
        os.truncate(self.path, keep)
        os.fsync(self._fd)
        return len(torn)

    def _read(self) -> list[dict[str, Any]]:
        records = []
        with self.path.open("rb") as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if not _is_record(record):
                    raise InputError(
                        f"{self.path}:{number}: not a line this kit wrote (each line is a JSON "
                        "object with an id and a text or an error); fix or move the file"
                    )
                records.append(record)
        return records

    def write(self, record: dict[str, Any]) -> None:
        """Append one line and make it durable (flushed and fsynced) before returning.

        Writers on several threads share fsyncs: a line appended while another thread's
        fsync runs is covered by the next one, so one fsync (~5 ms on a cloud disk) can
        make many answers durable instead of capping the batch at one answer per fsync.
        """
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        key = id_key(record["id"])
        with self._lock:
            _write_all(self._fd, line)
            self._appended += 1
            mine = self._appended
            if "error" in record:
                if key in self.state.failed or key in self.state.answered:
                    self._superseded += 1
                self.state.answered.pop(key, None)
                self.state.failed[key] = record
            else:
                if self.state.failed.pop(key, None) is not None:
                    self._superseded += 1
                if key in self.state.answered:
                    self._superseded += 1
                self.state.answered[key] = record
            self._records.append(record)
        with self._sync_lock:
            if self._synced >= mine:
                return
            with self._lock:
                target = self._appended
            os.fsync(self._fd)
            self._synced = target

    def close(self) -> None:
        """Compact (drop superseded failure lines) if there are any, then release the file."""
        with self._sync_lock, self._lock:
            if self._fd < 0:
                return
            try:
                if self._superseded:
                    self._compact()
            except OSError as exc:
                # A full disk, say: the journal is whole without compaction (a resume
                # reads superseded lines correctly), so this is not worth failing over.
                logger.warning("%s: left uncompacted: %s", self.path, exc)
                with contextlib.suppress(OSError):
                    self.path.with_name(self.path.name + ".compact").unlink()
            finally:
                os.close(self._fd)
                self._fd = -1

    def _compact(self) -> None:
        # Keep each id's last line, and its last answer if failures came after it (the
        # answer to a question since changed and re-asked without success: paid for).
        latest: dict[str, int] = {}
        latest_answer: dict[str, int] = {}
        for index, record in enumerate(self._records):
            latest[id_key(record["id"])] = index
            if "error" not in record:
                latest_answer[id_key(record["id"])] = index
        keep = [
            record
            for index, record in enumerate(self._records)
            if index in (latest[id_key(record["id"])], latest_answer.get(id_key(record["id"])))
        ]
        if len(keep) == len(self._records):
            return
        temporary = self.path.with_name(self.path.name + ".compact")
        with temporary.open("wb") as file:
            for record in keep:
                file.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        with contextlib.suppress(OSError):  # make the rename itself durable
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
