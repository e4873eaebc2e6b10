"""Per-key rate limiting: N requests per window, then 429 with Retry-After."""

from __future__ import annotations

import math
import time

import httpx
import openai
import pytest

from parallel_adapters.testing import ParallelEmulator, RateLimit

from .support import ask, body


def _post(emulator: ParallelEmulator, key: str = "test-key") -> httpx.Response:
    return httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json=body(),
    )


def test_requests_past_the_limit_get_429_until_the_window_slides(
    emulator: ParallelEmulator,
) -> None:
    # A 2 s window: four requests must land inside it even on a loaded machine.
    emulator.rate_limit = (3, 2.0)
    statuses = [_post(emulator).status_code for _ in range(4)]
    limited = _post(emulator)

    assert statuses == [200, 200, 200, 429]
    assert limited.json()["error"]["message"] == "Too many requests: quota temporarily exceeded"
    wait_ms = int(limited.headers["retry-after-ms"])
    assert 0 < wait_ms <= 2000
    assert limited.headers["retry-after"] == str(math.ceil(wait_ms / 1000))  # rounded up

    time.sleep(wait_ms / 1000 + 0.02)
    assert _post(emulator).status_code == 200


def test_limits_are_per_key() -> None:
    with ParallelEmulator(api_key=None, rate_limit=RateLimit(1, 60)) as emulator:
        assert _post(emulator, "alice").status_code == 200
        assert _post(emulator, "alice").status_code == 429
        assert _post(emulator, "bob").status_code == 200


def test_rejected_credentials_do_not_use_up_the_quota(emulator: ParallelEmulator) -> None:
    emulator.rate_limit = (1, 60)
    assert _post(emulator, "wrong").status_code == 401
    assert _post(emulator).status_code == 200


def test_sdk_retries_through_the_limit(emulator: ParallelEmulator) -> None:
    emulator.rate_limit = (2, 0.3)
    with openai.OpenAI(base_url=emulator.base_url, api_key="test-key", max_retries=3) as sdk:
        for _ in range(3):
            sdk.chat.completions.create(model="speed", messages=ask())
    assert [r.status for r in emulator.requests] == [200, 200, 429, 200]


def test_reset_clears_the_counters(emulator: ParallelEmulator) -> None:
    emulator.rate_limit = (1, 60)
    _post(emulator)
    emulator.reset()
    assert _post(emulator).status_code == 200


@pytest.mark.parametrize("limit", [(0, 60), (5, 0)])
def test_nonsense_limits_are_refused(limit: tuple[int, float]) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimit.of(limit)
