"""The API reference shows each option's default value, not the helper that computes it
(issue 23: `max_retries: int = _config_field('max_retries')`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info < (3, 11):  # the docs toolchain (the `docs` extra) needs 3.11
    pytest.skip("griffe needs Python >= 3.11", allow_module_level=True)

import griffe

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_CLASSES = [
    "parallel_adapters._core._config.ParallelConfig",
    "parallel_adapters.llama_index._llm.ParallelLLM",
    "parallel_adapters.llama_index._query_engine.ParallelWebQueryEngine",
]


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    # As mkdocs.yml renders it: with the griffe_pydantic extension.
    loaded = griffe.load(
        "parallel_adapters",
        search_paths=[str(REPO_ROOT)],
        extensions=griffe.load_extensions({"griffe_pydantic": {"schema": False}}),
    )
    assert isinstance(loaded, griffe.Module)
    return loaded


@pytest.mark.parametrize("path", DOCUMENTED_CLASSES)
def test_every_field_shows_a_value_not_a_private_helper(package: griffe.Module, path: str) -> None:
    cls = package[path.removeprefix("parallel_adapters.")]
    shown = {
        name: str(member.value)
        for name, member in cls.members.items()
        if not name.startswith("_") and member.is_attribute and member.value is not None
    }
    assert shown, path
    # A private helper's call (`_config_field('max_retries')`) says nothing to a reader.
    hidden = {name: value for name, value in shown.items() if re.search(r"(?<!\w)_\w+\(", value)}
    assert not hidden, f"{path}: the reference would show {hidden}"


def test_parallel_llm_shows_the_cores_defaults_as_values(package: griffe.Module) -> None:
    cls = package["llama_index._llm.ParallelLLM"]
    shown = {name: str(cls.members[name].value) for name in ("max_retries", "retry_max_delay")}
    assert shown == {"max_retries": "2", "retry_max_delay": "8.0"}
