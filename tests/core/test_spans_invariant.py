"""Issue 21 on the core: every cited span points at the passage it backs, in the text
handed out, whatever the server sends (bad offsets, script URLs, grapheme clusters,
unfinished runs, trailing stream events, many annotations)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import (
    ResponsesAccumulator,
    completion_from_responses_body,
    mark_spans,
    shape_responses_request,
)

from . import responses_wire as wire

URL = "https://example.org/a"


def _request(**params: Any) -> Any:
    return shape_responses_request("q", model="parallel", **params)


def _body(text: str, annotations: list[Any], **fields: Any) -> dict[str, Any]:
    return wire.response([wire.message_item(text, annotations)], **fields)


def _note(start: Any, end: Any, url: str = URL) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": url,
        "title": "T",
        "start_index": start,
        "end_index": end,
    }


def _read(text: str, annotations: list[Any], **params: Any) -> pa.Completion:
    return completion_from_responses_body(_body(text, annotations), _request(**params))


# -- item 4: grapheme clusters -----------------------------------------------------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl
CAFE = "Cafe\u0301"  # e + combining acute accent
FLAG = "\U0001f1eb\U0001f1f7"  # regional indicators F R
THUMB = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone
HEART = "\u2764\ufe0f"  # heart + variation selector 16


@pytest.mark.parametrize(
    ("text", "start", "end", "passage"),
    [
        (f"We are {FAMILY} here", 7, 8, FAMILY),  # ends inside the ZWJ sequence
        (f"We are {FAMILY} here", 9, 10, FAMILY),  # starts and ends inside it
        (f"At the {CAFE} now", 7, 11, CAFE),  # ends between the letter and its accent
        (f"Go {FLAG}!", 3, 4, FLAG),  # half a flag
        (f"Ok {THUMB}.", 3, 4, THUMB),  # the emoji without its skin tone
        (f"I {HEART} it", 2, 3, HEART),  # without its variation selector
        ("line\r\nnext", 0, 5, "line\r\n"),  # CR LF is one cluster
    ],
)
def test_spans_and_markers_snap_outward_to_grapheme_clusters(
    text: str, start: int, end: int, passage: str
) -> None:
    completion = _read(text, [_note(start, end)])
    [span] = completion.cited_spans
    assert text[span.start : span.end] == passage
    marked = completion.text_with_markers()
    assert marked.replace("[1]", "") == text
    assert f"{passage}[1]" in marked


def test_insert_markers_never_splits_a_cluster_even_for_raw_spans() -> None:
    text = f"We are {FAMILY} here"
    raw = pa.CitedSpan(start=7, end=8, url=URL)
    marked, [moved] = mark_spans(text, [raw], {URL: 1}, "[{n}]")
    assert marked == f"We are {FAMILY}[1] here"
    assert marked[moved.start : moved.end] == FAMILY


# -- item 5: bad offsets are dropped, their sources kept ----------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [(5, 2), (-1, 3), (0, 99), (1.0, 3.0), (True, 3), (0, None), ("0", "3"), (None, None)],
)
def test_unusable_offsets_drop_the_span_and_keep_the_source(
    start: Any, end: Any, caplog: pytest.LogCaptureFixture
) -> None:
    text = "Paris is the capital."
    good = _note(0, 5, "https://example.org/good")
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        completion = _read(text, [good, _note(start, end)])
    assert [(s.start, s.end, s.url) for s in completion.cited_spans] == [
        (0, 5, "https://example.org/good")
    ]
    assert [c.url for c in completion.citations] == ["https://example.org/good", URL]
    assert completion.citations[1].excerpts == []
    assert completion.text_with_markers() == "Paris[1] is the capital."
    assert "dropped the span of 1 url_citation" in caplog.text


def test_the_insert_markers_docstring_holds_for_spans_past_the_end() -> None:
    spans = [pa.CitedSpan(start=0, end=50, url=URL), pa.CitedSpan(start=0, end=2, url=URL)]
    assert pa.Completion(text="abc", model="parallel").text_with_markers() == "abc"
    marked, moved = mark_spans("abc", spans, {URL: 1}, "[{n}]")
    assert (marked, [(s.start, s.end) for s in moved]) == ("ab[1]c", [(0, 2)])


# -- item 6: only http(s) URLs are sources ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "file:///etc/passwd",
        " https://example.org/leading-space",
        "https://",
    ],
)
def test_non_web_urls_are_not_sources(url: str, caplog: pytest.LogCaptureFixture) -> None:
    text = "Paris is the capital."
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        completion = _read(text, [_note(0, 5), _note(0, 5, url)])
    assert [c.url for c in completion.citations] == [URL]
    assert [s.url for s in completion.cited_spans] == [URL]
    assert all(c.url == URL for b in completion.basis for c in b.citations)
    assert "not an http(s) address" in caplog.text


def test_http_and_https_in_any_case_are_sources() -> None:
    completion = _read("abc", [_note(0, 1, "HTTP://a.example/x"), _note(1, 2, "https://b.example")])
    assert [c.url for c in completion.citations] == ["HTTP://a.example/x", "https://b.example"]


# -- item 7: unfinished runs ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "in_progress", "cancelled"])
def test_an_unfinished_run_is_a_typed_error_not_an_empty_answer(status: str) -> None:
    body = wire.response([], status=status)
    with pytest.raises(
        pa.ResponseNotFinishedError, match=f"the research run is {status}"
    ) as caught:
        completion_from_responses_body(body, _request())
    assert caught.value.status == status
    assert caught.value.retryable is False
    assert isinstance(caught.value, pa.ServerError)


def test_an_incomplete_run_is_an_answer_marked_incomplete_with_its_reason() -> None:
    body = _body(
        wire.JENSEN,
        [_note(0, 12)],
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
    )
    completion = completion_from_responses_body(body, _request())
    assert completion.text == wire.JENSEN
    assert completion.incomplete is True
    assert completion.incomplete_reason == "max_output_tokens"
    done = completion_from_responses_body(_body(wire.JENSEN, []), _request())
    assert (done.incomplete, done.incomplete_reason) == (False, None)


# -- item 8: the first response.completed ends the stream -----------------------------------


def test_events_after_the_first_completed_are_ignored_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = wire.stream_events(wire.NVIDIA)
    other = wire.response([wire.message_item("A different answer.", [])])
    events += [
        {"type": "response.output_text.delta", "delta": " and more"},
        {"type": "response.completed", "response": other},
        {"type": "response.failed", "response": wire.FAILED},
    ]
    accumulator = ResponsesAccumulator(_request(stream=True))
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        shown = "".join(accumulator.add(event) for event in events)
        completion = accumulator.finish()
    assert shown == wire.JENSEN == completion.text
    assert "after the stream's end" in caplog.text
    assert "ignored 3 events" in caplog.text


def test_a_stream_shows_what_it_returns_after_a_second_completed() -> None:
    """Through a real SSE stream: the caller sees the first answer's text and gets it."""
    from .loopback import Reply, replay

    other = wire.response([wire.message_item("A different answer.", [])])
    events = [
        *wire.stream_events(wire.NVIDIA),
        {"type": "response.output_text.delta", "delta": " (and more)"},
        {"type": "response.completed", "response": other},
    ]
    with replay(Reply.sse(wire.sse(events))) as server:
        chat = pa.ParallelChat(
            model="parallel", base_url=server.base_url, api_key="k", requests_per_minute=None
        )
        with chat.stream("q") as stream:
            shown = "".join(part.delta for part in stream)
    assert shown == stream.completion.text == wire.JENSEN
    assert len(stream.completion.cited_spans) == 2


