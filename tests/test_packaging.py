"""What the distribution declares is there: the MIT license text it names."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_the_declared_mit_license_ships_with_its_text() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "LICENSE" in project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text


def test_the_source_archive_carries_every_local_package_the_tests_import() -> None:
    # docs/index.md says the suite runs from an unpacked source archive too; the tests
    # import `bench` (the Redis launcher, the budget worker, the benchmarks page).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = set(project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"])
    local = {path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()}
    imported: set[str] = set()
    for test_file in (ROOT / "tests").rglob("*.py"):
        text = test_file.read_text(encoding="utf-8")
        imported.update(re.findall(r"^\s*(?:from|import) (\w+)", text, re.MULTILINE))
    assert "bench" in imported & local
    assert imported & local <= included
