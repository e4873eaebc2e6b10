"""The invariant of issue 21, by property, on every surface that hands out sources.

For every span the kit hands out, `text[start:end]` is the cited passage in the text
that same surface hands the user (code points, end exclusive). Hypothesis writes answers
with non-BMP characters, ZWJ sequences, combining marks, flags and JSON, and annotates
them with valid and invalid `url_citation`s (reversed, negative, past the end, floats,
booleans, `javascript:`/`data:` URLs). The answers go through the emulator's `responder=`
seam, so the wire path (JSON bodies, SSE streams) is tested too.

The oracle is written here, apart from the kit: a usable annotation has integer offsets
with 0 <= start <= end <= len(text) and an http(s) URL; its passage is snapped outward to
grapheme cluster boundaries (`regex`'s `\\X`, UAX #29).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import dspy
import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.llms import ChatMessage
from pydantic import BaseModel, ConfigDict

import parallel_adapters as pa
from parallel_adapters.dspy import ParallelLM, collect_basis
from parallel_adapters.llama_index import ParallelLLM, ParallelWebQueryEngine, spans_of
from parallel_adapters.testing import (
    Citation,
    CitedSpan,
    EmulatorAnswer,
    EmulatorRequest,
    FieldBasis,
    ParallelEmulator,
)

KEY = "test-key"
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# What users' answers hold; no "[" or "]", so `[n]` markers can be told from the text.
ATOMS = [
    "Paris",
    "is",
    "the",
    "capital",
    "of",
    "France.",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a ZWJ family
    "\U0001f469\U0001f3fd\u200d\U0001f52c",  # skin tone + ZWJ
    "Cafe\u0301",  # a combining acute accent
    "n\u0303a\u0308",  # two combining marks
    "\U0001f1eb\U0001f1f7",  # a flag
    "\u2764\ufe0f",  # a variation selector
    "\U0001d54f",  # a non-BMP letter
    "\u6771\u4eac",  # CJK
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",  # Arabic
    "a\r\nb",  # CR LF is one cluster
    '"quoted"',
    "{json}",
]
WEB = ["https://a.example/1", "http://b.example/2", "HTTPS://c.example/3"]
NOT_WEB = ["javascript:alert(1)", "data:text/html,<script>x</script>"]
MARKER = re.compile(r"\[\d+\]")


def _words() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(ATOMS), min_size=1, max_size=12).map(" ".join)


def _offset(limit: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(min_value=0, max_value=limit),  # mostly usable
        st.integers(min_value=0, max_value=limit),
        st.integers(min_value=-3, max_value=limit + 3),
        st.sampled_from([1.5, 2.0, True, False, None, "3"]),
    )


@st.composite
def _annotations(draw: st.DrawFn, text: str) -> tuple[CitedSpan, ...]:
    count = draw(st.integers(min_value=0, max_value=8))
    spans = []
    for _ in range(count):
        url = draw(st.sampled_from(WEB + WEB + NOT_WEB))
        start, end = draw(_offset(len(text))), draw(_offset(len(text)))
        # The emulator renders the offsets as given: invalid ones reach the wire as sent.
        spans.append(CitedSpan(cast(int, start), cast(int, end), url, "T"))
    return tuple(spans)


@st.composite
def _plain(draw: st.DrawFn) -> tuple[str, tuple[CitedSpan, ...]]:
    text = draw(_words())
    return text, draw(_annotations(text))


@st.composite
def _json_doc(draw: st.DrawFn) -> tuple[str, tuple[CitedSpan, ...]]:
    values = draw(st.lists(_words(), min_size=2, max_size=2))
    indent = draw(st.sampled_from([None, 2]))
    text = json.dumps({"first": values[0], "second": values[1]}, indent=indent, ensure_ascii=False)
    return text, draw(_annotations(text))


@st.composite
def _sections(draw: st.DrawFn) -> tuple[str, tuple[CitedSpan, ...]]:
    first, second = draw(_words()), draw(_words())
    text = f"[[ ## first ## ]]\n{first}\n\n[[ ## second ## ]]\n{second}\n\n[[ ## completed ## ]]"
    return text, draw(_annotations(text))


# -- the oracle ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    text: str
    spans: list[tuple[int, int, str]]  # usable spans, snapped, in the server's order
    urls: list[str]  # every cited web page once, first-seen order

    def passages(self, url: str | None = None) -> list[str]:
        return [self.text[s:e] for s, e, u in self.spans if url is None or u == url]


def _usable(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def expected(text: str, spans: tuple[CitedSpan, ...]) -> Expected:
    bounds = sorted({0, *(m.end() for m in regex.finditer(r"\X", text))})
    kept: list[tuple[int, int, str]] = []
    urls: list[str] = []
    for span in spans:
        if not span.url.lower().startswith(("http://", "https://")):
            continue
        urls.append(span.url)
        start, end = span.start, span.end
        if _usable(start) and _usable(end) and 0 <= start <= end <= len(text):
            floor = max(b for b in bounds if b <= start)
            ceil = min(b for b in bounds if b >= end)
            kept.append((floor, ceil, span.url))
    return Expected(text, kept, list(dict.fromkeys(urls)))


def marked(exp: Expected) -> str:
    """The answer with `[n]` after each usable span, n = its URL's citation number."""
    numbers = {u: n for n, u in enumerate(exp.urls, 1)}
    at: dict[int, set[int]] = {}
    for _, end, url in exp.spans:
        at.setdefault(end, set()).add(numbers[url])
    out, previous = [], 0
    for point in sorted(at):
        out += [exp.text[previous:point], *(f"[{n}]" for n in sorted(at[point]))]
        previous = point
    return "".join([*out, exp.text[previous:]])


