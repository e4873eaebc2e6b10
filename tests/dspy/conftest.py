"""DSPy test fixtures: a profile-aware backend, a `ParallelLM` factory and a private cache.

Cassette settings are the shared ones (`parallel_adapters.testing.vcr_config`, cassettes
under `cassettes/<test file path>/`), declared here too so that these tests do not depend
on the root conftest being present. Recording (`--record-mode=rewrite`)
without PARALLEL_API_KEY talks to a local emulator started with the quirk profile the
test asks for (`profile` fixture, "documented" unless parametrized), so cassette names
differ per profile through the test id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dspy")

import dspy

from parallel_adapters import testing
from parallel_adapters.dspy import ParallelLM

EMULATOR_KEY = "test-key"
REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    testing.register_matchers(vcr)


@pytest.fixture(scope="module")
def vcr_config(record_mode: str) -> dict[str, Any]:
    kind = testing.backend_kind(record_mode)
    provenance = {"live": "live", "emulator": testing.emulator_provenance()}.get(kind, "replay")
    config: dict[str, Any] = testing.vcr_config(provenance)
    return config


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    module = Path(str(request.node.path)).resolve().relative_to(REPO_ROOT)
    return str(REPO_ROOT / "cassettes" / module.with_suffix(""))


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
    kind = testing.backend_kind(record_mode)
    if kind != "emulator":
        with testing.recording_backend(record_mode) as shared:
            yield Backend(shared.base_url, shared.api_key, profile)
        return
    key = EMULATOR_KEY
    with testing.ParallelEmulator(api_key=key, profile=profile, latency="fast") as emulator:
        yield Backend(emulator.base_url, key, profile, emulator)


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


@pytest.fixture
def http_requests(vcr: Any, record_mode: str) -> Callable[[], int]:
    """How many HTTP requests the test has made so far (recorded or replayed)."""

    def count() -> int:
        if record_mode == "none":
            return int(vcr.play_count)
        return len(vcr.data)

    return count
