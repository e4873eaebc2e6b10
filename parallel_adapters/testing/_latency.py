"""How long the emulator waits: time to first token and the gap between stream chunks.

Waits use `asyncio` (never `time.sleep`), so thousands of delayed requests share one
thread without queueing behind each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

LatencyPreset = Literal["fast", "realistic"]

# The quickstarts' documented times to first token (Responses: to the whole answer). The
# emulator picks a value inside each range from the request's hash, so one request always
# waits the same time.
_DOCUMENTED_TTFT: dict[str, tuple[float, float]] = {
    "speed": (2.5, 3.5),
    "lite": (10.0, 60.0),
    "base": (15.0, 100.0),
    "core": (60.0, 300.0),
    # The Responses API's tiers, keyed "parallel-<effort>" (the docs' latency table).
    "parallel-low": (5.0, 10.0),
    "parallel-medium": (15.0, 20.0),
    "parallel-high": (30.0, 60.0),
    # The Search and Extract APIs, whole answers (getting-started/pricing, 2026-10-08).
    "search": (0.2, 3.0),
    "extract": (1.0, 20.0),
}


@dataclass(frozen=True)
class LatencyModel:
    """Per-model time to first token (seconds, fixed or a (low, high) range) and chunk gap."""

    ttft: Mapping[str, float | tuple[float, float]] = field(default_factory=dict, hash=False)
    """Seconds to first token per model: fixed, or a (low, high) range drawn from."""
    default_ttft: float | tuple[float, float] = 0.0
    """For models missing from `ttft`."""
    chunk_interval: float = 0.0
    """Seconds between two stream events (a non-streaming answer waits for all of them)."""

    def __post_init__(self) -> None:
        for value in [*self.ttft.values(), self.default_ttft, self.chunk_interval]:
            low, high = _as_range(value)
            if low < 0 or high < low:
                raise ValueError(f"latency {value!r} must be >= 0 and a (low, high) range")

    @classmethod
    def fast(cls) -> LatencyModel:
        """No waiting at all: the default, for tests."""
        return cls()

    @classmethod
    def realistic(cls) -> LatencyModel:
        """The documented times to first token (speed ~3 s ... core 1-5 min), 20 ms per chunk."""
        return cls(ttft=dict(_DOCUMENTED_TTFT), default_ttft=3.0, chunk_interval=0.02)

    @classmethod
    def fixed(cls, ttft: float = 0.0, chunk_interval: float = 0.0) -> LatencyModel:
        """The same delays for every model, e.g. `fixed(ttft=0.1, chunk_interval=0.005)`."""
        return cls(default_ttft=ttft, chunk_interval=chunk_interval)

    @classmethod
    def of(cls, value: LatencyModel | LatencyPreset) -> LatencyModel:
        """`value` itself, or the preset it names (`"fast"` or `"realistic"`)."""
        if isinstance(value, LatencyModel):
            return value
        if value == "fast":
            return cls.fast()
        if value == "realistic":
            return cls.realistic()
        raise ValueError(f"latency must be a LatencyModel, 'fast' or 'realistic', not {value!r}")

    def first_token(self, model: str, seed: int) -> float:
        """The time to first token for `model`; `seed` picks a point inside a range."""
        low, high = _as_range(self.ttft.get(model, self.default_ttft))
        return low + (high - low) * ((seed % 10_000) / 9_999)

    def whole_answer(self, model: str, seed: int, chunks: int) -> float:
        """How long a non-streaming answer of `chunks` pieces takes."""
        return self.first_token(model, seed) + self.chunk_interval * max(chunks - 1, 0)


def _as_range(value: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(value, tuple):
        return float(value[0]), float(value[1])
    return float(value), float(value)
