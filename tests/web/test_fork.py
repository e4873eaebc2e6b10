"""Forked children after the parent searched: each gets its own web clients and budgets
(the parent's pooled connections would cross answers between processes)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import _chat
from parallel_adapters.testing import ParallelEmulator
from tests.core.test_fork import leave, run_children

pytestmark = pytest.mark.skipif(not hasattr(os, "register_at_fork"), reason="needs os.fork")


@pytest.fixture
def default_env(emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setattr(_chat, "_default", None)
    yield
    if _chat._default is not None:
        _chat._default.close()


OBJECTIVES = {"capital of France": "/france", "capital of Japan": "/japan"}


def search_all_at_once() -> list[str]:
    failures: list[str] = []

    def search(objective: str) -> None:
        for _ in range(4):
            try:
                top = pa.search(objective, max_results=1).urls[0]
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                continue
            if not top.endswith(OBJECTIVES[objective]):
                failures.append(f"crossed answer for {objective!r}: {top}")

    threads = [threading.Thread(target=search, args=(o,)) for o in OBJECTIVES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def search_in_child(queue: Any) -> None:
    failures = search_all_at_once()
    for failure in failures:
        queue.put(failure)
    leave(queue, 1 if failures else 0)


def test_forked_children_search_on_their_own_connections(
    default_env: None, emulator: ParallelEmulator
) -> None:
    assert search_all_at_once() == []
    assert run_children(search_in_child, count=2) == []
    assert pa.search("capital of Japan").urls[0].endswith("/japan")
