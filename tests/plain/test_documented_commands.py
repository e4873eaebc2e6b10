"""Every `parallel-adapters emulator|ask ...` command in README.md and docs/, run as users
run it: the installed console script in a subprocess."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A command in a code span or on a line of a code block, up to a comment or a backtick.
_COMMAND = re.compile(
    r"(?:^|`)\s*(parallel-adapters (?:emulator|ask|search|extract)\b[^`#\n]*)", re.M
)


def documented(subcommand: str) -> list[list[str]]:
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for match in _COMMAND.finditer(page.read_text()):
            words = shlex.split(match.group(1).rstrip(" &"))
            # A bare `parallel-adapters ask` in prose names the command; it is not one.
            if words[1] == subcommand and len(words) > 2 and "..." not in match.group(1):
                found[" ".join(words)] = words[1:]
    return list(found.values())


def console_script() -> list[str]:
    """The `parallel-adapters` entry point installed beside this interpreter."""
    script = Path(sys.executable).with_name("parallel-adapters")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "parallel_adapters._cli"]  # pragma: no cover


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*console_script(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_port(args: list[str], port: int) -> list[str]:
    if "--port" in args:
        at = args.index("--port")
        return [*args[: at + 1], str(port), *args[at + 2 :]]
    return [*args, "--port", str(port)]


def wait_serving(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the emulator did not start")


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    """The first documented `parallel-adapters emulator` command, on a free port."""
    port = free_port()
    args = with_port(documented("emulator")[0], port)
    process = subprocess.Popen(
        [*console_script(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_serving(port, process)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_the_docs_document_both_commands() -> None:
    assert documented("emulator")
    assert len(documented("ask")) >= 3
    assert documented("search") and documented("extract")


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_emulator_help(flag: str) -> None:
    result = run(["emulator", flag])
    assert result.returncode == 0, result.stderr
    assert "--any-key" in result.stdout
    assert "usage: parallel-adapters emulator" in result.stdout


@pytest.mark.parametrize("args", documented("emulator"), ids=" ".join)
def test_each_documented_emulator_command_serves(args: list[str]) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*console_script(), *with_port(args, port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_serving(port, process)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "unrecognized arguments" not in stderr
    if "--any-key" in args:
        assert "accepts any non-empty key" in stderr


@pytest.mark.parametrize(
    "args", documented("ask") + documented("search") + documented("extract"), ids=" ".join
)
def test_each_documented_ask_command_answers(args: list[str], served: int, tmp_path: Path) -> None:
    if "--schema" in args:
        schema = tmp_path / args[args.index("--schema") + 1]
        schema.write_text('{"type": "object", "properties": {"year": {"type": "integer"}}}')
        args = [str(schema) if word == schema.name else word for word in args]
    # What the quickstart exports after starting the emulator.
    env = {"PARALLEL_BASE_URL": f"http://127.0.0.1:{served}", "PARALLEL_API_KEY": "anything"}
    result = run(args, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