# -- item 9: linear work (timed in bench/: "responses_annotations", 100,000 under 1 s) ----------


def test_many_distinct_passages_on_one_url_each_become_one_excerpt() -> None:
    n = 16_000
    text = "".join(f"{i:06d}" for i in range(n))
    completion = _read(text, [_note(6 * i, 6 * i + 6) for i in range(n)])
    [citation] = completion.citations
    assert citation.excerpts[:2] == ["000000", "000001"] and len(citation.excerpts) == n
    assert len(completion.cited_spans) == n


def test_each_span_of_many_fields_is_attributed_to_its_own_field() -> None:
    fields = {f"f{i}": f"v{i:05d}" for i in range(2_000)}
    text = json.dumps(fields)
    notes = []
    for value in fields.values():
        at = text.index(f'"{value}"') + 1
        notes += [_note(at, at + 6), _note(at + 1, at + 3)] * 5  # 20,000 spans in all
    schema = {"name": "x", "schema": {"type": "object"}}
    completion = completion_from_responses_body(
        _body(text, notes), _request(response_format={"type": "json_schema", "json_schema": schema})
    )
    assert len(completion.basis) == 2_000
    assert all(
        entry.citations[0].excerpts == [fields[entry.field], fields[entry.field][1:3]]
        for entry in completion.basis
    )


