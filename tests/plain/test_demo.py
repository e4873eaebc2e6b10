"""`parallel-adapters demo`: every section runs offline on the embedded emulator."""

from __future__ import annotations

import importlib.util
import io
import re
import sys
from contextlib import redirect_stderr, redirect_stdout

import pytest

from parallel_adapters._cli import main

pytest.importorskip("uvicorn", reason="the offline demo needs the emulator extra")

# The CI compat step runs tests/plain without the framework extras: those sections skip.
HAS_LLAMA_INDEX = importlib.util.find_spec("llama_index") is not None
HAS_DSPY = importlib.util.find_spec("dspy") is not None
needs_llama_index = pytest.mark.skipif(not HAS_LLAMA_INDEX, reason="needs the llama-index extra")
needs_dspy = pytest.mark.skipif(not HAS_DSPY, reason="needs the dspy extra")

SECTIONS = (
    "1. complete(): an answer with numbered citations",
    "2. stream(): the answer printed as it arrives",
    "3. LlamaIndex: ParallelLLM over local documents, and ParallelWebQueryEngine",
    "4. DSPy: ChainOfThought with JSON output, and its basis",
    "5. Responses API: the answer with inline [n] markers",
    "6. search() and extract(): ranked web pages with excerpts, for your own LLM",
)


def _section(out: str, number: int) -> str:
    start = out.index(SECTIONS[number - 1])
    end = out.index(SECTIONS[number]) if number < len(SECTIONS) else out.index("\nBackend: ")
    return out[start:end]


@pytest.fixture(scope="module")
def demo_output() -> tuple[int, str, str]:
    """One in-process run shared by the tests that read its output."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as monkeypatch:
        # A key in the environment must not send the offline demo to the real API.
        monkeypatch.setenv("PARALLEL_API_KEY", "sk-SENTINEL-demo-5d1e")
        monkeypatch.delenv("PARALLEL_BASE_URL", raising=False)
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["demo", "--offline"])
    return code, out.getvalue(), err.getvalue()


def test_offline_demo_runs_every_section(demo_output: tuple[int, str, str]) -> None:
    code, out, _ = demo_output
    assert code == 0
    positions = [out.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    assert ("skipped" in out) == (not (HAS_LLAMA_INDEX and HAS_DSPY))
    assert "sk-SENTINEL-demo-5d1e" not in out


def test_offline_demo_ends_naming_the_emulator(demo_output: tuple[int, str, str]) -> None:
    _, out, _ = demo_output
    last = out.rstrip().splitlines()[-1]
    assert re.match(r"Backend: local emulator \(http://127\.0\.0\.1:\d+, no API key used", last)


def test_complete_and_stream_print_numbered_citations(demo_output: tuple[int, str, str]) -> None:
    _, out, _ = demo_output
    for number in (1, 2):
        section = _section(out, number)
        citations = re.findall(r"^  \[(\d+)\] .+ - (https?://\S+)$", section, re.MULTILINE)
        assert citations, section
        assert [int(n) for n, _ in citations] == list(range(1, len(citations) + 1))


@needs_llama_index
def test_llama_index_section_shows_an_index_answer_and_source_nodes(
    demo_output: tuple[int, str, str],
) -> None:
    _, out, _ = demo_output
    section = _section(out, 3)
    index_part, _, web_part = section.partition("ParallelWebQueryEngine: ")
    assert "base model" in index_part  # answered from the local notes
    nodes = web_part.partition("Source nodes:\n")[2]
    assert re.search(r"^  \[1\] .+ - https?://\S+$", nodes, re.MULTILINE)
    assert "confidence" in nodes


@needs_dspy
def test_dspy_section_shows_fields_and_their_basis(demo_output: tuple[int, str, str]) -> None:
    _, out, _ = demo_output
    section = _section(out, 4)
    assert re.search(r"^reasoning: \S", section, re.MULTILINE)
    assert re.search(r"^answer: +\S", section, re.MULTILINE)
    basis = section.partition("Basis (one entry per output field):\n")[2]
    assert {"reasoning", "answer"} <= set(re.findall(r"^  - (\w+): confidence", basis, re.M))
    assert re.search(r"^      \[1\] .+ - https?://\S+$", basis, re.MULTILINE)


def test_responses_section_shows_inline_markers_matching_citations(
    demo_output: tuple[int, str, str],
) -> None:
    _, out, _ = demo_output
    section = _section(out, 5)
    answer = section.partition("text_with_markers()\n")[2].partition("\n(")[0]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    citations = re.findall(r"^  \[(\d+)\] .+ - (https?://\S+)$", section, re.MULTILINE)
    assert markers, section
    assert markers == {int(n) for n, _ in citations}
    assert re.search(r"^\(\d+ cited span\(s\)", section, re.MULTILINE)


def test_search_section_shows_ranked_pages_cost_and_an_extraction(
    demo_output: tuple[int, str, str],
) -> None:
    _, out, _ = demo_output
    section = _section(out, 6)
    pages = re.findall(r"^  \[(\d+)\] .+ - (https?://\S+)$", section, re.MULTILINE)
    assert [int(n) for n, _ in pages] == list(range(1, len(pages) + 1)) and pages
    assert pages[0][1].endswith("/japan")
    assert "cost at published prices: $0.0010" in section
    assert re.search(r"^\d+ characters of full content; excerpts:$", section, re.MULTILINE)
    assert "Tokyo" in section


def test_missing_frameworks_are_skipped_with_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "llama_index.core", None)
    monkeypatch.setitem(sys.modules, "dspy", None)
    assert main(["demo", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "pip install 'parallel-adapters[llama-index]'" in _section(out, 3)
    assert "pip install 'parallel-adapters[dspy]'" in _section(out, 4)
    assert out.rstrip().splitlines()[-1].startswith("Backend: local emulator")


def test_live_without_a_key_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    assert main(["demo", "--live"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1
    assert "PARALLEL_API_KEY" in err[0]
    assert "Backend:" not in captured.out


def test_offline_and_live_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--offline", "--live"])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
