"""Summaries (median with min-max) and the interleaving order of contenders."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stats:
    """One measurement over repeats: the median, the range, and every value."""

    median: float
    min: float
    max: float
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        if not values:
            raise ValueError("no values to summarize")
        return cls(statistics.median(values), min(values), max(values), tuple(values))

    def scaled(self, factor: float) -> Stats:
        return Stats.of([v * factor for v in self.values])

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.min,
            "max": self.max,
            "values": list(self.values),
        }


def paired(values: Sequence[float], floor: Sequence[float], *, ratio: bool) -> Stats:
    """Per-repeat ratio (or difference) to the floor measured in the same repeat.

    Contenders run interleaved, so a slow moment on a shared machine hits the floor's
    repeat and the contender's alike; pairing cancels much of it.
    """
    if ratio:
        return Stats.of([v / f for v, f in zip(values, floor, strict=True)])
    return Stats.of([v - f for v, f in zip(values, floor, strict=True)])


def rotations(names: Sequence[str], repeats: int) -> Iterator[tuple[int, str]]:
    """(repeat, name) round-robin; each repeat starts one contender later, so every
    contender runs in every position (first after a pause, last, ...) equally often."""
    count = len(names)
    for repeat in range(repeats):
        shift = repeat % count
        for name in [*names[shift:], *names[:shift]]:
            yield repeat, name
