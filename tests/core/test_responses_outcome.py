"""What a Responses answer tells its user: why it stopped, and which passage each source backs.

An answer cut short (`status: "incomplete"`) must say why, or a caller takes a truncated
answer for a whole one. A citation on the answer's last sentence ends at the very end of the
text, and must still get its `[n]` marker.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import (
    ResponsesAccumulator,
    completion_from_responses_body,
    shape_responses_request,
)

from . import responses_wire as wire

TEXT = "Paris is the capital. It has 2.1 million people."
SOURCE = "https://insee.example/paris"


def _completion(**fields: Any) -> Any:
    body = wire.response([wire.message_item(TEXT, [])], **fields)
    return completion_from_responses_body(body, shape_responses_request("q", model="parallel"))


@pytest.mark.parametrize(
    ("fields", "finish_reason"),
    [
        ({"status": "completed"}, "stop"),
        ({"status": None}, "stop"),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}},
            "max_output_tokens",
        ),
        (
            {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
            "content_filter",
        ),
        # The reason is missing, blank or not a string: still never "stop".
        ({"status": "incomplete", "incomplete_details": None}, "incomplete"),
        ({"status": "incomplete", "incomplete_details": {"reason": ""}}, "incomplete"),
        ({"status": "incomplete", "incomplete_details": {"reason": 3}}, "incomplete"),
        ({"status": "incomplete", "incomplete_details": "max_output_tokens"}, "incomplete"),
    ],
)
def test_the_finish_reason_says_why_an_answer_stopped(
    fields: dict[str, Any], finish_reason: str
) -> None:
    completion = _completion(**fields)
    assert completion.finish_reason == finish_reason
    assert completion.text == TEXT


def test_a_citation_on_the_last_sentence_gets_its_marker() -> None:
    last = TEXT.index("It has")
    annotations = [
        wire.citation(SOURCE, "INSEE", last, len(TEXT)),
        wire.citation("https://other.example", "Other", 0, len("Paris is the capital.")),
    ]
    body = wire.response([wire.message_item(TEXT, annotations)])
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    n = [c.url for c in completion.citations].index(SOURCE) + 1
    m = 3 - n
    assert completion.text_with_markers() == (
        f"Paris is the capital.[{m}] It has 2.1 million people.[{n}]"
    )


def test_odd_output_items_are_skipped_and_the_searches_after_them_kept() -> None:
    search = {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "paris population"},
    }
    output = [
        "junk",
        None,
        {"type": "web_search_call", "id": "ws_0", "action": "not an object"},
        search,
        wire.message_item(TEXT, []),
    ]
    body = wire.response(output)
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    assert completion.text == TEXT
    assert [(c.id, c.action.query if c.action else None) for c in completion.web_search_calls] == [
        ("ws_1", "paris population")
    ]


def _markers(spans: list[tuple[int, int, str]], cited: list[str]) -> str:
    completion = pa.Completion(
        text=TEXT,
        model="parallel",
        citations=[pa.Citation(url=url) for url in cited],
        cited_spans=[pa.CitedSpan(start=s, end=e, url=url) for s, e, url in spans],
    )
    return completion.text_with_markers()


def test_a_span_whose_source_is_not_listed_gets_no_marker_and_the_next_span_still_does() -> None:
    first = len("Paris is the capital.")
    assert _markers([(0, first, "https://unlisted.example"), (0, len(TEXT), SOURCE)], [SOURCE]) == (
        TEXT + "[1]"
    )


def test_a_span_ending_past_the_text_gets_no_marker_and_the_next_span_still_does() -> None:
    first = len("Paris is the capital.")
    spans = [(0, len(TEXT) + 5, SOURCE), (0, first, SOURCE)]
    assert _markers(spans, [SOURCE]) == TEXT[:first] + "[1]" + TEXT[first:]
    assert _markers([(0, -1, SOURCE)], [SOURCE]) == TEXT


def test_a_span_ending_at_the_start_puts_its_marker_first() -> None:
    assert _markers([(0, 0, SOURCE)], [SOURCE]) == "[1]" + TEXT


SEARCH_ITEM = {
    "type": "web_search_call",
    "id": "ws_1",
    "status": "completed",
    "action": {"type": "search", "query": "paris population"},
}


def _stream(*events: dict[str, Any]) -> Any:
    accumulator = ResponsesAccumulator(shape_responses_request("q", model="parallel"))
    for event in events:
        accumulator.add(event)
    return accumulator.finish()


def _deltas(*parts: str) -> list[dict[str, Any]]:
    return [{"type": "response.output_text.delta", "delta": p} for p in parts]


def test_a_final_object_with_its_text_is_the_answer() -> None:
    final = wire.response([SEARCH_ITEM, wire.message_item("Final text.", [])])
    completion = _stream(*_deltas("partial"), {"type": "response.completed", "response": final})
    assert completion.text == "Final text."
    assert completion.raw == final


def test_a_final_object_without_text_is_rebuilt_from_the_deltas() -> None:
    final = wire.response([SEARCH_ITEM, wire.message_item("", [])], status="incomplete")
    final["incomplete_details"] = {"reason": "max_output_tokens"}
    final.pop("object")
    annotation = wire.citation(SOURCE, "INSEE", 0, len("Paris"))
    completion = _stream(
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        *_deltas("Paris", " is big."),
        {"type": "response.output_text.annotation.added", "annotation": annotation},
        {"type": "response.output_text.annotation.added", "annotation": "not an object"},
        {"type": "response.incomplete", "response": final},
    )
    assert completion.text == "Paris is big."
    assert completion.finish_reason == "max_output_tokens"
    assert completion.text_with_markers() == "Paris[1] is big."
    assert [c.id for c in completion.web_search_calls] == ["ws_1"]
    raw = completion.raw
    assert (raw["object"], raw["status"]) == ("response", "incomplete")
    assert raw["output"] == [
        SEARCH_ITEM,
        {
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "Paris is big.", "annotations": [annotation]}
            ],
        },
    ]


def test_a_stream_with_no_final_object_is_flagged_incomplete() -> None:
    completion = _stream(
        {"type": "response.created", "response": {"id": "resp_1", "output": [SEARCH_ITEM]}},
        *_deltas("Paris is"),
    )
    assert completion.text == "Paris is"
    assert completion.incomplete
    assert (completion.raw["object"], completion.raw["status"]) == ("response", "completed")
    assert completion.raw["output"][0] == SEARCH_ITEM
    assert completion.raw["output"][1]["content"][0]["text"] == "Paris is"


@pytest.mark.parametrize(
    ("error", "message", "code"),
    [
        (
            {"code": "server_error", "message": "search backend down"},
            "search backend down",
            "server_error",
        ),
        ({"code": 500, "message": ""}, "the research run failed", None),
        (None, "the research run failed", None),
        ({"message": 7}, "the research run failed", None),
    ],
)
def test_a_failed_run_is_a_retryable_typed_error_with_the_servers_message(
    error: Any, message: str, code: str | None
) -> None:
    failed = wire.response([], status="failed", error=error)
    request = shape_responses_request("q", model="parallel")
    for raise_it in (
        lambda: completion_from_responses_body(failed, request),
        lambda: _stream({"type": "response.failed", "response": failed}),
    ):
        with pytest.raises(pa.ResponseFailedError) as caught:
            raise_it()
        assert caught.value.message == message
        assert caught.value.code == code
        assert caught.value.body == failed
        # Failed runs are not billed: the core retries them like a 5xx.
        assert caught.value.retryable is True
        assert caught.value.status_code is None


def test_a_failed_event_without_a_response_object_still_fails() -> None:
    with pytest.raises(pa.ResponseFailedError, match=r"^the research run failed$") as caught:
        _stream({"type": "response.failed", "response": "gone"})
    assert caught.value.body == {}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"type": "error", "message": "rate limited", "code": "x"}, "rate limited"),
        ({"type": "error", "message": ""}, "the stream reported an error"),
        ({"type": "error"}, "the stream reported an error"),
    ],
)
def test_an_error_event_is_a_non_retryable_server_error(
    event: dict[str, Any], message: str
) -> None:
    with pytest.raises(pa.ServerError) as caught:
        _stream(*_deltas("Par"), event)
    assert caught.value.message == message
    assert caught.value.body == event
    assert caught.value.retryable is False
    assert caught.value.status_code is None


def test_events_an_sdk_wrapped_in_data_are_read_and_odd_ones_ignored() -> None:
    accumulator = ResponsesAccumulator(shape_responses_request("q", model="parallel"))
    assert accumulator.saw_done is False
    assert accumulator.add({"data": {"type": "response.output_text.delta", "delta": "Hi"}}) == "Hi"
    assert accumulator.add({"type": "response.output_text.delta", "delta": " there"}) == " there"
    # Not events, or events with nothing to add: no text, no error.
    assert accumulator.add("junk") == ""
    assert accumulator.add({"type": "response.output_text.delta", "delta": ""}) == ""
    assert accumulator.add({"type": "response.output_text.delta", "delta": 5}) == ""
    assert accumulator.add({"type": "response.in_progress", "data": {"type": "error"}}) == ""
    assert accumulator.add({"type": "response.output_text.delta", "delta": "!"}) == "!"
    assert accumulator.text == "Hi there!"


def _note(url: Any, start: Any, end: Any, title: Any = None) -> dict[str, Any]:
    note = {"type": "url_citation", "url": url, "start_index": start, "end_index": end}
    if title is not None:
        note["title"] = title
    return note


def test_spans_of_every_text_part_point_at_their_passage_in_the_joined_text() -> None:
    first, second = "Paris is the capital. ", "It has 2.1M people."
    A, B, C = "https://a.example", "https://b.example", "https://c.example"
    message = {
        "type": "message",
        "role": "assistant",
        "content": [
            "not a part",
            {"type": "refusal", "refusal": "no"},
            {"type": "output_text", "text": 5},
            {
                "type": "output_text",
                "text": first,
                "annotations": [
                    _note(A, 0, 21, "A"),
                    "junk",
                    {"type": "file_citation", "url": B, "start_index": 0, "end_index": 3},
                    _note("", 0, 3),
                    _note(C, 0, 5),
                    _note(C, 6, 8, "C title"),  # a later span gives the title
                ],
            },
            {
                "type": "output_text",
                "text": second,
                "annotations": [
                    _note(B, 0, 19),
                    _note(A, 0, 6, "Other"),  # the first title stays
                    _note(B, 6, 7),  # a blank passage is no excerpt
                    _note(B, 0, 19),
                ],
            },
        ],
    }
    closing = {"type": "output_text", "text": "!", "annotations": "not a list"}
    output = [
        "junk",
        {"type": "reasoning", "content": [{"type": "output_text", "text": "thinking"}]},
        message,
        {**message, "content": [closing]},
    ]
    body = wire.response(output)
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    assert completion.text == first + second + "!"
    assert [(s.start, s.end, s.url, s.title) for s in completion.cited_spans] == [
        (0, 21, A, "A"),
        (0, 5, C, None),
        (6, 8, C, "C title"),
        (22, 41, B, None),
        (22, 28, A, "Other"),
        (28, 29, B, None),
        (22, 41, B, None),
    ]
    for span in completion.cited_spans:
        assert completion.text[span.start : span.end] in (first + second)
    assert [(c.url, c.title, c.excerpts) for c in completion.citations] == [
        (A, "A", ["Paris is the capital.", "It has"]),
        (C, "C title", ["Paris", "is"]),
        (B, None, [second]),
    ]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ([1, 2], r"^the server sent a list instead of a JSON object$"),
        ("oops", r"^the server sent a str instead of a JSON object$"),
        ({"id": "resp_1", "status": "completed"}, r"^the server's answer has no output$"),
        ({"id": "resp_1", "output": "text"}, r"^the server's answer has no output$"),
    ],
)
def test_a_body_that_is_no_response_object_is_a_non_retryable_server_error(
    body: Any, match: str
) -> None:
    with pytest.raises(pa.ServerError, match=match) as caught:
        completion_from_responses_body(body, shape_responses_request("q", model="parallel"))
    assert type(caught.value) is pa.ServerError
    assert caught.value.retryable is False
    assert caught.value.status_code is None
    if isinstance(body, dict):
        assert caught.value.body == body


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {
                "id": "resp_9",
                "model": "parallel-2026",
                "created_at": 1790000000.7,
                "usage": {"t": 1},
            },
            ("resp_9", "parallel-2026", 1790000000, {"t": 1}),
        ),
        (
            {"id": "", "model": "", "created_at": True, "usage": {}},
            (None, "parallel", None, None),
        ),
        (
            {"id": 7, "model": 5, "created_at": "1790000000", "usage": [1]},
            (None, "parallel", None, None),
        ),
        (
            {"id": None, "model": None, "created_at": False, "usage": None},
            (None, "parallel", 0, None),
        ),
    ],
)
def test_blank_or_mistyped_header_fields_become_none_or_the_default(
    fields: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    body = {**wire.response([wire.message_item(TEXT, [])]), **fields}
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    got = (completion.id, completion.model, completion.created, completion.usage)
    assert got == expected
    assert completion.interaction_id == expected[0]


def _structured(text: str, annotations: list[dict[str, Any]]) -> Any:
    body = wire.response([wire.message_item(text, annotations)])
    request = shape_responses_request("q", model="parallel", response_format=wire.CAPITAL_SCHEMA)
    return completion_from_responses_body(body, request)


def test_a_structured_answer_has_a_basis_per_field_from_the_spans_inside_it() -> None:
    text = ' {\t"capital" :\n"Paris" , "population": 2100000 } '
    paris = text.index('"Paris"')
    population = text.index("2100000")
    completion = _structured(
        text,
        [
            _note(SOURCE, paris, paris + 7, "INSEE"),
            _note("https://empty.example", population + 2, population + 2),  # empty span
            _note("https://both.example", paris, population + 7),  # spans two fields
        ],
    )
    assert [(b.field, [(c.url, c.excerpts) for c in b.citations]) for b in completion.basis] == [
        ("capital", [(SOURCE, ['"Paris"'])]),
        ("population", []),
    ]
    # Each field's sources are its own copies, not the answer-wide citations.
    assert completion.basis[0].citations[0] is not completion.citations[0]


@pytest.mark.parametrize(
    "text",
    [
        'X{"capital": "Paris"}',  # not a JSON object
        "[1, 2]",
        '{"capital" "Paris"}',  # no colon
        '{"capital": "Paris" "population": 1}',  # no comma
        '{1: "Paris"}',
        '{"capital": "Paris"',  # cut short
        "",
    ],
)
def test_a_structured_answer_that_is_not_a_json_object_has_one_output_basis(text: str) -> None:
    completion = _structured(text, [_note(SOURCE, 0, len(text))] if text else [])
    assert [b.field for b in completion.basis] == ["output"]
    assert [c.url for c in completion.basis[0].citations] == ([SOURCE] if text else [])


def test_an_empty_structured_object_has_no_field_basis() -> None:
    assert _structured(" { } ", []).basis == []


def test_a_plain_answer_has_one_output_basis_even_when_its_text_is_json() -> None:
    body = wire.response([wire.message_item('{"capital": "Paris"}', [_note(SOURCE, 0, 5)])])
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    assert [b.field for b in completion.basis] == ["output"]


@pytest.mark.parametrize("output", [None, {"type": "message"}, "text"])
def test_a_final_object_whose_output_is_not_a_list_is_rebuilt_from_the_deltas(output: Any) -> None:
    final = {**wire.response([]), "output": output}
    completion = _stream(*_deltas("Paris", "."), {"type": "response.completed", "response": final})
    assert completion.text == "Paris."
    assert completion.finish_reason == "stop"
    assert not completion.incomplete


def test_three_text_parts_keep_their_offsets_and_odd_annotations_are_skipped() -> None:
    parts = [
        {"type": "output_text", "text": "One. ", "annotations": None},
        {"type": "output_text", "text": "Two. ", "annotations": [_note(SOURCE, 0, 4, 5)]},
        {"type": "output_text", "text": "Three.", "annotations": [_note(SOURCE, 0, 6, "T")]},
    ]
    message = {"type": "message", "role": "assistant", "content": parts}
    body = wire.response([message])
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    assert completion.text == "One. Two. Three."
    # A title that is not text is dropped, not an error.
    assert [(s.start, s.end, s.title) for s in completion.cited_spans] == [
        (5, 9, None),
        (10, 16, "T"),
    ]
    assert completion.citations[0].excerpts == ["Two.", "Three."]
    assert completion.citations[0].title == "T"


def test_a_plain_answers_basis_holds_copies_of_its_citations() -> None:
    body = wire.response([wire.message_item(TEXT, [_note(SOURCE, 0, 5)])])
    completion = completion_from_responses_body(
        body, shape_responses_request("q", model="parallel")
    )
    (basis,) = completion.basis
    assert basis.field == "output"
    assert basis.citations == completion.citations
    basis.citations[0].excerpts.append("changed")
    assert completion.citations[0].excerpts == ["Paris"]


def test_a_stream_of_deltas_alone_is_kept_and_flagged_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="parallel_adapters"):
        completion = _stream(*_deltas("Paris", " is"))
    assert completion.text == "Paris is"
    assert completion.incomplete
    assert [r.getMessage() for r in caplog.records] == [
        "the Responses stream ended with no response.completed; the answer (8 characters) "
        "may be cut short (Completion.incomplete)"
    ]


def test_compact_structured_json_still_has_a_basis_per_field() -> None:
    text = '{"capital":"Paris","population":2100000}'
    paris = text.index('"Paris"')
    completion = _structured(text, [_note(SOURCE, paris, paris + 7)])
    assert [(b.field, [c.url for c in b.citations]) for b in completion.basis] == [
        ("capital", [SOURCE]),
        ("population", []),
    ]


def test_text_before_the_first_key_is_not_a_json_object() -> None:
    text = 'X"capital": "Paris"}'
    completion = _structured(text, [_note(SOURCE, 0, len(text))])
    assert [b.field for b in completion.basis] == ["output"]
