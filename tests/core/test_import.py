"""`import parallel_adapters` stays light: no framework, no transport until used."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_import_loads_no_framework_and_no_openai() -> None:
    loaded = _modules_after("import parallel_adapters")
    assert not {
        m for m in loaded if m.split(".")[0] in {"llama_index", "dspy", "openai", "litellm"}
    }


def test_using_the_plain_callable_loads_no_framework() -> None:
    loaded = _modules_after("from parallel_adapters import complete, ParallelChat, Completion")
    assert "openai" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"llama_index", "dspy", "litellm"}}


def test_public_names_resolve() -> None:
    import parallel_adapters

    for name in parallel_adapters.__all__:
        assert getattr(parallel_adapters, name) is not None


def test_tracing_never_imports_opentelemetry_itself() -> None:
    # The kit looks for a provider only where the application put one: in the
    # opentelemetry module the application imported. A call without it imports nothing.
    loaded = _modules_after(
        "from parallel_adapters._core import _tracing\nassert _tracing._recording_tracer() is None"
    )
    assert not {m for m in loaded if m.split(".")[0] == "opentelemetry"}
