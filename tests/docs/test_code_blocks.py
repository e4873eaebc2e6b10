"""Every ```python block in README.md and docs/*.md runs against the local emulator.

A page's blocks run in order in one namespace (later blocks may use earlier names), in a
fresh interpreter with PARALLEL_API_KEY/PARALLEL_BASE_URL pointing at the emulator, a
private DSPy cache and a working directory of its own. A block right after `<!-- live -->`
needs the real API and one after `<!-- no-run -->` is a fragment: both are reported as
skipped tests with that reason.

The examples must also answer their question: against the emulator's default responder no
page prints the simulator's not-found answer, and the `responses.parse` example of
docs/testing.md gets the values its question asks for.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from parallel_adapters.testing import ParallelEmulator

REPO_ROOT = Path(__file__).resolve().parents[2]
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
SKIP_MARKERS = {
    "live": "needs PARALLEL_API_KEY and the real API (marked <!-- live -->)",
    "no-run": "a fragment, not meant to run (marked <!-- no-run -->)",
}
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<name>[\w-]+)\s*-->\s*$")
PAGE_TIMEOUT = 180
NOT_FOUND = "I could not find information"
# What an example must print: the answer to the question it asks.
EXPECTED_OUTPUT = {
    "docs/testing.md": [
        "capital='Paris' population=68000000",
        "population of about 68 million",
        "{'capital': 'Tokyo', 'population': 124000000}",
    ]
}


@dataclass(frozen=True)
class Block:
    page: str  # repository-relative path
    line: int  # line of the first code line in the page
    code: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """The page's ```python blocks, each with the marker comment right before its fence."""
    page = path.relative_to(REPO_ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        indent = len(fence["indent"])
        end = index + 1
        while end < len(lines) and not re.match(r"^ *```\s*$", lines[end]):
            end += 1
        if fence["lang"] == "python":
            previous = next((ln for ln in reversed(lines[:index]) if ln.strip()), "")
            marker = _MARKER.match(previous)
            body = "\n".join(ln[indent:] for ln in lines[index + 1 : end])
            blocks.append(Block(page, index + 2, body + "\n", marker and marker["name"]))
        index = end + 1
    return blocks


ALL_BLOCKS = [block for page in PAGES for block in blocks_of(page)]
RUNNABLE_PAGES = sorted({b.page for b in ALL_BLOCKS if b.marker is None})
MARKED = [b for b in ALL_BLOCKS if b.marker in SKIP_MARKERS]


def test_blocks_are_found_and_markers_are_known() -> None:
    assert RUNNABLE_PAGES, "no runnable ```python block found"
    # A misspelt marker (<!-- norun -->) would silently run, or fail, the block after it.
    unknown = [b.id for b in ALL_BLOCKS if b.marker not in (None, *SKIP_MARKERS)]
    assert not unknown, f"unknown block markers (known: {sorted(SKIP_MARKERS)}): {unknown}"


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_code_blocks_run(page: str, emulator: ParallelEmulator, tmp_path: Path) -> None:
    blocks = [[b.page, b.line, b.code] for b in ALL_BLOCKS if b.page == page and not b.marker]
    env = {
        **os.environ,
        "PARALLEL_API_KEY": emulator.api_key or "test-key",
        "PARALLEL_BASE_URL": emulator.base_url,
        "DSPY_CACHEDIR": str(tmp_path / "dspy-cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        # Anything that tried the internet instead of the emulator fails at once.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_run_blocks.py"))],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=PAGE_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{page}:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    assert NOT_FOUND not in result.stdout, f"{page}: an example's question went unanswered"
    for expected in EXPECTED_OUTPUT.get(page, []):
        assert expected in result.stdout, f"{page}: {expected!r} not printed"


@pytest.mark.parametrize("block", MARKED, ids=[b.id for b in MARKED])
def test_marked_block_is_skipped(block: Block) -> None:
    assert block.code.strip(), f"{block.id}: empty block"
    compile(block.code, block.page, "exec")  # even a skipped block must be valid Python
    pytest.skip(f"{block.id}: {SKIP_MARKERS[block.marker or '']}")
