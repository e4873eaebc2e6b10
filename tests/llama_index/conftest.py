"""LlamaIndex test fixtures: a quirk-profile-aware backend and a `ParallelLLM` factory.

Tests replay cassettes by default (the root conftest's `vcr_config`: credentials
filtered, matching on method + path + JSON body). Recording (`--record-mode=rewrite`)
talks to one local emulator switched to the quirk profile the test asks for, so cassette
names differ per profile through the test id; with PARALLEL_API_KEY set it records live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Settings

from parallel_adapters import testing
from parallel_adapters.llama_index import ParallelLLM


@dataclass
class Backend:
    base_url: str
    api_key: str
    profile: str
    emulator: testing.ParallelEmulator | None = None  # only while recording

    def inject(self, fault: str, times: int = 1) -> None:
        """Queue a fault for the next requests; on replay the cassette holds its effect."""
        if self.emulator is not None:
            self.emulator.inject(fault, times=times)


@pytest.fixture(scope="session")
def _recording_server(record_mode: str) -> Iterator[testing.ParallelEmulator | None]:
    if testing.backend_kind(record_mode) != "emulator":
        yield None
        return
    with testing.ParallelEmulator(api_key=testing.DEFAULT_API_KEY, latency="fast") as emulator:
        yield emulator


@pytest.fixture
def profile() -> str:
    """The emulator's quirk profile; tests parametrize it to cover both."""
    return "documented"


@pytest.fixture
def backend(
    request: pytest.FixtureRequest,
    profile: str,
    _recording_server: testing.ParallelEmulator | None,
) -> Backend:
    if _recording_server is None:  # replaying, or recording live (one profile: the real one)
        shared: testing.RecordingBackend = request.getfixturevalue("parallel_backend")
        return Backend(shared.base_url, shared.api_key, profile)
    _recording_server.reset()
    _recording_server.profile = profile  # type: ignore[assignment]
    return Backend(_recording_server.base_url, testing.DEFAULT_API_KEY, profile, _recording_server)


@pytest.fixture
def make_llm(backend: Backend) -> Callable[..., ParallelLLM]:
    """`make_llm(model="base", **options)`: a ParallelLLM on the test backend.

    The limiter is off and retries do not sleep, so replays run at full speed.
    """

    def make(model: str = "base", **options: Any) -> ParallelLLM:
        options.setdefault("api_key", backend.api_key)
        options.setdefault("base_url", backend.base_url)
        options.setdefault("requests_per_minute", None)
        options.setdefault("retry_initial_delay", 0.0)
        options.setdefault("retry_max_delay", 0.0)
        return ParallelLLM(model=model, **options)

    return make


@pytest.fixture
def llm(make_llm: Callable[..., ParallelLLM]) -> ParallelLLM:
    return make_llm("base")


@pytest.fixture
def wire(vcr: Any, record_mode: str) -> Callable[[], list[dict[str, Any]]]:
    """The JSON bodies the test has sent so far, in order (recorded, or matched on replay).

    Replay matches on the JSON body, so a replayed request's body is the recorded one.
    """

    def bodies() -> list[dict[str, Any]]:
        sent = [
            request
            for index, request in enumerate(vcr.requests)
            if record_mode != "none" or vcr.play_counts[index]
        ]
        return [json.loads(_text(request.body)) for request in sent]

    return bodies


def _text(body: bytes | str) -> str:
    return body.decode() if isinstance(body, bytes) else body


@pytest.fixture(autouse=True)
def _no_global_settings() -> Iterator[None]:
    """Each test starts and ends with LlamaIndex's global Settings unset."""
    saved = (Settings._llm, Settings._embed_model)
    Settings._llm = None
    Settings._embed_model = None
    yield
    Settings._llm, Settings._embed_model = saved
