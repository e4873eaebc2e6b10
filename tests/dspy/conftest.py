"""DSPy test fixtures: a profile-aware backend, a `ParallelLM` factory and a private cache.

Tests replay cassettes by default. Recording (`--record-mode=rewrite`) talks to the
local emulator, started with the quirk profile the test asks for, so cassette names
differ per profile through the test id.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("dspy")

import dspy

from parallel_adapters.dspy import ParallelLM

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API_KEY = "test-key"
REPLAY_BASE_URL = "https://api.parallel.ai"


@dataclass
class Backend:
    base_url: str
    api_key: str
    profile: str
    emulator: Any = None  # a running ParallelEmulator while recording

    def inject(self, fault: str, times: int = 1) -> None:
        """Queue a fault on the emulator; a no-op on replay (the cassette holds its effect)."""
        if self.emulator is not None:
            self.emulator.inject(fault, times=times)


@pytest.fixture
def profile() -> str:
    return "documented"


@pytest.fixture
def backend(record_mode: str, profile: str) -> Iterator[Backend]:
    if record_mode == "none":
        yield Backend(REPLAY_BASE_URL, API_KEY, profile)
        return
    from parallel_adapters.testing import ParallelEmulator

    with ParallelEmulator(api_key=API_KEY, profile=profile, latency="fast") as emulator:
        yield Backend(emulator.base_url, API_KEY, profile, emulator)


@pytest.fixture
def make_lm(backend: Backend) -> Callable[..., ParallelLM]:
    def make(model: str = "base", **options: Any) -> ParallelLM:
        options.setdefault("api_key", backend.api_key)
        options.setdefault("base_url", backend.base_url)
        options.setdefault("requests_per_minute", None)
        options.setdefault("retry_initial_delay", 0.0)
        options.setdefault("retry_max_delay", 0.0)
        return ParallelLM(model, **options)

    return make


@pytest.fixture(autouse=True)
def private_dspy_cache() -> Iterator[None]:
    """A fresh in-memory DSPy cache per test: never ~/.dspy_cache, never shared."""
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=True)
    yield
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    module = os.path.relpath(str(request.node.path), REPO)
    return os.path.join(REPO, "cassettes", os.path.splitext(module)[0])


def _json_body(r1: Any, r2: Any) -> None:
    def decode(body: Any) -> Any:
        if isinstance(body, bytes):
            body = body.decode()
        try:
            return json.loads(body) if body else None
        except ValueError:
            return body

    assert decode(r1.body) == decode(r2.body)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    vcr.register_matcher("json_body", _json_body)


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "match_on": ["method", "path", "json_body"],
        "filter_headers": ["authorization", "x-api-key"],
        "decode_compressed_response": True,
    }


@pytest.fixture
def http_requests(vcr: Any, record_mode: str) -> Callable[[], int]:
    """How many HTTP requests the test has made so far (recorded or replayed)."""

    def count() -> int:
        if record_mode == "none":
            return int(vcr.play_count)
        return len(vcr.data)

    return count