# -- item 10: an empty previous_interaction_id ------------------------------------------------


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_previous_interaction_id_is_refused(value: str) -> None:
    with pytest.raises(pa.InputError, match="previous_interaction_id is empty"):
        _request(previous_interaction_id=value)
    assert _request(previous_interaction_id="resp_1").body["previous_response_id"] == "resp_1"
    assert "previous_response_id" not in _request().body


def test_trusted_spans_equal_validated_ones_and_stay_frozen() -> None:
    from pydantic import ValidationError

    from parallel_adapters._core._spans import trusted_span

    fast = trusted_span(1, 2, URL, None)
    slow = pa.CitedSpan(start=1, end=2, url=URL)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert fast.model_dump() == slow.model_dump()
    with pytest.raises(ValidationError, match="frozen"):
        fast.start = 3


# -- items 6 and 10 on the Chat API too: one rule for both APIs ------------------------------


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_previous_interaction_id_is_refused_on_the_chat_api(value: str) -> None:
    from parallel_adapters._core import shape_request

    with pytest.raises(pa.InputError, match="previous_interaction_id is empty"):
        shape_request("x", model="base", previous_interaction_id=value)
    body = shape_request("x", model="base", previous_interaction_id="int_1").body
    assert body["previous_interaction_id"] == "int_1"


def test_chat_basis_keeps_only_web_citations(caplog: pytest.LogCaptureFixture) -> None:
    from parallel_adapters._core import parse_basis

    raw = [
        {
            "field": "answer",
            "citations": [
                {"url": "javascript:alert(1)", "excerpts": ["x"]},
                {"url": "https://example.com/a", "excerpts": ["kept"]},
                {"url": "data:text/html,<script>1</script>"},
                {"url": "HTTP://Example.com/b"},
            ],
        }
    ]
    with caplog.at_level("WARNING", logger="parallel_adapters"):
        (basis,) = parse_basis(raw)
    assert [c.url for c in basis.citations] == ["https://example.com/a", "HTTP://Example.com/b"]
    assert "dropped 2 citation(s) whose URL is not an http(s) address" in caplog.text


# -- mark_spans: spans moved into the marked text (item 1), checked on the text itself ----


def test_mark_spans_moves_every_span_onto_its_passage_in_the_marked_text() -> None:
    from parallel_adapters._core._spans import mark_spans

    text = "Paris is the capital. It lies on the Seine. Cafe\u0301 au lait."
    first, second, third = "https://a.example/1", "https://b.example/2", "https://c.example/3"
    spans = [
        pa.CitedSpan(start=0, end=21, url=first, title="A"),  # the first sentence
        pa.CitedSpan(start=22, end=43, url=second),  # the second
        pa.CitedSpan(start=0, end=43, url=third),  # both: markers of others inside it
        pa.CitedSpan(start=22, end=22, url=first),  # empty, at the second's start
        pa.CitedSpan(start=44, end=48, url=second),  # ends inside "e" + combining accent
    ]
    numbers = {first: 1, second: 2, third: 3}
    marked, moved = mark_spans(text, spans, numbers, "[{n}]")
    assert marked == (
        "Paris is the capital.[1] [1]It lies on the Seine.[2][3] Cafe\u0301[2] au lait."
    )
    passages = [marked[s.start : s.end] for s in moved]
    assert passages == [
        "Paris is the capital.",
        "It lies on the Seine.",
        # markers of spans ending strictly inside it; [2] ends where it ends, so follows it
        "Paris is the capital.[1] [1]It lies on the Seine.",
        "",
        "Cafe\u0301",
    ]
    # each span's own marker follows it; the title and URL ride along unchanged
    assert marked[moved[0].end :].startswith("[1]")
    assert marked[moved[2].end :].startswith("[2][3]")
    assert [(s.url, s.title) for s in moved] == [(s.url, s.title) for s in spans]
    # the empty span sits after the marker inserted at its point, not before it
    assert moved[3].start == moved[1].start


def test_mark_spans_leaves_text_and_spans_alone_without_numbers() -> None:
    from parallel_adapters._core._spans import mark_spans

    spans = [pa.CitedSpan(start=0, end=5, url="https://a.example/1")]
    marked, moved = mark_spans("Paris is here.", spans, {}, "[{n}]")
    assert marked == "Paris is here."
    assert moved == spans