def check_marked_span(shown: str, start: int, end: int, passage: str, number: int) -> None:
    """In marked text: the slice is the passage (plus markers of spans ending inside it),
    and the span's own marker follows it."""
    assert MARKER.sub("", shown[start:end]) == passage
    assert f"[{number}]" in re.match(r"(\[\d+\])*", shown[end:]).group()  # type: ignore[union-attr]


# -- fixtures: one emulator, LLMs and LMs per module --------------------------------------


@pytest.fixture(scope="module")
def emulator() -> Iterator[ParallelEmulator]:
    with ParallelEmulator(api_key=KEY, latency="fast") as server:
        yield server


def _serve(emulator: ParallelEmulator, text: str, spans: tuple[CitedSpan, ...]) -> None:
    emulator.responder = lambda request: EmulatorAnswer(text, spans=spans)


OPTIONS: dict[str, Any] = {"api_key": KEY, "requests_per_minute": None, "max_retries": 0}


@pytest.fixture(scope="module")
def chat(emulator: ParallelEmulator) -> pa.ParallelChat:
    return pa.ParallelChat(model="parallel", base_url=emulator.base_url, **OPTIONS)


@pytest.fixture(scope="module")
def llm(emulator: ParallelEmulator) -> ParallelLLM:
    return ParallelLLM(model="parallel", base_url=emulator.base_url, **OPTIONS)


def _spans(completion: pa.Completion) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.url) for s in completion.cited_spans]


# -- the Responses API ---------------------------------------------------------------------


@EXAMPLES
@given(case=_plain())
def test_completion_and_text_with_markers(
    emulator: ParallelEmulator, chat: pa.ParallelChat, case: tuple[str, tuple[CitedSpan, ...]]
) -> None:
    text, spans = case
    exp = expected(text, spans)
    _serve(emulator, text, spans)
    with chat.stream("q") as stream:
        shown_while_streaming = "".join(part.delta for part in stream)
    for completion in [chat.complete("q"), stream.completion]:
        assert completion.text == text
        assert _spans(completion) == exp.spans
        assert [c.url for c in completion.citations] == exp.urls
        for citation in completion.citations:
            assert all(e in exp.passages(citation.url) for e in citation.excerpts)
        assert completion.text_with_markers() == marked(exp)
    assert shown_while_streaming == text


