"""The CLI's cost fields, run as a user runs it: a subprocess against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from parallel_adapters.testing import ParallelEmulator

REPO = Path(__file__).resolve().parents[2]
QUESTION = "What does Parallel Web Systems do?"


def _cli(emulator: ParallelEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PARALLEL_API_KEY": "test-key",
        "PARALLEL_BASE_URL": emulator.base_url,
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "parallel_adapters._cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("model", "dollars"), [("core", 0.025), ("parallel-high", 0.25)])
def test_ask_json_has_the_cost(emulator: ParallelEmulator, model: str, dollars: float) -> None:
    done = _cli(emulator, "ask", QUESTION, "--model", model, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cost"] == pytest.approx(dollars)


def test_each_batch_line_has_its_cost_and_the_summary_says_what_was_spent(
    emulator: ParallelEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "prompt": QUESTION, "model": "base"},
        {"id": "b", "prompt": QUESTION, "model": "core"},
        {"id": "c", "prompt": QUESTION, "model": "speed"},
        {"id": "d", "prompt": QUESTION, "model": "base"},
    ]
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    output = tmp_path / "out.jsonl"
    emulator.inject("422")  # one refused call: its line costs 0
    done = _cli(
        emulator,
        "batch", str(source), "-o", str(output), "--concurrency", "1", "--no-progress",
        "--requests-per-minute", "100000",
    )  # fmt: skip
    assert done.returncode != 0  # one failed
    records = {r["id"]: r for r in map(json.loads, output.read_text().splitlines())}
    assert set(records) == {"a", "b", "c", "d"}
    assert all("cost" in r for r in records.values())
    failed = [r for r in records.values() if "error" in r]
    assert len(failed) == 1
    assert failed[0]["cost"] == 0
    answered = [r for r in records.values() if "error" not in r]
    prices = {"base": 0.01, "core": 0.025, "speed": 0.005}
    for record in answered:
        assert record["cost"] == pytest.approx(prices[lines_model(lines, record["id"])])
    spent = sum(r["cost"] for r in answered)
    assert "estimated $0.050" in done.stderr
    assert f"cost: spent ${spent:,.3f} in this run (estimated $0.050 at the start)" in (done.stderr)


def lines_model(lines: list[dict[str, str]], item_id: str) -> str:
    return next(line["model"] for line in lines if line["id"] == item_id)
