"""The API reference covers the public surface, and every public name has a docstring.

The public surface is `__all__` of the four modules users import from. Docstrings are
read with griffe, the library mkdocstrings renders the reference with, so a name passes
here exactly when its reference entry has text (constants included: their docstring is
the string literal after the assignment).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

if sys.version_info < (3, 11):  # the docs toolchain (the `docs` extra) needs 3.11
    pytest.skip("griffe needs Python >= 3.11", allow_module_level=True)

import griffe

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / "docs" / "reference"
PUBLIC_MODULES = (
    "parallel_adapters",
    "parallel_adapters.llama_index",
    "parallel_adapters.dspy",
    "parallel_adapters.testing",
)
_DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)


def public_names() -> list[tuple[str, str]]:
    return [
        (module, name)
        for module in PUBLIC_MODULES
        for name in importlib.import_module(module).__all__
    ]


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    loaded = griffe.load("parallel_adapters", search_paths=[str(REPO_ROOT)], resolve_aliases=True)
    assert isinstance(loaded, griffe.Module)
    return loaded


def _griffe_object(package: griffe.Module, module: str, name: str) -> Any:
    node: Any = package
    for part in [*module.split(".")[1:], name]:
        node = node[part]
    return node.final_target if node.is_alias else node


@pytest.mark.parametrize(("module", "name"), public_names(), ids=lambda v: v)
def test_public_name_has_a_docstring(package: griffe.Module, module: str, name: str) -> None:
    target = _griffe_object(package, module, name)
    docstring = target.docstring.value.strip() if target.docstring else ""
    assert docstring, f"{module}.{name} ({target.path}) has no docstring"


def _attributes_sections(cls: griffe.Class) -> set[str]:
    """Names described in the `Attributes:` section of the class's or a base's docstring."""
    names: set[str] = set()
    for klass in [cls, *cls.mro()]:
        if klass.docstring:
            for section in klass.docstring.parse("google"):
                if section.kind is griffe.DocstringSectionKind.attributes:
                    names.update(attribute.name for attribute in section.value)
    return names


def public_classes() -> list[tuple[str, str]]:
    seen: set[int] = set()
    classes = []
    for module, name in public_names():
        value = getattr(importlib.import_module(module), name)
        if isinstance(value, type) and id(value) not in seen:
            seen.add(id(value))
            classes.append((module, name))
    return classes


@pytest.mark.parametrize(("module", "name"), public_classes(), ids=lambda v: v)
def test_public_members_have_docstrings(package: griffe.Module, module: str, name: str) -> None:
    # Members the reference would show: defined in the class itself, public. (Members
    # without a docstring are left out of the rendered page, so they must have one.)
    cls = _griffe_object(package, module, name)
    described = _attributes_sections(cls)
    missing = [
        member_name
        for member_name, member in cls.members.items()
        if not member_name.startswith("_")
        and member_name != "model_config"  # pydantic's settings, not an API
        and not member.is_alias
        and not member.docstring
        and member_name not in described
    ]
    assert not missing, f"{module}.{name}: members without a docstring: {missing}"


def _documented() -> set[str]:
    paths: set[str] = set()
    for page in REFERENCE.glob("*.md"):
        paths.update(_DIRECTIVE.findall(page.read_text(encoding="utf-8")))
    return paths


def _resolve(path: str) -> Any:
    try:
        return importlib.import_module(path)
    except ImportError:
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)


def test_every_directive_names_a_real_object() -> None:
    for path in _documented():
        _resolve(path)  # raises if the page names something that does not exist


@pytest.mark.parametrize(("module", "name"), public_names(), ids=lambda v: v)
def test_public_name_is_in_the_reference(module: str, name: str) -> None:
    assert f"{module}.{name}" in _documented(), (
        f"{module}.{name} is public but has no entry in docs/reference/"
    )


def test_each_public_object_has_one_home() -> None:
    # One door per name: an adapter that re-exported the core's errors or result types
    # gave users two import paths for one object and the reference two entries.
    homes: dict[int, list[str]] = {}
    for module, name in public_names():
        value = getattr(importlib.import_module(module), name)
        if isinstance(value, type) or callable(value):
            homes.setdefault(id(value), []).append(f"{module}.{name}")
    shared = [paths for paths in homes.values() if len(paths) > 1]
    assert not shared, f"objects public under more than one name: {shared}"


def test_private_modules_are_not_public() -> None:
    top = importlib.import_module("parallel_adapters")
    public_submodules = {m.rpartition(".")[2] for m in PUBLIC_MODULES[1:]}
    for path in sorted((REPO_ROOT / "parallel_adapters").iterdir()):
        name = path.stem
        if path.name.startswith((".", "__")) or (path.is_file() and path.suffix != ".py"):
            continue
        assert name.startswith("_") or name in public_submodules, (
            f"parallel_adapters/{path.name} is neither private (`_` prefix) nor documented"
        )
    assert not any(name.startswith("_") for name in top.__all__ if name != "__version__")


def _error_tree() -> list[str]:
    top = importlib.import_module("parallel_adapters")
    public = {
        value
        for value in (getattr(top, name) for name in top.__all__)
        if isinstance(value, type) and issubclass(value, BaseException)
    }
    lines: list[str] = []

    def walk(cls: type, prefix: str, last: bool, root: bool) -> None:
        also = [b.__name__ for b in cls.__bases__ if b not in public and b is not Exception]
        label = cls.__name__ + (f" (also a {', '.join(also)})" if also else "")
        lines.append(label if root else f"{prefix}{'└── ' if last else '├── '}{label}")
        children = sorted(
            (c for c in cls.__subclasses__() if c in public), key=lambda c: c.__name__
        )
        inner = "" if root else prefix + ("    " if last else "│   ")
        for index, child in enumerate(children):
            walk(child, inner, index == len(children) - 1, False)

    walk(top.ParallelError, "", True, True)
    return lines


def test_error_tree_matches_the_classes() -> None:
    page = (REFERENCE / "errors.md").read_text(encoding="utf-8")
    block = re.search(r"```text\n(.*?)```", page, re.DOTALL)
    assert block, "docs/reference/errors.md has no ```text tree"
    assert block.group(1).splitlines() == _error_tree()
