"""Scenario 9: reading a Responses answer with 100,000 `url_citation` annotations.

Issue 21: citations, cited spans and the per-field basis are built in linear time, so
an answer the 64 MiB body cap allows cannot cost minutes of CPU. Three shapes, each timed
in-process on the decoded body (the JSON decode is the same for every client):
distinct passages spread over 100 pages; distinct passages all on one page (a page's
excerpt list grows to 100,000); and a structured answer of 2,000 fields with the spans
spread over their values.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bench._settings import Settings
from bench._timing import Stats

TARGET_SECONDS = 1.0


def _note(start: int, end: int, url: str) -> dict[str, Any]:
    return {
        "type": "url_citation",
        "url": url,
        "title": "T",
        "start_index": start,
        "end_index": end,
    }


def _body(text: str, notes: list[dict[str, Any]]) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": notes}
    message = {"type": "message", "role": "assistant", "status": "completed", "content": [part]}
    return {"id": "resp_bench", "object": "response", "status": "completed", "output": [message]}


def _plain(count: int, pages: int) -> dict[str, Any]:
    text = "".join(f"{i:07d} " for i in range(count))
    notes = [_note(8 * i, 8 * i + 7, f"https://p{i % pages}.example/") for i in range(count)]
    return _body(text, notes)


def _structured(count: int, fields: int) -> dict[str, Any]:
    text = json.dumps({f"f{i}": f"{i:07d} " * (count // fields) for i in range(fields)})
    notes = []
    decoder = json.JSONDecoder()
    at = 0
    for i in range(fields):
        start = text.index('": "', at) + 4
        _, end = decoder.raw_decode(text, start - 1)
        notes += [_note(s, s + 7, f"https://p{i}.example/") for s in range(start, end - 8, 8)]
        at = end
    return _body(text, notes[:count])


def _time(read: Callable[[], Any], repeats: int) -> tuple[Stats, Stats]:
    """(wall seconds, CPU seconds of this process): on a shared machine the two differ by
    the time spent waiting for a core."""
    read()  # warm-up: the first call imports `regex` and builds the pydantic validators
    wall, cpu = [], []
    for _ in range(repeats):
        started, used = time.perf_counter(), time.process_time()
        read()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    return Stats.of(wall), Stats.of(cpu)


def run(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    from parallel_adapters._core import completion_from_responses_body, shape_responses_request

    count = settings.annotations_count
    text_request = shape_responses_request("q", model="parallel")
    schema = {"name": "bench", "schema": {"type": "object"}}
    json_request = shape_responses_request(
        "q", model="parallel", response_format={"type": "json_schema", "json_schema": schema}
    )
    cases = [
        ("pages", f"{count:,} distinct passages on 100 pages", _plain(count, 100), text_request),
        ("one_page", f"{count:,} distinct passages on one page", _plain(count, 1), text_request),
        (
            "fields",
            f"a JSON answer: 2,000 fields, {count:,} spans on their values",
            _structured(count, 2_000),
            json_request,
        ),
    ]
    rows = []
    for key, label, body, request in cases:
        annotations = len(body["output"][0]["content"][0]["annotations"])

        def read(body: dict[str, Any] = body, request: Any = request) -> Any:
            return completion_from_responses_body(body, request)

        wall, cpu = _time(read, settings.annotations_repeats)
        log(f"  {label}: {wall.median:.3f} s, CPU {cpu.median:.3f} s (medians)")
        rows.append(
            {
                "key": key,
                "label": label,
                "annotations": annotations,
                "seconds": wall.as_dict(),
                "cpu_seconds": cpu.as_dict(),
            }
        )
    return {
        "title": f"Reading {count:,} Responses annotations",
        "method": (
            "`completion_from_responses_body` on a decoded body (citations, cited spans, "
            "the basis); in-process, one warm-up, then median of "
            f"{settings.annotations_repeats} runs"
        ),
        "target_seconds": TARGET_SECONDS,
        "cases": rows,
    }
