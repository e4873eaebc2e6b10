"""Forked children (multiprocessing with fork, gunicorn/uvicorn workers, Celery prefork)
after the parent used the kit: each child gets its own connections and limiters."""

from __future__ import annotations

import multiprocessing
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import _chat
from parallel_adapters._core import _ratelimit
from parallel_adapters.testing import ParallelEmulator

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs os.fork (POSIX)")

QUESTIONS = [f"What is the capital of {country}?" for country in ("France", "Japan", "Canada")]


@pytest.fixture
def default_env(emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setattr(_chat, "_default", None)
    yield
    if _chat._default is not None:
        _chat._default.close()


CONTEXT = multiprocessing.get_context("fork") if hasattr(os, "fork") else None


def run_children(target: Callable[[Any], None], count: int, timeout: float = 30) -> list[str]:
    """Fork `count` children running `target(queue)` at once; what they put, and a line for
    each child that failed or hung."""
    assert CONTEXT is not None
    context = CONTEXT
    queue = context.Queue()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a process with threads (the emulator's) may
        # deadlock: exactly what this checks does not happen.
        warnings.simplefilter("ignore", DeprecationWarning)
        children = [context.Process(target=target, args=(queue,)) for _ in range(count)]
        for child in children:
            child.start()
    problems = []
    for child in children:
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            problems.append("a child hung")
        elif child.exitcode != 0:
            problems.append(f"a child exited with {child.exitcode}")
    messages = []
    while not queue.empty():
        messages.append(queue.get(timeout=5))
    return problems + messages


def ask_all_at_once() -> list[str]:
    """Every question from its own thread, at once, each answer checked; the failures."""
    failures: list[str] = []

    def ask(question: str) -> None:
        for _ in range(4):
            try:
                answer = pa.complete(question)
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            city = {"France": "Paris", "Japan": "Tokyo", "Canada": "Ottawa"}[
                question.split()[-1][:-1]
            ]
            if city not in answer.text:
                failures.append(f"crossed answer for {question!r}: {answer.text[:60]!r}")

    threads = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def ask_concurrently(queue: Any) -> None:
    """In a child: once both children are here, every question from 3 threads at once."""
    START.wait(10)
    failures = ask_all_at_once()
    for failure in failures:
        queue.put(failure)
    leave(queue, 1 if failures else 0)


START = CONTEXT.Barrier(2) if CONTEXT is not None else None


def leave(queue: Any, status: int) -> None:
    """Exit a child at once (no inherited atexit handlers), its messages flushed first."""
    queue.close()
    queue.join_thread()
    os._exit(status)


def test_forked_children_after_first_use_get_their_own_connections(
    default_env: None, emulator: ParallelEmulator
) -> None:
    # The parent's pool holds open connections, which both children inherit.
    assert ask_all_at_once() == []
    assert run_children(ask_concurrently, count=2) == []
    assert "Tokyo" in pa.complete(QUESTIONS[1]).text  # and the parent's pool still works
    assert len(emulator.requests) == 3 * len(QUESTIONS) * 4 + 1


def test_a_child_does_not_inherit_a_held_lock(emulator: ParallelEmulator) -> None:
    options = {"base_url": emulator.base_url, "api_key": "test-key"}

    def child(queue: Any) -> None:
        with pa.ParallelChat(**options) as chat:  # a worker's own client: a new limiter
            leave(queue, 0 if chat(QUESTIONS[1]).text else 1)

    # Another thread of the parent is inside the limiter registry when the fork happens.
    with _ratelimit._lock:
        problems = run_children(child, count=1, timeout=20)
    assert problems == []


def test_a_child_starts_with_its_own_limiter(emulator: ParallelEmulator) -> None:
    options = {"base_url": emulator.base_url, "api_key": "test-key", "requests_per_minute": 1}
    with pa.ParallelChat(**options) as chat:
        chat(QUESTIONS[0])  # the parent spent its budget for this minute

        def child(queue: Any) -> None:
            try:
                chat(QUESTIONS[1])  # would wait out the parent's minute
            except Exception as exc:
                queue.put(repr(exc))
                leave(queue, 1)
            leave(queue, 0)

        assert run_children(child, count=1, timeout=20) == []
