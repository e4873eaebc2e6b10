"""The journal file itself: ids, durability, permissions, and when closing rewrites it.

Each write is fsynced before it returns (a crash loses nothing written); closing rewrites
the file only when a line was superseded; opening repairs a torn line however short.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters._core import shape_request
from parallel_adapters._journal import Journal, check_id, completion_from_record


def _answer(item_id: int | str, text: str = "ok") -> dict[str, Any]:
    return {"id": item_id, "text": text, "citations": [], "basis": []}


def _failure(item_id: int | str, message: str = "boom") -> dict[str, Any]:
    return {"id": item_id, "error": {"type": "ServerError", "message": message, "status_code": 500}}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("item_id", "match"),
    [
        (True, r"^row 3: id must be a string or an integer, got True$"),
        (1.5, r"^row 3: id must be a string or an integer, got 1\.5$"),
        (None, r"^row 3: id must be a string or an integer, got None$"),
        ("", r"^row 3: id must not be empty$"),
    ],
)
def test_a_bad_id_is_refused_with_where_it_was(item_id: Any, match: str) -> None:
    with pytest.raises(pa.InputError, match=match):
        check_id(item_id, "row 3")


@pytest.mark.parametrize("item_id", [0, 7, "a", " "])
def test_strings_and_integers_are_ids(item_id: Any) -> None:
    assert check_id(item_id, "row 1") == item_id


def test_every_write_is_fsynced_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with Journal(tmp_path / "out.jsonl") as journal:
        synced.clear()
        journal.write(_answer(1))
        assert len(synced) == 1
        journal.write(_failure(2))
        assert len(synced) == 2


def test_a_new_journal_is_readable_not_executable(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        with Journal(tmp_path / "out.jsonl"):
            pass
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "out.jsonl").stat().st_mode) == 0o644


def test_non_ascii_text_is_written_as_utf8_a_person_can_read(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(_answer("é", "Zürich, 東京"))
    assert "Zürich, 東京" in path.read_text(encoding="utf-8")
    assert _lines(path) == [_answer("é", "Zürich, 東京")]


def test_the_state_follows_every_write(tmp_path: Path) -> None:
    with Journal(tmp_path / "out.jsonl") as journal:
        journal.write(_failure(1))
        assert journal.state.failed == {"1": _failure(1)}
        journal.write(_answer(1))
        assert journal.state.failed == {}
        assert journal.state.answered == {"1": _answer(1)}


def test_an_answer_read_back_supersedes_the_failure_before_it(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_failure(1)) + "\n" + json.dumps(_answer(1)) + "\n")
    with Journal(path) as journal:
        assert journal.state.failed == {}
        assert set(journal.state.answered) == {"1"}


def test_a_journal_with_nothing_superseded_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_answer(1)) + "\n" + json.dumps(_failure(2)) + "\n")
    inode = path.stat().st_ino
    with Journal(path) as journal:
        journal.write(_failure(3))
        journal.write(_answer(4))
    assert path.stat().st_ino == inode  # the same file, appended to, never replaced
    assert [r["id"] for r in _lines(path)] == [1, 2, 3, 4]


def test_a_failure_written_again_is_dropped_on_close(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(_failure(1, "first"))
        journal.write(_failure(1, "second"))
    assert _lines(path) == [_failure(1, "second")]


def test_supersedes_found_on_open_and_written_later_add_up(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_failure(1, "a")) + "\n" + json.dumps(_failure(1, "b")) + "\n")
    with Journal(path) as journal:
        journal.write(_failure(1, "c"))
    assert _lines(path) == [_failure(1, "c")]


def test_closing_twice_is_harmless(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "out.jsonl")
    journal.write(_failure(1))
    journal.write(_failure(1, "again"))
    journal.close()
    journal.close()
    os.fstat(1)  # a second close must not close a descriptor that is not the journal's
    assert _lines(tmp_path / "out.jsonl") == [_failure(1, "again")]


def test_an_empty_journal_has_nothing_torn(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"")
    with Journal(path) as journal:
        assert journal.state.torn_bytes == 0


def test_a_one_byte_torn_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b"{")
    with Journal(path) as journal:
        assert journal.state.torn_bytes == 1
    assert path.read_bytes() == b""


class Company(BaseModel):
    name: str


def test_the_parsed_answer_of_a_line_wins_over_its_text() -> None:
    request = shape_request("q", model="base", response_format=Company)
    # The text as the model wrote it (fenced); the journal kept what was parsed from it.
    record = {**_answer(1, '```json\n{"name": "P"}\n```'), "parsed": {"name": "P"}}
    back = completion_from_record(record, request)
    assert back.parsed == Company(name="P")
    assert back.raw == record


def test_a_line_without_parsed_is_parsed_from_its_text() -> None:
    request = shape_request("q", model="base", response_format=Company)
    back = completion_from_record(_answer(1, '{"name": "P"}'), request)
    assert back.parsed == Company(name="P")
    plain = completion_from_record(_answer(1, "words"), shape_request("q", model="base"))
    assert plain.parsed is None
    assert plain.raw == _answer(1, "words")


def test_a_journal_on_descriptor_0_is_closed_and_compacted(tmp_path: Path) -> None:
    # Daemons and some cron setups run with stdin closed: the journal then gets fd 0.
    path = tmp_path / "out.jsonl"
    saved = os.dup(0)
    os.close(0)
    try:
        journal = Journal(path)
        journal.write(_failure(1, "first"))
        journal.write(_failure(1, "second"))
        journal.close()
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(0)  # the journal's descriptor was released
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    assert _lines(path) == [_failure(1, "second")]


def test_a_torn_line_after_several_whole_ones_is_the_only_thing_cut(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    whole = json.dumps(_answer(1)) + "\n" + json.dumps(_failure(2)) + "\n"
    path.write_text(whole + '{"id": 3, "te')
    with Journal(path) as journal:
        assert journal.state.torn_bytes == len('{"id": 3, "te')
        assert set(journal.state.answered) == {"1"}
        assert set(journal.state.failed) == {"2"}
    assert path.read_text() == whole


def test_a_whole_journal_is_opened_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    whole = json.dumps(_answer(1)) + "\n"
    path.write_text(whole)
    with Journal(path) as journal:
        assert journal.state.torn_bytes == 0
    assert path.read_text() == whole


def test_blank_lines_are_skipped_not_the_end(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_answer(1)) + "\n\n  \n" + json.dumps(_answer(2)) + "\n")
    with Journal(path) as journal:
        assert set(journal.state.answered) == {"1", "2"}


def test_a_line_this_kit_did_not_write_is_refused_with_its_number_and_what_to_do(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_answer(1)) + "\n" + json.dumps({"id": 2}) + "\n")
    with pytest.raises(pa.InputError) as caught:
        Journal(path)
    assert str(caught.value) == (
        f"{path}:2: not a line this kit wrote (each line is a JSON object with an id and a "
        "text or an error); fix or move the file"
    )


def test_compaction_keeps_non_ascii_text_readable(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(_failure("é", "délai dépassé"))
        journal.write(_answer("é", "Zürich"))
    assert (
        path.read_text(encoding="utf-8")
        == json.dumps(_answer("é", "Zürich"), ensure_ascii=False) + "\n"
    )


def test_a_line_is_whole_even_when_the_disk_takes_it_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    path = tmp_path / "out.jsonl"
    with Journal(path) as journal:
        journal.write(_answer(1, "a longer answer than one short write"))
    assert _lines(path) == [_answer(1, "a longer answer than one short write")]


def test_compaction_works_where_a_directory_cannot_be_opened_to_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.jsonl"
    real_open = os.open

    def no_directories(file: Any, flags: int, *args: Any) -> int:
        if Path(file) == tmp_path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args)

    monkeypatch.setattr(os, "open", no_directories)
    with Journal(path) as journal:
        journal.write(_failure(1))
        journal.write(_answer(1))
    assert _lines(path) == [_answer(1)]


def test_a_one_byte_torn_tail_after_a_whole_line_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    whole = json.dumps(_answer(1)) + "\n"
    path.write_text(whole + "{")
    with Journal(path) as journal:
        assert journal.state.torn_bytes == 1
    assert path.read_text() == whole
