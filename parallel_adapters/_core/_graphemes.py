"""Grapheme cluster boundaries, so a span or a marker never splits what a reader sees
as one character: a ZWJ emoji sequence, a letter and its combining accent, a flag, a
skin-tone modifier, a variation selector, CR LF.

Segmentation follows UAX #29 through the `regex` package's `\\X`, imported on first use:
hand-written tables would age with every Unicode release.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Protocol

__all__ = ["Boundaries", "boundaries"]


class Boundaries(Protocol):
    trivial: bool
    """True when every code point is its own cluster: nothing to snap."""

    def floor(self, index: int) -> int:
        """The last cluster boundary at or before `index`."""

    def ceil(self, index: int) -> int:
        """The first cluster boundary at or after `index`."""


class _EveryIndex:
    """Text in which every code point is its own cluster (ASCII without CR LF)."""

    trivial = True

    def floor(self, index: int) -> int:
        return index

    def ceil(self, index: int) -> int:
        return index


class _Clusters:
    trivial = False

    def __init__(self, text: str) -> None:
        import regex  # type: ignore[import-untyped]  # lazily: the import stays light

        self._points: list[int] = [0, *(m.end() for m in regex.finditer(r"\X", text))]

    def floor(self, index: int) -> int:
        return self._points[bisect_right(self._points, index) - 1]

    def ceil(self, index: int) -> int:
        at = bisect_left(self._points, index)
        return self._points[at] if at < len(self._points) else self._points[-1]


def boundaries(text: str) -> Boundaries:
    """The cluster boundaries of `text` (0 and `len(text)` included), for snapping offsets
    outward: `floor` for a start, `ceil` for an end. Linear in the text, once."""
    if text.isascii() and "\r\n" not in text:
        return _EveryIndex()
    return _Clusters(text)
