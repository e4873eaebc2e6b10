"""`parallel-adapters ask`: the answer, numbered sources, clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parallel_adapters._cli import main
from parallel_adapters.testing import ParallelEmulator, RecordingBackend

QUESTION = "What does Parallel Web Systems do?"
SENTINEL = "sk-SENTINEL-cli-7f3a"


@pytest.fixture
def backend_env(parallel_backend: RecordingBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", parallel_backend.api_key)
    monkeypatch.setenv("PARALLEL_BASE_URL", parallel_backend.base_url)


@pytest.mark.vcr
def test_ask_prints_the_answer_then_numbered_sources(
    backend_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", QUESTION, "--model", "base"]) == 0
    out = capsys.readouterr().out
    answer, _, sources = out.partition("\nSources:\n")
    assert answer.strip()
    lines = sources.strip().splitlines()
    assert lines
    assert lines[0].strip().startswith("[1] ")
    assert "https://" in lines[0]


@pytest.mark.vcr
def test_ask_stream_prints_the_same_answer(
    backend_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", QUESTION, "--model", "base", "--stream"]) == 0
    streamed = capsys.readouterr().out
    assert main(["ask", QUESTION, "--model", "base"]) == 0
    assert capsys.readouterr().out == streamed


@pytest.mark.vcr
def test_ask_json_and_schema(
    backend_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"answer": {"type": "string"}, "founded": {"type": "integer"}},
                "required": ["answer", "founded"],
            }
        )
    )
    assert main(["ask", QUESTION, "--model", "base", "--schema", str(schema), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload["parsed"]) == {"answer", "founded"}
    assert isinstance(payload["parsed"]["founded"], int)
    assert {b["field"] for b in payload["basis"]} == {"answer", "founded"}
    assert payload["citations"][0]["url"].startswith("http")


def test_missing_key_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    assert main(["ask", "hi"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "PARALLEL_API_KEY" in err[0]


def test_bad_schema_file_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", SENTINEL)
    bad = tmp_path / "schema.json"
    bad.write_text("{not json")
    assert main(["ask", "hi", "--schema", str(bad)]) == 2
    assert "cannot read the schema" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fault", "times", "error"),
    [("401", 1, "AuthenticationError"), ("429", 3, "RateLimitError"), ("503", 3, "ServerError")],
)
def test_api_errors_are_one_line_without_the_key(
    emulator: ParallelEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    times: int,
    error: str,
) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    emulator.inject(fault, times=times)
    assert main(["ask", "hi"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {error}")
    assert "test-key" not in captured.err + captured.out
    assert len(emulator.requests) == times


def test_wrong_key_never_printed(
    emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", SENTINEL)
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    assert main(["ask", "hi"]) == 1
    captured = capsys.readouterr()
    assert "AuthenticationError" in captured.err
    assert SENTINEL not in captured.err + captured.out


def test_ask_offline_uses_the_embedded_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    monkeypatch.delenv("PARALLEL_BASE_URL", raising=False)
    assert main(["ask", "What is DSPy?", "--offline", "--model", "lite"]) == 0
    out = capsys.readouterr().out
    assert "DSPy" in out
    assert "Sources:" in out


@pytest.mark.parametrize("timeout", ["0", "-1"])
def test_a_bad_timeout_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", SENTINEL)
    assert main(["ask", "hi", "--timeout", timeout, "--offline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ") and "timeout" in err[0]
    assert "pydantic" not in err[0] and "validation error" not in err[0]


def test_stream_and_json_do_not_combine(
    emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --json prints one document once the answer is complete; streaming text before it
    # would make the output unreadable as JSON, and silently not streaming misleads.
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    with pytest.raises(SystemExit) as exited:
        main(["ask", "hi", "--stream", "--json"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--json" in err and "--stream" in err
    assert emulator.requests == []


def test_an_unknown_model_names_the_models_before_sending(
    emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    assert main(["ask", "hi", "--model", "gpt-4o"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "'gpt-4o'" in err[0]
    assert all(model in err[0] for model in ("speed", "lite", "base", "core"))
    assert emulator.requests == []
