"""The extra stays optional: no LlamaIndex import by default, a clear error without it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_import_parallel_adapters_does_not_import_llama_index() -> None:
    result = _run(
        "import sys, parallel_adapters\n"
        "parallel_adapters.ParallelChat, parallel_adapters.complete\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('llama_index', 'dspy')))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_extra_the_error_names_it() -> None:
    # A None entry in sys.modules makes `import llama_index.core` fail as if not installed.
    result = _run(
        "import sys\n"
        "sys.modules['llama_index'] = None\n"
        "sys.modules['llama_index.core'] = None\n"
        "import parallel_adapters.llama_index"
    )
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "pip install 'parallel-adapters[llama-index]'" in result.stderr


def test_public_names() -> None:
    pytest.importorskip("llama_index.core")
    import parallel_adapters.llama_index as module

    for name in module.__all__:
        assert getattr(module, name) is not None
    assert {"ParallelLLM", "ParallelWebQueryEngine", "collect_basis", "basis_of"} <= set(
        module.__all__
    )