@EXAMPLES
@given(case=_plain())
def test_llm_chat_and_the_closing_chunk_of_stream_chat(
    emulator: ParallelEmulator, llm: ParallelLLM, case: tuple[str, tuple[CitedSpan, ...]]
) -> None:
    text, spans = case
    exp = expected(text, spans)
    _serve(emulator, text, spans)
    messages = [ChatMessage(role="user", content="q")]
    for response in [llm.chat(messages), list(llm.stream_chat(messages))[-1]]:
        assert response.message.content == text
        assert [(s.start, s.end, s.url) for s in spans_of(response)] == exp.spans


@EXAMPLES
@given(case=_plain(), markers=st.booleans())
def test_query_engine_with_and_without_markers(
    emulator: ParallelEmulator,
    llm: ParallelLLM,
    case: tuple[str, tuple[CitedSpan, ...]],
    markers: bool,
) -> None:
    text, spans = case
    exp = expected(text, spans)
    _serve(emulator, text, spans)
    response = ParallelWebQueryEngine(llm=llm, citation_markers=markers).query("q")
    shown = str(response.response)
    assert shown == (marked(exp) if markers else text)
    assert [n.node.metadata["url"] for n in response.source_nodes] == exp.urls
    for number, node in enumerate(response.source_nodes, 1):
        url = node.node.metadata["url"]
        pairs = node.node.metadata["spans"]
        assert len(pairs) == len(exp.passages(url))
        for (start, end), passage in zip(pairs, exp.passages(url), strict=True):
            if markers:
                check_marked_span(shown, start, end, passage, number)
            else:
                assert shown[start:end] == passage
    handed = [(s.start, s.end) for s in spans_of(response)]
    if markers:
        numbers = {u: n for n, u in enumerate(exp.urls, 1)}
        for (start, end), (s, e, url) in zip(handed, exp.spans, strict=True):
            check_marked_span(shown, start, end, text[s:e], numbers[url])
    else:
        assert [(s, e) for s, e, _ in exp.spans] == handed


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first: str
    second: str


def _value_ranges(text: str) -> dict[str, tuple[int, int]]:
    decoder = json.JSONDecoder()
    ranges = {}
    for key in ("first", "second"):
        at = text.index(f'"{key}"')
        start = text.index(":", at) + 1
        while text[start] in " \n":
            start += 1
        _, end = decoder.raw_decode(text, start)
        ranges[key] = (start, end)
    return ranges


@EXAMPLES
@given(case=_json_doc())
def test_structured_llm_chat_and_stream_chat(
    emulator: ParallelEmulator, llm: ParallelLLM, case: tuple[str, tuple[CitedSpan, ...]]
) -> None:
    text, spans = case
    exp = expected(text, spans)
    _serve(emulator, text, spans)
    structured = llm.as_structured_llm(Doc)
    messages = [ChatMessage(role="user", content="q")]

    async def astream_last() -> Any:
        return [chunk async for chunk in await structured.astream_chat(messages)][-1]

    responses = [
        structured.chat(messages),
        list(structured.stream_chat(messages))[-1],
        asyncio.run(astream_last()),
    ]
    ranges = _value_ranges(text)
    for response in responses:
        content = response.message.content
        assert content == text
        assert [(s.start, s.end, s.url) for s in spans_of(response)] == exp.spans
        basis = {b["field"]: b for b in response.additional_kwargs["basis"]}
        for field, (start, end) in ranges.items():
            inside = [text[s:e] for s, e, _ in exp.spans if start <= s and e <= end and s < e]
            excerpts = [x for c in basis[field]["citations"] for x in c["excerpts"]]
            assert set(excerpts) == {p for p in inside if p.strip()}


