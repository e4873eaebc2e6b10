"""Surviving mutants judged equivalent: no behaviour a caller can see tells them apart.

Keyed by mutmut's mutant name; the first element is the line the mutant adds (as
`mutmut show` prints it, stripped), so a mutant renumbered by a code change is no longer
excused and shows up as a survivor to judge again. Read by `python -m bench.mutation`.
"""

from __future__ import annotations

_SSE = "parallel_adapters._core._sse."
_SCAN = (
    "`_scanned` only saves rescanning bytes already searched for a newline; starting the "
    "search earlier (0 or None) finds the same line ends"
)
_NO_ERROR_TEXT = (
    "unreachable: the event's data parsed as JSON just before, so `event.data.strip()` is "
    "never empty and this fallback is never used"
)

EQUIVALENTS: dict[str, tuple[str, str]] = {
    _SSE + "x__text__mutmut_3": (
        'return raw.decode("UTF-8")',
        "codec names are case-insensitive: the same decoder",
    ),
    _SSE + "x__text__mutmut_8": (
        ") from None",
        "drops `retryable=True`, which is ServerError's default: the same error",
    ),
    _SSE + "xǁSSEParserǁ__init____mutmut_2": ("self._scanned = None", _SCAN),
    _SSE + "xǁSSEParserǁfeed__mutmut_6": ('end = self._buffer.find(b"\\n", None)', _SCAN),
    _SSE + "xǁSSEParserǁfeed__mutmut_8": ('end = self._buffer.find(b"\\n", )', _SCAN),
    _SSE + "xǁSSEParserǁfeed__mutmut_13": ("self._scanned = None", _SCAN),
    _SSE + "xǁSSEParserǁfeed__mutmut_18": ("self._scanned = None", _SCAN),
    _SSE + "xǁSSEParserǁclose__mutmut_3": (
        'events = self.feed(b"\\n") if (self._buffer) or True else []',
        "feeding a blank line to an empty buffer dispatches the pending data, which the "
        "next statement dispatches anyway, or resets an event name nothing reads again",
    ),
    _SSE + "xǁSSEParserǁ_line__mutmut_4": (
        'if line.startswith("XX:XX"):  # a comment: keep-alive',
        "a line starting with ':' has an empty field name, which the field rules ignore "
        "too: the comment check is a shortcut",
    ),
    _SSE + "x_decode_event__mutmut_17": (
        'message = message_from_body(payload) or event.data.strip() or "XXan error eventXX"',
        _NO_ERROR_TEXT,
    ),
    _SSE + "x_decode_event__mutmut_18": (
        'message = message_from_body(payload) or event.data.strip() or "AN ERROR EVENT"',
        _NO_ERROR_TEXT,
    ),
    _SSE + "x_is_event_stream__mutmut_4": (
        'return (content_type or "XXXX").split(";")[0].strip().lower() == "text/event-stream"',
        "the default for a missing content type only has to differ from text/event-stream",
    ),
}
