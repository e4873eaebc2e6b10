"""The journal keeps what a user needs to resume and to see what failed.

Closing compacts the file; it must keep the last failure of every id that never got an
answer, since that line is the only record of which items failed and why. Answer lines
must hold whatever a structured answer holds (dates, decimals, enums), and a failure line
whatever was raised.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters._core import shape_request
from parallel_adapters._journal import (
    Journal,
    answer_record,
    completion_from_record,
    error_record,
)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _answer(item_id: int | str, text: str = "ok") -> dict[str, object]:
    return {"id": item_id, "text": text, "citations": [], "basis": []}


def _failure(item_id: int | str, message: str) -> dict[str, object]:
    return {"id": item_id, "error": {"type": "ServerError", "message": message, "status_code": 500}}


def test_closing_keeps_the_last_failure_of_every_id_that_never_got_an_answer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(_failure(1, "first try"))
        journal.write(_failure(2, "never answered"))
        journal.write(_failure(1, "second try"))
        journal.write(_failure("3", "refused"))
        journal.write(_failure(4, "failed before its answer"))
        journal.write(_answer(4))
    # One line per id: id 1's superseded failure and id 4's failure are gone; the
    # failures of ids 1, 2 and "3", which never got an answer, are all still there.
    assert _lines(path) == [
        _failure(2, "never answered"),
        _failure(1, "second try"),
        _failure("3", "refused"),
        _answer(4),
    ]
    with Journal(path) as again:
        assert set(again.state.failed) == {"1", "2", '"3"'}
        assert again.state.failed["1"]["error"]["message"] == "second try"
        assert set(again.state.answered) == {"4"}


def test_compaction_after_a_resume_keeps_the_failures_read_back(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(
        "".join(
            json.dumps(r) + "\n"
            for r in [_failure(1, "old"), _failure(2, "still failing"), _failure(1, "older?")]
        )
    )
    with Journal(path) as journal:
        assert set(journal.state.failed) == {"1", "2"}
        journal.write(_answer(1))
    assert _lines(path) == [_failure(2, "still failing"), _answer(1)]


def test_a_journal_with_nothing_superseded_is_left_as_written(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(_failure(1, "boom"))
        journal.write(_answer(2))
    before = path.read_text()
    with Journal(path):
        pass
    assert path.read_text() == before
    assert not (tmp_path / "out.jsonl.compact").exists()


class Colour(enum.Enum):
    RED = "red"


class Filing(BaseModel):
    filed: dt.date
    at: dt.datetime
    revenue: Decimal
    colour: Colour


def test_a_structured_answer_with_dates_decimals_and_enums_is_journaled_and_read_back(
    tmp_path: Path,
) -> None:
    request = shape_request("q", model="base", response_format=Filing)
    parsed = Filing(
        filed=dt.date(2026, 3, 1),
        at=dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.timezone.utc),
        revenue=Decimal("12.50"),
        colour=Colour.RED,
    )
    completion = pa.Completion(text=parsed.model_dump_json(), model="base", parsed=parsed)
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(answer_record("f1", completion, request))
    (line,) = _lines(path)
    assert line["parsed"] == {
        "filed": "2026-03-01",
        "at": "2026-03-01T12:30:00Z",
        "revenue": "12.50",
        "colour": "red",
    }
    with Journal(path) as again:
        back = completion_from_record(again.state.answered['"f1"'], request)
    assert back.parsed == parsed


def test_a_text_response_format_is_not_parsed_as_json() -> None:
    request = shape_request("q", model="base", response_format={"type": "text"})
    completion = pa.Completion(text="plain words, not JSON", model="base")
    record = answer_record(1, completion, request)
    assert "parsed" not in record
    assert record["text"] == "plain words, not JSON"


def test_a_json_object_answer_is_journaled_parsed() -> None:
    request = shape_request("q", model="base", response_format={"type": "json_object"})
    record = answer_record(1, pa.Completion(text='{"a": [1, 2]}', model="base"), request)
    assert record["parsed"] == {"a": [1, 2]}
    with pytest.raises(pa.OutputParseError, match="the answer is not valid JSON"):
        answer_record(1, pa.Completion(text="{", model="base"), request)


def test_an_answer_line_holds_the_answer_and_its_sources() -> None:
    request = shape_request("q", model="base")
    completion = pa.Completion(
        text="Paris",
        model="core",
        citations=[pa.Citation(url="https://a.example", title="A")],
        basis=[pa.FieldBasis(field="content", reasoning="r", confidence="high")],
        interaction_id="int_9",
    )
    record = answer_record(5, completion, request)
    assert record["id"] == 5
    assert record["text"] == "Paris"
    assert record["model"] == "core"
    assert record["interaction_id"] == "int_9"
    assert record["citations"][0]["url"] == "https://a.example"
    assert record["basis"][0]["confidence"] == "high"
    assert "parsed" not in record
    back = completion_from_record(json.loads(json.dumps(record)), request)
    assert (back.text, back.model, back.interaction_id) == ("Paris", "core", "int_9")


def test_a_failure_line_of_a_kit_error_has_its_message_without_the_status_suffix() -> None:
    error = pa.ServerError("the server is overloaded", status_code=503)
    assert str(error) == "the server is overloaded (HTTP 503)"
    record = error_record(3, error)
    assert record["id"] == 3
    assert record["error"] == {
        "type": "ServerError",
        "message": "the server is overloaded",
        "status_code": 503,
    }


def test_a_failure_line_of_any_other_exception_has_its_text_and_no_status() -> None:
    # A worker can fail with something that is not the kit's (a bug, an OS error): the line
    # must still say what it was, and the journal must still be writable.
    record = error_record("a", ConnectionResetError(104, "Connection reset by peer"))
    assert record["id"] == "a"
    assert record["error"] == {
        "type": "ConnectionResetError",
        "message": "[Errno 104] Connection reset by peer",
        "status_code": None,
    }
    assert "text" not in record
    json.dumps(record)