@pytest.fixture(scope="module")
def lm(emulator: ParallelEmulator) -> ParallelLM:
    return ParallelLM("parallel", base_url=emulator.base_url, cache=False, **OPTIONS)


def _history_spans(lm: ParallelLM) -> tuple[str, list[tuple[int, int, str]]]:
    [output] = lm.history[-1]["outputs"]
    return output["text"], [(s["start"], s["end"], s["url"]) for s in output["cited_spans"]]


def _section_ranges(text: str) -> dict[str, tuple[int, int]]:
    ranges = {}
    for name in ("first", "second"):
        start = text.index(f"[[ ## {name} ## ]]\n") + len(f"[[ ## {name} ## ]]\n")
        ranges[name] = (start, text.index("\n\n[[ ##", start))
    return ranges


@EXAMPLES
@given(case=_sections())
def test_dspy_chat_adapter(
    emulator: ParallelEmulator, lm: ParallelLM, case: tuple[str, tuple[CitedSpan, ...]]
) -> None:
    text, spans = case
    exp = expected(text, spans)
    _serve(emulator, text, spans)
    with dspy.context(lm=lm, adapter=dspy.ChatAdapter()), collect_basis() as calls:
        prediction = dspy.Predict("question -> first, second")(question="q")
    assert prediction.first and prediction.second
    shown, handed = _history_spans(lm)
    assert shown == text and handed == exp.spans
    basis = {b.field: b for b in calls.calls[-1].research.basis}
    for field, (start, end) in _section_ranges(text).items():
        inside = {text[s:e] for s, e, _ in exp.spans if start <= s and e <= end and s < e}
        excerpts = {x for c in basis[field].citations for x in c.excerpts}
        assert excerpts == {p for p in inside if p.strip()}


@EXAMPLES
@given(case=_json_doc())
def test_dspy_json_adapter(
    emulator: ParallelEmulator, lm: ParallelLM, case: tuple[str, tuple[CitedSpan, ...]]
) -> None:
    text, spans = case
    exp = expected(text, spans)
    _serve(emulator, text, spans)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        prediction = dspy.Predict("question -> first, second")(question="q")
    assert prediction.first == json.loads(text)["first"]
    shown, handed = _history_spans(lm)
    assert shown == text and handed == exp.spans
    basis = {b.field: b for b in calls.calls[-1].research.basis}
    for field, (start, end) in _value_ranges(text).items():
        inside = {text[s:e] for s, e, _ in exp.spans if start <= s and e <= end and s < e}
        assert {x for c in basis[field].citations for x in c.excerpts} == {
            p for p in inside if p.strip()
        }


# -- the Chat API: citations per field, no spans ---------------------------------------------


@EXAMPLES
@given(text=_words(), urls=st.lists(st.sampled_from(WEB), max_size=4, unique=True))
def test_chat_api_surfaces_hand_out_no_spans_and_number_every_source(
    emulator: ParallelEmulator, text: str, urls: list[str]
) -> None:
    citations = tuple(Citation(u, "T", (text[: len(text) // 2] or text,)) for u in urls)
    basis = (FieldBasis("output", citations),) if citations else ()

    def respond(request: EmulatorRequest) -> EmulatorAnswer:
        return EmulatorAnswer(text, basis=basis)

    emulator.responder = respond
    chat = pa.ParallelChat(model="base", base_url=emulator.base_url, **OPTIONS)
    completion = chat.complete("q")
    assert completion.text == text == completion.text_with_markers()
    assert completion.cited_spans == [] and [c.url for c in completion.citations] == urls
    llm = ParallelLLM(model="base", base_url=emulator.base_url, **OPTIONS)
    response = ParallelWebQueryEngine(llm=llm, citation_markers=True).query("q")
    assert spans_of(response) == []
    markers = "".join(f"[{n}]" for n in range(1, len(response.source_nodes) + 1))
    assert str(response.response) == (f"{text} {markers}" if markers else text)
    assert [n.node.metadata["url"] for n in response.source_nodes] == urls
