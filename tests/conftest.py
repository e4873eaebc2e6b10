"""Fixtures for every test: the recorded-cassette harness and a running emulator.

Cassettes (tests marked `@pytest.mark.vcr`)
- Replayed by default: pyproject sets `--record-mode=none --block-network`, so a test
  without its cassette fails instead of reaching the network.
- Stored as `cassettes/<test file path without .py>/<test name>.yaml`, e.g.
  `cassettes/tests/testing/test_cassette_harness/test_plain_completion.yaml`.
- Re-recorded, Chat and Responses alike, with `pytest -m vcr --record-mode=rewrite`:
  against the live API when PARALLEL_API_KEY is set, otherwise against a local emulator
  (see cassettes/README.md). Recording live skips, and so keeps the cassettes of, tests
  marked `emulator_only` (they inject faults) and those parametrized with a quirk
  `profile` other than "documented".
- Point the client at `parallel_backend.base_url` with `parallel_backend.api_key`; on replay
  these are placeholders that are never contacted.

Live emulator (tests that need a real server: conformance, faults, rate limits)
- `emulator`: a session-wide `ParallelEmulator` reset to its defaults for each test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench._redis_server import redis_server
from parallel_adapters import testing

REPO_ROOT = Path(__file__).resolve().parent.parent
CASSETTES_DIR = REPO_ROOT / "cassettes"
# pytest-recording matches these regexes against every host a test connects to.
LOOPBACK_HOSTS = [r"^127\.0\.0\.1$", r"^localhost$", r"^::1$"]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    testing.register_matchers(vcr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    record_mode = str(config.getoption("--record-mode", default="none") or "none")
    for item in items:
        callspec = getattr(item, "callspec", None)
        reason = testing.live_recording_skip(
            record_mode,
            [mark.name for mark in item.iter_markers()],
            callspec.params if callspec is not None else {},
        )
        if reason is not None and item.get_closest_marker("vcr") is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _fresh_warn_once_state() -> None:
    """Every test starts as a fresh process would: no "ignored parameter" warning given yet.

    The kit warns once per process (`_warned` sets in the core's wire modules); without
    this, whether a test sees its warning depends on which tests ran before it in the same
    process (and mutmut runs many sessions in one process).
    """
    for name, module in list(sys.modules.items()):
        if name.startswith("parallel_adapters."):
            warned = getattr(module, "_warned", None)
            if isinstance(warned, set):
                warned.clear()


@pytest.fixture(scope="session")
def vcr_config(record_mode: str) -> dict[str, Any]:
    provenance = testing.provenance_for(testing.backend_kind(record_mode))
    return {**testing.vcr_config(provenance), "allowed_hosts": LOOPBACK_HOSTS}


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    module = Path(str(request.node.path)).resolve().relative_to(REPO_ROOT)
    return str(CASSETTES_DIR / module.with_suffix(""))


@pytest.fixture(scope="session")
def parallel_backend(record_mode: str) -> Iterator[testing.RecordingBackend]:
    """Where a cassette test sends its requests (see the module docstring)."""
    with testing.recording_backend(record_mode) as backend:
        yield backend


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[testing.ParallelEmulator]:
    with testing.ParallelEmulator(api_key="test-key") as emulator:
        yield emulator


@pytest.fixture
def emulator(emulator_server: testing.ParallelEmulator) -> testing.ParallelEmulator:
    """The shared emulator with an empty log, no queued faults and default settings
    (the default responder too)."""
    emulator_server.reset()
    emulator_server.profile = "documented"
    emulator_server.latency = "fast"
    emulator_server.rate_limit = None
    emulator_server.stall_seconds = testing.DEFAULT_STALL_SECONDS
    emulator_server.responder = None  # the research simulator
    emulator_server.web_responder = None  # the corpus ranking
    return emulator_server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis on a free loopback port for the session (`bench/_redis_server.py`)."""
    with redis_server() as url:
        yield url


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The real OpenTelemetry SDK with an in-memory exporter, handed to the kit for one
    test (its spans: `exporter.get_finished_spans()`); message content capture off.

    `opentelemetry.trace.get_tracer_provider` is patched for the test instead of calling
    the process-wide `set_tracer_provider`, which works once per process.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    yield memory
    provider.shutdown()
