"""Fixtures shared by the plain-callable tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parallel_adapters import _chat
from parallel_adapters.testing import RecordingBackend


@pytest.fixture
def default_from_env(
    parallel_backend: RecordingBackend, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """`complete()` & co. on a fresh default client that reads the test backend from the
    environment, as a script would (`PARALLEL_API_KEY`, `PARALLEL_BASE_URL`)."""
    monkeypatch.setenv("PARALLEL_API_KEY", parallel_backend.api_key)
    monkeypatch.setenv("PARALLEL_BASE_URL", parallel_backend.base_url)
    monkeypatch.setattr(_chat, "_default", None)
    yield
    monkeypatch.setattr(_chat, "_default", None)
