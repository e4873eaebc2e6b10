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

_MESSAGES = "parallel_adapters._core._messages."
_PRICES = "parallel_adapters._core._prices."
_SPANS = "parallel_adapters._core._spans."
_JOURNAL = "parallel_adapters._journal."
_RESPONSES = "parallel_adapters._core._responses."
_UNUSED_DEFAULT = "every caller passes `offset`: the default is never used"
_CATEGORY = "warnings.warn treats a missing or None category as UserWarning"
_AT_THE_END = (
    "reaching the end of the text ends in IndexError or ValueError either way, and both "
    "make the function return None (not a JSON object)"
)
_LAST_BYTE = (
    "the last-byte check is a shortcut: when it misses, the full check finds the same "
    "torn tail (none, for a journal ending in a newline)"
)
_JSON_NATIVE = (
    "citations and basis are parsed from the server's JSON, so every field (extra ones "
    "included) is already a JSON type: any dump mode gives the same dict"
)
_ANY_SUPERSEDED = (
    "close() only asks whether any line was superseded (non-zero); adding 1 or 2, or "
    "setting 1, after a supersede all give non-zero"
)

EQUIVALENTS: dict[str, tuple[str, str]] = {
    _RESPONSES + "x__warn_once__mutmut_1": (
        'def _warn_once(param: str, hint: str = "XXXX") -> None:',
        "every caller passes `hint`: the default is never used",
    ),
    _RESPONSES + "x__field_ranges__mutmut_8": ("while i <= length and text[i] in ws:", _AT_THE_END),
    _RESPONSES + "x__field_ranges__mutmut_16": (
        'if index > length or text[index] != "{":',
        _AT_THE_END,
    ),
    _RESPONSES + "x__field_ranges__mutmut_25": (
        'if index <= length and text[index] == "}":',
        _AT_THE_END,
    ),
    _RESPONSES + "x__input__mutmut_30": (
        '+ ("XX, XX".join(m["role"] for m in merged) or "only system text")',
        "without a user turn only assistant turns are left, and they merge into one: the "
        "list has at most one role, so the separator never shows",
    ),
    _JOURNAL + "x_answer_record__mutmut_13": (
        '"basis": [b.model_dump(mode=None) for b in completion.basis],',
        _JSON_NATIVE,
    ),
    _JOURNAL + "xǁJournalǁ_compact__mutmut_26": (
        'temporary = self.path.with_name(self.path.name + ".COMPACT")',
        "the name of a temporary file that is renamed over the journal at once",
    ),
    _JOURNAL + "xǁJournalǁ_compact__mutmut_34": (
        'file.write((json.dumps(record, ensure_ascii=None) + "\\n").encode("utf-8"))',
        "json.dumps reads ensure_ascii as a truth value: None is False",
    ),
    _JOURNAL + "xǁJournalǁ_compact__mutmut_40": (
        'file.write((json.dumps(record, ensure_ascii=False) + "\\n").encode("UTF-8"))',
        "codec names are case-insensitive: the same encoder",
    ),
    _JOURNAL + "xǁJournalǁ_read__mutmut_14": (
        'record = ""',
        "a line that is not JSON is refused either way: '' is no record, nor is None",
    ),
    _JOURNAL + "xǁJournalǁ_repair__mutmut_11": ("tail_start = max(1, size - 1)", _LAST_BYTE),
    _JOURNAL + "xǁJournalǁ_repair__mutmut_12": ("tail_start = max(0, size + 1)", _LAST_BYTE),
    _JOURNAL + "xǁJournalǁ_repair__mutmut_20": (
        'if os.pread(self._fd, 2, tail_start) == b"\\n":',
        _LAST_BYTE,
    ),
    _JOURNAL + "xǁJournalǁ_repair__mutmut_22": (
        'if os.pread(self._fd, 1, tail_start) == b"XX\\nXX":',
        _LAST_BYTE,
    ),
    _JOURNAL + "xǁJournalǁ_repair__mutmut_35": ("whole = None", "None is false, like False"),
    _RESPONSES + "x__warn_once__mutmut_5": ("None,", _CATEGORY),
    _RESPONSES + "x__warn_once__mutmut_8": ("(no line added: the mutant removes code)", _CATEGORY),
    _RESPONSES + "x__spans__mutmut_1": (
        "def _spans(annotations: Any, length: int, offset: int = 1) -> list[CitedSpan]:",
        _UNUSED_DEFAULT,
    ),
    _RESPONSES + "x__span__mutmut_1": (
        "def _span(note: Any, length: int, offset: int = 1) -> CitedSpan | None:",
        _UNUSED_DEFAULT,
    ),
    _JOURNAL + "x_answer_record__mutmut_8": (
        '"citations": [c.model_dump(mode=None) for c in completion.citations],',
        _JSON_NATIVE,
    ),
    _JOURNAL + "x_answer_record__mutmut_9": (
        '"citations": [c.model_dump(mode="XXjsonXX") for c in completion.citations],',
        _JSON_NATIVE,
    ),
    _JOURNAL + "x_answer_record__mutmut_10": (
        '"citations": [c.model_dump(mode="JSON") for c in completion.citations],',
        _JSON_NATIVE,
    ),
    _JOURNAL + "x_answer_record__mutmut_14": (
        '"basis": [b.model_dump(mode="XXjsonXX") for b in completion.basis],',
        _JSON_NATIVE,
    ),
    _JOURNAL + "x_answer_record__mutmut_15": (
        '"basis": [b.model_dump(mode="JSON") for b in completion.basis],',
        _JSON_NATIVE,
    ),
    _JOURNAL + "xǁJournalǁ__init____mutmut_6": (
        "self._appended = self._synced = 1",
        "both fsync counters start equal; only whether one has passed the other matters",
    ),
    _JOURNAL + "xǁJournalǁ__init____mutmut_7": (
        "self._records: list[dict[str, Any]] = None",
        "replaced by the lines read from the file before anything reads it",
    ),
    _JOURNAL + "xǁJournalǁwrite__mutmut_5": (
        'line = (json.dumps(record, ensure_ascii=None) + "\\n").encode("utf-8")',
        "json.dumps reads ensure_ascii as a truth value: None is False",
    ),
    _JOURNAL + "xǁJournalǁwrite__mutmut_11": (
        'line = (json.dumps(record, ensure_ascii=False) + "\\n").encode("UTF-8")',
        "codec names are case-insensitive: the same encoder",
    ),
    _JOURNAL + "xǁJournalǁwrite__mutmut_22": (
        "self._appended += 2",
        "the fsync counters are only compared with each other: counting in twos keeps "
        "every comparison",
    ),
    _JOURNAL + "xǁJournalǁwrite__mutmut_28": ("self._superseded = 1", _ANY_SUPERSEDED),
    _JOURNAL + "xǁJournalǁwrite__mutmut_30": ("self._superseded += 2", _ANY_SUPERSEDED),
    _JOURNAL + "xǁJournalǁwrite__mutmut_36": ("self._superseded = 1", _ANY_SUPERSEDED),
    _JOURNAL + "xǁJournalǁwrite__mutmut_38": ("self._superseded += 2", _ANY_SUPERSEDED),
    _JOURNAL + "xǁJournalǁwrite__mutmut_41": (
        "if self._synced > mine:",
        "when an earlier fsync already covered this line, it only adds one more fsync: the "
        "line is durable either way (a cost, not a behaviour)",
    ),
    _JOURNAL + "xǁJournalǁclose__mutmut_6": (
        "self._fd = -2",
        "any negative value marks the journal closed",
    ),
    _JOURNAL + "xǁJournalǁ_compact__mutmut_25": (
        'temporary = self.path.with_name(self.path.name + "XX.compactXX")',
        "the name of a temporary file that is renamed over the journal at once",
    ),
    _PRICES + "x_estimate_cost__mutmut_26": (
        "dollars=round(dollars, 7),",
        "every price is a whole multiple of $0.001 per request, so a sum has no digit past "
        "the 3rd decimal: rounding at 6 or 7 removes the same float noise",
    ),
    _SPANS + "x_insert_markers__mutmut_18": (
        "previous = None",
        "`text[None:point]` is `text[0:point]`",
    ),
    _MESSAGES + "x_merge_messages__mutmut_3": (
        'messages = [("USER", messages)]',
        "roles are matched case-insensitively (`.strip().lower()`): 'USER' is 'user'",
    ),
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

_LOCATION = (
    "killed by tests/core/test_warning_location.py (the warning must name the caller's "
    "file), which cannot run under mutmut: mutmut's trampoline is a frame between the kit "
    "and the caller, so the warning names the trampoline there"
)

# Survivors that a test outside mutmut's selection kills: name -> (added line, why).
KILLED_OUTSIDE_MUTMUT: dict[str, tuple[str, str]] = {
    _RESPONSES + "x__warn_once__mutmut_9": (")", _LOCATION),
}
