"""`parallel-adapters ask --model parallel`: [n] markers, numbered sources, spans in --json."""

from __future__ import annotations

import json

import pytest

from parallel_adapters._cli import main

from ..core import responses_wire as wire
from ..core.loopback import Reply, replay


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", "sk-cli-responses")


def test_ask_parallel_prints_markers_and_numbered_sources(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with replay(Reply.json(wire.PARALLEL_ABOUT)) as server:
        code = main(
            [
                "ask",
                "Who founded Parallel?",
                "--model",
                "parallel",
                "--effort",
                "high",
                "--base-url",
                server.base_url,
            ]
        )
    assert code == 0
    assert server.requests[0][0] == "/v1/responses"
    assert server.bodies[0]["reasoning"] == {"effort": "high"}
    out = capsys.readouterr().out
    answer, _, sources = out.partition("\nSources:\n")
    assert answer.strip() == (
        "Parallel Web Systems — founded by Parag Agrawal[1] — builds web research APIs for AI "
        "agents[1][2]. 🚀"
    )
    assert [line.strip() for line in sources.strip().splitlines()] == [
        "[1] About Parallel - https://parallel.ai/about",
        "[2] Parallel - https://parallel.ai/",
    ]
    assert "sk-cli-responses" not in out


def test_ask_parallel_json_includes_spans(capsys: pytest.CaptureFixture[str]) -> None:
    with replay(Reply.json(wire.NVIDIA)) as server:
        assert (
            main(["ask", "q", "--model", "parallel-low", "--json", "--base-url", server.base_url])
            == 0
        )
    payload = json.loads(capsys.readouterr().out)
    assert payload["model"] == "parallel"
    assert payload["interaction_id"] == wire.RESPONSE_ID
    assert payload["cited_spans"] == [
        {"start": 0, "end": 56, "url": wire.NVIDIA_URL, "title": "Jensen Huang | NVIDIA Newsroom"},
        {
            "start": 0,
            "end": 56,
            "url": wire.SIMPLYWALL_URL,
            "title": payload["cited_spans"][1]["title"],
        },
    ]
    assert [w["action"]["type"] for w in payload["web_search_calls"]] == ["search", "open_page"]
    assert payload["basis"][0]["field"] == "output"


def test_ask_parallel_stream(capsys: pytest.CaptureFixture[str]) -> None:
    events = wire.sse(wire.stream_events(wire.NVIDIA), done=True)
    with replay(Reply.sse(events)) as server:
        assert (
            main(["ask", "q", "--model", "parallel", "--stream", "--base-url", server.base_url])
            == 0
        )
    out = capsys.readouterr().out
    assert out.startswith(wire.JENSEN + "\n")
    assert "[2] NVIDIA Corporation" in out


def test_effort_conflicting_with_a_pinned_model_is_a_clean_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ask", "q", "--model", "parallel-low", "--effort", "high"]) == 2
    assert "pins reasoning_effort" in capsys.readouterr().err


def test_a_failed_run_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with replay(Reply.json(wire.FAILED)) as server:
        code = main(["ask", "q", "--model", "parallel", "--base-url", server.base_url])
    assert code == 1
    assert "ResponseFailedError: The research run failed" in capsys.readouterr().err
