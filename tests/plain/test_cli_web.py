"""`parallel-adapters search` and `parallel-adapters extract`, run as users run them: the
installed console script in a subprocess, against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from parallel_adapters._cli import main
from parallel_adapters.testing import ParallelEmulator
from tests.plain.test_documented_commands import console_script

CORPUS = "https://corpus.parallel-adapters.example/"
KEY = "sk-SENTINEL-web-cli-1d2e"


def run(emulator: ParallelEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PARALLEL_BASE_URL": emulator.base_url, "PARALLEL_API_KEY": KEY}
    return subprocess.run(
        [*console_script(), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


@pytest.fixture
def any_key(emulator: ParallelEmulator) -> Iterator[ParallelEmulator]:
    emulator.app.api_key = None
    yield emulator
    emulator.app.api_key = "test-key"


def test_search_prints_numbered_pages_and_the_cost(any_key: ParallelEmulator) -> None:
    result = run(
        any_key,
        "search",
        "capital of France",
        "-q",
        "France capital",
        "-q",
        "Paris",
        "--max-results",
        "2",
        "--include-domain",
        "corpus.parallel-adapters.example",
        "--after-date",
        "2020-01-01",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "[1] France" and lines[1] == "    " + CORPUS + "france"
    assert "Paris" in result.stdout
    assert lines[-1] == "cost: $0.0050 at published prices"
    sent = any_key.requests[-1].json
    assert sent["search_queries"] == ["France capital", "Paris"]
    assert sent["advanced_settings"] == {
        "max_results": 2,
        "source_policy": {
            "include_domains": ["corpus.parallel-adapters.example"],
            "after_date": "2020-01-01",
        },
    }
    assert KEY not in result.stdout + result.stderr


def test_search_json(any_key: ParallelEmulator) -> None:
    result = run(any_key, "search", "What is DSPy?", "--json", "--mode", "fast")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["search_id"].startswith("search_") and data["cost"] == pytest.approx(0.001)
    assert data["results"][0]["url"].startswith(CORPUS + "dspy")


def test_extract_prints_pages_and_failures(any_key: ParallelEmulator) -> None:
    result = run(
        any_key, "extract", CORPUS + "japan", "https://gone.example/", "--objective", "capital"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] Japan\n    " + CORPUS + "japan\n")
    assert "Tokyo" in result.stdout
    assert "could not read https://gone.example/: fetch_error (HTTP 404)" in result.stdout


def test_extract_full_content_json(
    any_key: ParallelEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", any_key.base_url)
    monkeypatch.setenv("PARALLEL_API_KEY", KEY)
    assert main(["extract", CORPUS + "japan", "--full-content", "--json"]) == 0
    page = json.loads(capsys.readouterr().out)["results"][0]
    assert page["full_content"] and "Tokyo" in page["full_content"]


def test_a_refusal_exits_2_before_sending(any_key: ParallelEmulator) -> None:
    result = run(any_key, "search", "x", "--include-domain", "https://a.com")
    assert result.returncode == 2
    assert "has a scheme" in result.stderr and "Traceback" not in result.stderr
    assert any_key.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "x", "--after-date", "2024/01/01"], "YYYY-MM-DD"),
        (["search", "x", "--exclude-domain", "a.com:443"], "has a port"),
        (["extract", *[f"https://a.example/{n}" for n in range(21)]], "at most 20 URLs"),
    ],
)
def test_other_refusals_exit_2_before_sending(
    any_key: ParallelEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", any_key.base_url)
    monkeypatch.setenv("PARALLEL_API_KEY", KEY)
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert any_key.requests == []


def test_server_errors_exit_1_with_the_servers_words(emulator: ParallelEmulator) -> None:
    result = run(emulator, "search", "x")  # the emulator only takes "test-key"
    assert result.returncode == 1
    assert result.stderr.startswith("error: AuthenticationError:")
    assert KEY not in result.stderr


def test_offline_needs_no_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARALLEL_")}
    result = subprocess.run(
        [*console_script(), "search", "capital of Japan", "--offline", "--max-results", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[1] Japan")
