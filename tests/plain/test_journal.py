"""The batch journal: durable lines, torn-line repair, resume state, compaction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters._core import Citation, FieldBasis, shape_request
from parallel_adapters._journal import (
    Journal,
    answer_record,
    completion_from_record,
    error_record,
)

ANSWER = {"id": 1, "text": "one", "citations": [], "basis": [], "interaction_id": "i1"}
FAILURE = {"id": 2, "error": {"type": "ServerError", "message": "boom", "status_code": 500}}


def _write(path: Path, *lines: str) -> None:
    path.write_text("".join(lines))


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps(ANSWER) + "\n", '{"id": 2, "text": "half an ans')
    with Journal(path) as journal:
        assert journal.state.torn_bytes == len('{"id": 2, "text": "half an ans')
        assert list(journal.state.answered) == ["1"]
        journal.write({**ANSWER, "id": 2, "text": "two"})
    assert [r["id"] for r in _lines(path)] == [1, 2]


def test_a_whole_last_line_without_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps(ANSWER))
    with Journal(path) as journal:
        assert journal.state.torn_bytes == 0
        assert "1" in journal.state.answered
        journal.write({**ANSWER, "id": 3})
    assert [r["id"] for r in _lines(path)] == [1, 3]


def test_a_damaged_line_in_the_middle_is_an_error_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps(ANSWER) + "\n", "garbage\n", json.dumps(FAILURE) + "\n")
    with pytest.raises(pa.InputError, match=r"out\.jsonl:2"):
        Journal(path)


def test_answers_are_skipped_failures_retried_and_superseded_failures_dropped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps(ANSWER) + "\n", json.dumps(FAILURE) + "\n")
    with Journal(path) as journal:
        assert set(journal.state.answered) == {"1"}
        assert set(journal.state.failed) == {"2"}
        journal.write({**ANSWER, "id": 2, "text": "two"})
        assert set(journal.state.failed) == set()
        # Every line is on disk before write() returns, before any close.
        assert len(_lines(path)) == 3
    # Closing dropped the failure the answer superseded: one line per id.
    assert _lines(path) == [ANSWER, {**ANSWER, "id": 2, "text": "two"}]


def test_ids_compare_as_json(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps(ANSWER) + "\n")
    with Journal(path) as journal:
        assert "1" in journal.state.answered
        assert '"1"' not in journal.state.answered


def test_one_journal_one_writer(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with Journal(path), pytest.raises(pa.InputError, match="in use"):
        Journal(path)


class Company(BaseModel):
    name: str


def test_records_round_trip_to_a_completion() -> None:
    request = shape_request("q", model="base", response_format=Company)
    completion = pa.Completion(
        text='{"name": "Parallel"}',
        model="base",
        basis=[FieldBasis(field="name", citations=[Citation(url="https://x.example")])],
        citations=[Citation(url="https://x.example")],
        interaction_id="abc",
        parsed=Company(name="Parallel"),
    )
    record = answer_record("q1", completion, request)
    assert record["parsed"] == {"name": "Parallel"}
    back = completion_from_record(json.loads(json.dumps(record)), request)
    assert back.text == completion.text
    assert back.parsed == Company(name="Parallel")
    assert back.citations == completion.citations
    assert back.basis == completion.basis
    assert back.interaction_id == "abc"


def test_a_json_answer_that_is_not_json_keeps_its_text_in_the_failure() -> None:
    request = shape_request("q", model="base", response_format={"type": "json_object"})
    completion = pa.Completion(text="not json", model="base")
    with pytest.raises(pa.OutputParseError) as caught:
        answer_record(1, completion, request)
    record = error_record(1, caught.value)
    assert record["error"]["type"] == "OutputParseError"
    assert record["text"] == "not json"
    unprocessable = error_record(7, pa.UnprocessableRequestError("bad", status_code=422))
    assert unprocessable["error"] == {
        "type": "UnprocessableRequestError",
        "message": "bad",
        "status_code": 422,
    }


def test_a_journal_answer_that_does_not_fit_the_request_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps({**ANSWER, "id": 0, "text": "plain text"}) + "\n")
    chat = pa.ParallelChat(api_key="k", base_url="http://127.0.0.1:9", requests_per_minute=None)
    with pytest.raises(pa.InputError, match="does not fit"):
        chat.map(["q"], journal=path, response_format=Company)


def test_a_compaction_that_cannot_write_leaves_the_journal_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    _write(path, json.dumps(FAILURE) + "\n", json.dumps({**ANSWER, "id": 2}) + "\n")
    before = path.read_bytes()
    # A real file-size limit (a full disk): the compacted copy cannot be written.
    script = (
        "import resource, sys\n"
        "from parallel_adapters._journal import Journal\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))\n"
        "Journal(sys.argv[1]).close()\n"
        "print('closed')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "closed\n"
    assert "left uncompacted: [Errno 27] File too large" in done.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    with Journal(path) as journal:  # and it reads as before
        assert set(journal.state.answered) == {"2"}


def test_the_last_line_of_an_id_decides_and_compaction_keeps_a_paid_answer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.jsonl"
    old = {**ANSWER, "fingerprint": "a" * 32}
    new = {**ANSWER, "text": "re-asked", "fingerprint": "b" * 32}
    failure = {**FAILURE, "id": 1}
    _write(path, json.dumps(old) + "\n", json.dumps(failure) + "\n")
    with Journal(path) as journal:
        # Re-asked, and the re-asking failed: asked again, the old answer kept on disk.
        assert set(journal.state.failed) == {"1"}
        assert not journal.state.answered
    assert _lines(path) == [old, failure]
    with Journal(path) as journal:
        journal.write(new)
        assert journal.state.answered["1"] == new
    assert _lines(path) == [new]


def test_an_incomplete_responses_answer_is_journaled_as_a_failure_to_retry(
    tmp_path: Path,
) -> None:
    """Issue 21, item 7: `status: "incomplete"` comes back flagged, and the journal asks
    it again next run instead of counting it as answered."""
    from tests.core import responses_wire as wire
    from tests.core.loopback import Reply, replay

    cut = wire.response(
        [wire.message_item("Jensen Huang has been", [])],
        status="incomplete",
        incomplete_details={"reason": "max_output_tokens"},
    )
    path = tmp_path / "out.jsonl"
    options = {"api_key": "k", "requests_per_minute": None, "max_retries": 0}
    with replay(Reply.json(cut)) as server:
        chat = pa.ParallelChat(model="parallel", base_url=server.base_url, **options)
        [first] = chat.map(["q"], journal=path)
    assert first.incomplete and first.incomplete_reason == "max_output_tokens"
    [line] = _lines(path)
    assert line["error"] == {
        "type": "IncompleteAnswer",
        "message": "the answer is incomplete (max_output_tokens); it is asked again next run",
        "status_code": None,
    }
    assert line["text"] == "Jensen Huang has been"
    with Journal(path) as journal:
        assert set(journal.state.failed) == {"0"}
    with replay(Reply.json(wire.NVIDIA)) as server:
        chat = pa.ParallelChat(model="parallel", base_url=server.base_url, **options)
        [second] = chat.map(["q"], journal=path)
        assert len(server.requests) == 1
    assert second.text == wire.JENSEN and not second.incomplete
    assert [r.get("text") for r in _lines(path)] == [wire.JENSEN]
