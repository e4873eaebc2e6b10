"""`ParallelChat(config=...)`: one `ParallelConfig` shared by a script's clients, and the
client every adapter holds."""

from __future__ import annotations

import pytest

import parallel_adapters as pa
from parallel_adapters.testing import ParallelEmulator


def test_a_config_keeps_its_model_unless_one_is_given(emulator: ParallelEmulator) -> None:
    config = pa.ParallelConfig(
        api_key="test-key", base_url=emulator.base_url, model="lite", requests_per_minute=None
    )
    with pa.ParallelChat(config=config) as chat:
        assert chat.config is config
        chat("What is the capital of France?")
    with pa.ParallelChat("speed", config=config, timeout=5) as chat:
        assert (chat.config.model, chat.config.timeout) == ("speed", 5)
        assert chat.config.base_url == config.base_url
        chat("What is the capital of France?")
    assert [r.json["model"] for r in emulator.requests[-2:]] == ["lite", "speed"]


def test_options_beside_a_config_are_validated(emulator: ParallelEmulator) -> None:
    config = pa.ParallelConfig(api_key="test-key", base_url=emulator.base_url)
    with pytest.raises(pa.InputError):
        pa.ParallelChat(config=config, timeout=-1)
    with pytest.raises(pa.InputError, match="unknown option"):
        pa.ParallelChat(config=config, colour="blue")  # type: ignore[call-arg]
