"""What a new user tripped on in the CLI (issue 23), run as they run it: the console script
in a subprocess, against the emulator of this process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from parallel_adapters import testing

from .test_documented_commands import console_script

QUESTION = "What does Parallel Web Systems do?"


def run(
    args: list[str], emulator: testing.ParallelEmulator | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    # Wide enough that argparse does not break "parallel-high" at its hyphen.
    env = {**os.environ, "PARALLEL_API_KEY": "test-key", "COLUMNS": "400"}
    if emulator is not None:
        env["PARALLEL_BASE_URL"] = emulator.base_url
    return subprocess.run(
        [*console_script(), *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def sent(emulator: testing.ParallelEmulator) -> dict[str, object]:
    (entry,) = emulator.requests
    body: dict[str, object] = entry.json
    return body


# -- --effort: one meaning, refused on Chat models -----------------------------------------


@pytest.mark.parametrize("command", ["ask", "batch"])
def test_effort_on_a_chat_model_is_a_usage_error(
    command: str, emulator: testing.ParallelEmulator, tmp_path: Path
) -> None:
    if command == "ask":
        args = ["ask", QUESTION]
    else:
        source = tmp_path / "in.jsonl"
        source.write_text(json.dumps({"prompt": QUESTION}) + "\n")
        args = ["batch", str(source), "-o", str(tmp_path / "out.jsonl"), "--no-progress"]
    result = run([*args, "--model", "speed", "--effort", "high"], emulator)
    assert result.returncode == 2, result.stderr
    assert "--effort is for the Responses API" in result.stderr
    assert "--model speed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert emulator.requests == []


@pytest.mark.parametrize("model", [[], ["--model", "parallel"], ["--model", "parallel-high"]])
def test_ask_effort_means_the_responses_api_at_that_effort(
    model: list[str], emulator: testing.ParallelEmulator
) -> None:
    result = run(["ask", QUESTION, "--effort", "high", *model, "--json"], emulator)
    assert result.returncode == 0, result.stderr
    body = sent(emulator)
    assert body["reasoning"] == {"effort": "high"}
    assert "input" in body  # the Responses API's request


def test_effort_against_a_pinned_model_is_a_usage_error(emulator: testing.ParallelEmulator) -> None:
    result = run(["ask", QUESTION, "--model", "parallel-low", "--effort", "high"], emulator)
    assert result.returncode == 2
    assert "parallel-low" in result.stderr and "--effort high" in result.stderr
    assert emulator.requests == []


# -- ask - and stdin -----------------------------------------------------------------------


def test_ask_dash_reads_a_long_question_from_stdin(emulator: testing.ParallelEmulator) -> None:
    question = "Summarise this log. " + "x" * (200 * 1024)  # past the shell's 128 KiB
    result = run(["ask", "-", "--json"], emulator, stdin=question)
    assert result.returncode == 0, result.stderr
    assert sent(emulator)["messages"] == [{"role": "user", "content": question}]


def test_ask_without_a_question_reads_stdin_when_it_is_not_a_terminal(
    emulator: testing.ParallelEmulator,
) -> None:
    result = run(["ask", "--json"], emulator, stdin=QUESTION + "\n")
    assert result.returncode == 0, result.stderr
    assert sent(emulator)["messages"] == [{"role": "user", "content": QUESTION}]


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_ask_without_a_question_at_a_terminal_says_how_to_give_one(
    emulator: testing.ParallelEmulator,
) -> None:
    import pty

    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [*console_script(), "ask"],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PARALLEL_API_KEY": "k", "PARALLEL_BASE_URL": emulator.base_url},
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 2
    assert "ask needs a question" in result.stderr and "'-'" in result.stderr
    assert emulator.requests == []


def test_ask_with_an_empty_stdin_is_a_usage_error(emulator: testing.ParallelEmulator) -> None:
    result = run(["ask", "-"], emulator, stdin="  \n")
    assert result.returncode == 2
    assert "no question" in result.stderr
    assert emulator.requests == []


# -- output --------------------------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(emulator: testing.ParallelEmulator) -> None:
    # `ask --json | head -1`: the reader is gone before the answer is printed.
    process = subprocess.Popen(
        [*console_script(), "ask", QUESTION, "--model", "base", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PARALLEL_API_KEY": "test-key", "PARALLEL_BASE_URL": emulator.base_url},
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err == b""


def test_warnings_show_the_message_without_source_paths(
    emulator: testing.ParallelEmulator, tmp_path: Path
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"a": {"type": "string"}}}))
    result = run(["ask", QUESTION, "--model", "speed", "--schema", str(schema)], emulator)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "warning: model 'speed' returns no basis: a response_format answer from it has no "
        "citations, reasoning or confidence per field; use lite, base or core for those"
    ]


# -- help ----------------------------------------------------------------------------------


def test_demo_help_mentions_the_responses_section() -> None:
    assert "Responses API" in " ".join(run(["demo", "--help"]).stdout.split())
    listing = run(["--help"]).stdout
    entry = re.search(r"\n    demo\s+(.*?)\n    \S", listing, re.S)
    assert entry is not None
    assert "Responses API" in " ".join(entry.group(1).split())


def option_help(text: str, option: str) -> str:
    """The help text of `option` in an argparse listing, on one line."""
    found = re.search(rf"\n  {option}[^\n]*?(?:  +|\n)(.*?)\n  -", text, re.S)
    assert found is not None, text
    return " ".join(found.group(1).split())


def test_batch_help_lists_every_model() -> None:
    text = option_help(run(["batch", "--help"]).stdout, "--model MODEL")
    for model in ("speed", "lite", "base", "core", "parallel", "parallel-low", "parallel-high"):
        assert re.search(rf"\b{model}\b", text), text


def test_emulator_profile_has_help() -> None:
    text = option_help(run(["emulator", "--help"]).stdout, "--profile")
    assert "documented" in text and "openai" in text and "quirks" in text


def test_the_cli_names_the_models_and_efforts_of_the_core() -> None:
    from parallel_adapters._cli_options import EFFORTS, MODEL_HELP
    from parallel_adapters._core._config import MODELS, REASONING_EFFORTS, RESPONSES_MODELS

    for model in (*MODELS, *RESPONSES_MODELS):
        assert re.search(rf"(?<![\w-]){model}(?![\w-])", MODEL_HELP), model
    assert EFFORTS == REASONING_EFFORTS
