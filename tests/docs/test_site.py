"""mkdocs.yml's nav and docs/ agree: Zensical's strict build fails on a broken link or
anchor but not on a nav entry without a page, nor on a page left out of the nav."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"


def _nav_pages(entries: list[Any]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        values = entry.values() if isinstance(entry, dict) else [entry]
        for value in values:
            pages += _nav_pages(value) if isinstance(value, list) else [value]
    return pages


def _nav() -> list[str]:
    # BaseLoader: mkdocs.yml may hold tags (!ENV, !!python/name) a safe loader rejects.
    config = yaml.load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"), yaml.BaseLoader)
    return _nav_pages(config["nav"])


def test_every_nav_entry_is_a_page() -> None:
    missing = [page for page in _nav() if not (DOCS / page).is_file()]
    assert not missing, f"mkdocs.yml nav names pages that do not exist: {missing}"


def test_every_page_is_in_the_nav() -> None:
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    omitted = sorted(pages - set(_nav()))
    assert not omitted, f"pages missing from mkdocs.yml nav: {omitted}"
