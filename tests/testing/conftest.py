"""OpenAI SDK clients pointed at the shared emulator (see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from parallel_adapters.testing import ParallelEmulator


@pytest.fixture
def client(emulator: ParallelEmulator) -> Iterator[openai.OpenAI]:
    """No retries, so each call is exactly one request and faults surface as errors."""
    with openai.OpenAI(
        base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=10.0
    ) as sdk:
        yield sdk


@pytest.fixture
async def async_client(emulator: ParallelEmulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=emulator.base_url, api_key="test-key", max_retries=0, timeout=10.0
    ) as sdk:
        yield sdk


@pytest.fixture
def responses_client(emulator: ParallelEmulator) -> Iterator[openai.OpenAI]:
    """The SDK as Parallel's docs configure it for the Responses API (`.../v1`)."""
    with openai.OpenAI(
        base_url=f"{emulator.base_url}/v1", api_key="test-key", max_retries=0, timeout=10.0
    ) as sdk:
        yield sdk
