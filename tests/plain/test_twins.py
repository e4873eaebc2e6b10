"""Every sync/async pair behaves the same: one parametrised scenario per pair.

Each test runs once through the sync method and once through its async twin, and checks
the same expectations, including how many requests reached the emulator.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters.testing import LatencyModel, ParallelEmulator

FAST = {"retry_initial_delay": 0.01, "retry_max_delay": 0.02, "requests_per_minute": None}
PROMPTS = [f"Question {i} about HTTP" for i in range(6)]


def _chat(emulator: ParallelEmulator, **options: Any) -> pa.ParallelChat:
    return pa.ParallelChat(base_url=emulator.base_url, api_key="test-key", **{**FAST, **options})


def _sent(emulator: ParallelEmulator) -> int:
    return sum(1 for e in emulator.requests if e.path.endswith("/chat/completions"))


# -- the pairs, each driven from sync test code ---------------------------------------------


def _complete_sync(chat: pa.ParallelChat, prompt: str) -> pa.Completion:
    return chat.complete(prompt)


def _complete_async(chat: pa.ParallelChat, prompt: str) -> pa.Completion:
    return asyncio.run(chat.acomplete(prompt))


def _stream_sync(chat: pa.ParallelChat, prompt: str) -> tuple[list[str], pa.Completion]:
    stream = chat.stream(prompt)
    parts = [part.delta for part in stream]
    return parts, stream.completion


def _stream_async(chat: pa.ParallelChat, prompt: str) -> tuple[list[str], pa.Completion]:
    async def main() -> tuple[list[str], pa.Completion]:
        stream = chat.astream(prompt)
        parts = [part.delta async for part in stream]
        return parts, stream.completion

    return asyncio.run(main())


def _map_sync(chat: pa.ParallelChat, prompts: list[str], **kw: Any) -> list[Any]:
    return chat.map(prompts, **kw)


def _map_async(chat: pa.ParallelChat, prompts: list[str], **kw: Any) -> list[Any]:
    return asyncio.run(chat.amap(prompts, **kw))


COMPLETE = pytest.mark.parametrize("complete", [_complete_sync, _complete_async])
STREAM = pytest.mark.parametrize("stream", [_stream_sync, _stream_async])
MAP = pytest.mark.parametrize("run_map", [_map_sync, _map_async])

Complete = Callable[[pa.ParallelChat, str], pa.Completion]
Stream = Callable[[pa.ParallelChat, str], tuple[list[str], pa.Completion]]
Map = Callable[..., list[Any]]


# -- complete / acomplete ----------------------------------------------------------------------


@COMPLETE
def test_complete_pair(emulator: ParallelEmulator, complete: Complete) -> None:
    chat = _chat(emulator, model="base")
    expected = chat.complete("What is HTTP?").text
    emulator.reset()
    emulator.inject("503")
    assert complete(chat, "What is HTTP?").text == expected
    assert _sent(emulator) == 2  # one retry
    emulator.inject("422")
    with pytest.raises(pa.UnprocessableRequestError):
        complete(chat, "What is HTTP?")
    assert _sent(emulator) == 3  # a 422 is not retried


# -- stream / astream --------------------------------------------------------------------------


@STREAM
def test_stream_pair(emulator: ParallelEmulator, stream: Stream) -> None:
    chat = _chat(emulator, model="base")
    expected = chat.complete("What is HTTP?")
    emulator.reset()
    emulator.inject("503")
    parts, completion = stream(chat, "What is HTTP?")
    assert len(parts) > 1
    assert "".join(parts) == completion.text == expected.text
    assert completion.citations == expected.citations
    assert _sent(emulator) == 2  # retried before the first text
    emulator.inject("disconnect-mid-stream;after_chunks=3")
    with pytest.raises(pa.StreamError) as caught:
        stream(chat, "What is HTTP?")
    assert caught.value.partial_text
    assert expected.text.startswith(caught.value.partial_text)
    assert _sent(emulator) == 3  # never retried once text went out


# -- map / amap --------------------------------------------------------------------------------


@MAP
def test_map_pair_first_failure_stops_sending_and_keeps_what_arrived(
    emulator: ParallelEmulator, run_map: Map
) -> None:
    # Answers take 0.2 s, the 422 comes at once: when it is recorded, the other request
    # is still in flight. It is waited for and kept; nothing else is sent.
    emulator.latency = LatencyModel.fixed(ttft=0.2)
    emulator.inject("422")
    chat = _chat(emulator, max_retries=0)
    with pytest.raises(pa.BatchError) as caught:
        run_map(chat, PROMPTS, concurrency=2)
    assert _sent(emulator) == 2
    error = caught.value
    assert isinstance(error.__cause__, pa.UnprocessableRequestError)
    assert len(error.results) == 6
    assert sorted(error.errors) in ([0], [1])
    assert sorted(error.succeeded) == sorted({0, 1} - set(error.errors))
    assert isinstance(next(iter(error.succeeded.values())), pa.Completion)
    assert error.not_started == [2, 3, 4, 5]
    assert "1 of 6 items failed" in str(error)


@MAP
def test_map_pair_return_exceptions_tries_everything(
    emulator: ParallelEmulator, run_map: Map
) -> None:
    emulator.inject("422")
    results = run_map(
        _chat(emulator, max_retries=0), PROMPTS, concurrency=2, return_exceptions=True
    )
    assert _sent(emulator) == 6
    assert sum(isinstance(r, pa.UnprocessableRequestError) for r in results) == 1
    assert sum(isinstance(r, pa.Completion) for r in results) == 5


@MAP
def test_map_pair_results_in_input_order(emulator: ParallelEmulator, run_map: Map) -> None:
    chat = _chat(emulator, model="base")
    answers = run_map(chat, PROMPTS, concurrency=3)
    assert [a.text for a in answers] == [chat.complete(p).text for p in PROMPTS]


@MAP
def test_map_pair_journal_resumes(emulator: ParallelEmulator, run_map: Map, tmp_path: Path) -> None:
    journal = tmp_path / "out.jsonl"
    chat = _chat(emulator, max_retries=0, model="base")
    emulator.inject("422")
    with pytest.raises(pa.BatchError) as caught:
        run_map(chat, PROMPTS, concurrency=2, journal=journal)
    # With a journal every prompt is tried; the failure is written down too.
    assert _sent(emulator) == 6
    assert len(caught.value.succeeded) == 5
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == list(range(6))
    assert sum("error" in r for r in lines) == 1
    failed_id = next(r["id"] for r in lines if "error" in r)

    answers = run_map(chat, PROMPTS, concurrency=2, journal=journal)
    assert _sent(emulator) == 7  # only the failed one again
    sent_last = emulator.requests[-1].json["messages"][0]["content"]
    assert sent_last == PROMPTS[failed_id]
    assert [a.text for a in answers] == [chat.complete(p).text for p in PROMPTS]
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == list(range(6))  # each answered exactly once
    assert not any("error" in r for r in lines)
    assert all(r["model"] == "base" and "citations" in r and "basis" in r for r in lines)
    assert any(r["citations"] for r in lines)

    emulator.reset()
    assert len(run_map(chat, PROMPTS, journal=journal, ids=list(range(6)))) == 6
    assert _sent(emulator) == 0


@MAP
def test_map_pair_journal_ids(emulator: ParallelEmulator, run_map: Map, tmp_path: Path) -> None:
    journal = tmp_path / "out.jsonl"
    chat = _chat(emulator)
    run_map(chat, PROMPTS[:2], journal=journal, ids=["a", "b"])
    assert [json.loads(line)["id"] for line in journal.read_text().splitlines()] in (
        ["a", "b"],
        ["b", "a"],
    )
    with pytest.raises(pa.InputError, match="unique"):
        run_map(chat, PROMPTS[:2], journal=journal, ids=["a", "a"])
    with pytest.raises(pa.InputError, match="one per prompt"):
        run_map(chat, PROMPTS[:2], journal=journal, ids=["a"])
    assert _sent(emulator) == 2


@MAP
def test_map_pair_a_429_storm_slows_a_journaled_batch_down_but_does_not_fail_it(
    emulator: ParallelEmulator, run_map: Map, tmp_path: Path
) -> None:
    emulator.inject("429-retry-after;retry_after=0.02", times=12)
    chat = _chat(emulator, max_retries=0)
    answers = run_map(chat, PROMPTS, concurrency=3, journal=tmp_path / "out.jsonl")
    assert all(isinstance(a, pa.Completion) for a in answers)
    statuses = [e.status for e in emulator.requests]
    assert statuses.count(429) == 12
    assert statuses.count(200) == 6


@MAP
def test_map_pair_a_server_rate_limit_is_waited_out_with_a_journal(
    emulator: ParallelEmulator, run_map: Map, tmp_path: Path
) -> None:
    emulator.rate_limit = (4, 0.3)
    chat = _chat(emulator, max_retries=0)
    prompts = [f"burst {i}" for i in range(16)]
    answers = run_map(chat, prompts, concurrency=8, journal=tmp_path / "out.jsonl")
    assert all(isinstance(a, pa.Completion) for a in answers)
    statuses = [e.status for e in emulator.requests]
    assert statuses.count(429) > 0  # the storm was real
    assert statuses.count(200) == 16


@MAP
def test_map_pair_without_a_journal_a_429_fails_fast(
    emulator: ParallelEmulator, run_map: Map
) -> None:
    # The control: the patience above comes from the journaled batch, not from luck.
    emulator.inject("429-retry-after;retry_after=0.02", times=12)
    with pytest.raises(pa.BatchError) as caught:
        run_map(_chat(emulator, max_retries=0), PROMPTS, concurrency=1)
    assert isinstance(caught.value.__cause__, pa.RateLimitError)
    assert _sent(emulator) == 1


@MAP
def test_map_pair_a_refused_key_stops_a_journaled_batch(
    emulator: ParallelEmulator, run_map: Map, tmp_path: Path
) -> None:
    emulator.inject("401", times=10)
    with pytest.raises(pa.BatchError) as caught:
        run_map(
            _chat(emulator, max_retries=0), PROMPTS, concurrency=1, journal=tmp_path / "out.jsonl"
        )
    assert _sent(emulator) == 1
    assert caught.value.not_started == [1, 2, 3, 4, 5]


def _written(journal: Path) -> int:
    return journal.read_bytes().count(b"\n") if journal.exists() else 0


def _interrupt_sync(chat: pa.ParallelChat, prompts: list[str], journal: Path) -> None:
    import signal
    import threading

    main_thread = threading.main_thread().ident
    assert main_thread is not None

    def interrupt_when_written() -> None:
        while _written(journal) < 2:
            time.sleep(0.01)
        signal.pthread_kill(main_thread, signal.SIGINT)  # a real Ctrl-C, for the main thread

    threading.Thread(target=interrupt_when_written, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        chat.map(prompts, concurrency=2, journal=journal)


def _interrupt_async(chat: pa.ParallelChat, prompts: list[str], journal: Path) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(chat.amap(prompts, concurrency=2, journal=journal))
        while _written(journal) < 2:  # noqa: ASYNC110 - the file is the signal
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


@pytest.mark.parametrize("interrupt", [_interrupt_sync, _interrupt_async])
def test_map_pair_interrupted_keeps_every_answer_in_flight(
    emulator: ParallelEmulator, tmp_path: Path, interrupt: Callable[..., None]
) -> None:
    # Ctrl-C (map) or cancellation (amap) stops sending, and the requests already sent
    # are waited for and written: every request the server saw has its line.
    emulator.latency = LatencyModel.fixed(ttft=0.2)
    journal = tmp_path / "out.jsonl"
    interrupt(_chat(emulator), PROMPTS * 3, journal)
    lines = journal.read_text().splitlines()
    assert 2 <= len(lines) == _sent(emulator) < 18
