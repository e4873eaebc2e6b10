"""`parallel_adapters.configure()`: scripts set up (and later change) the default client
behind `complete()`, `acomplete()`, `stream()` and `astream()`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import parallel_adapters as pa
from parallel_adapters import _chat
from parallel_adapters.testing import ParallelEmulator


@pytest.fixture(autouse=True)
def fresh_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("PARALLEL_API_KEY", "PARALLEL_BASE_URL", "PARALLEL_REQUESTS_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_chat, "_default", None)
    yield
    if _chat._default is not None:
        _chat._default.close()


def test_configure_sets_the_default_used_by_complete(emulator: ParallelEmulator) -> None:
    chat = pa.configure(
        base_url=emulator.base_url, api_key="test-key", model="base", requests_per_minute=None
    )
    assert pa.default_chat() is chat
    assert chat.config.requests_per_minute is None
    assert pa.complete("What is the capital of France?").citations  # model base: a basis
    assert emulator.requests[-1].json["model"] == "base"


def test_the_default_follows_the_environment_after_configure(
    emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PARALLEL_API_KEY", "wrong-key")
    first = pa.default_chat()
    assert first.config.base_url == "http://127.0.0.1:9"
    # A script changes its environment later: configure() with no options re-reads it.
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setenv("PARALLEL_REQUESTS_PER_MINUTE", "600")
    second = pa.configure()
    assert second is not first
    assert pa.default_chat() is second
    assert second.config.requests_per_minute == 600
    assert pa.complete("What is the capital of Japan?").text
    assert len(emulator.requests) == 1


async def test_async_and_streaming_use_the_configured_default(emulator: ParallelEmulator) -> None:
    pa.configure(base_url=emulator.base_url, api_key="test-key")
    assert (await pa.acomplete("What is the capital of France?")).text
    assert "".join(part.delta for part in pa.stream("What is the capital of Japan?"))
    assert len(emulator.requests) == 2


def test_bad_options_are_refused_and_keep_the_old_default(emulator: ParallelEmulator) -> None:
    chat = pa.configure(base_url=emulator.base_url, api_key="test-key")
    with pytest.raises(pa.InputError, match="timeout"):
        pa.configure(base_url=emulator.base_url, api_key="test-key", timeout=-1)
    with pytest.raises(pa.InputError, match="unknown option"):
        pa.configure(colour="blue")  # type: ignore[call-arg]
    assert pa.default_chat() is chat


def test_configure_is_public() -> None:
    assert "configure" in pa.__all__
    assert "configure" in dir(pa)
