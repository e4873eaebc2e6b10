"""Every committed cassette is safe to publish and says where it was recorded."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from parallel_adapters.testing import PROVENANCE_HEADER, emulator_provenance, find_secrets

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
SECRETS = ["test-key", os.environ.get("PARALLEL_API_KEY", "")]


def _cassettes() -> list[Path]:
    return sorted([*CASSETTES.rglob("*.yaml"), *CASSETTES.rglob("*.yml")])


def test_cassette_directory_exists() -> None:
    # An empty directory passes the scans below; a missing one means they scanned nothing.
    assert CASSETTES.is_dir()
    assert (CASSETTES / "README.md").is_file()


def test_no_cassette_contains_a_key_or_bearer_token() -> None:
    problems = [
        f"{path.relative_to(CASSETTES)}: {problem}"
        for path in _cassettes()
        for problem in find_secrets(path.read_text(encoding="utf-8"), SECRETS)
    ]
    assert problems == []


def test_every_recorded_response_carries_its_provenance() -> None:
    allowed_prefix = emulator_provenance().split("/")[0] + "/"
    problems = []
    for path in _cassettes():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for number, interaction in enumerate(document.get("interactions", [])):
            request_headers = {h.lower() for h in interaction["request"].get("headers", {})}
            if request_headers & {"authorization", "x-api-key"}:
                problems.append(f"{path.relative_to(CASSETTES)}#{number}: credential header kept")
            headers = {k.lower(): v for k, v in interaction["response"].get("headers", {}).items()}
            values = headers.get(PROVENANCE_HEADER, [])
            if len(values) != 1 or not (
                values[0] == "live" or values[0].startswith(allowed_prefix)
            ):
                problems.append(f"{path.relative_to(CASSETTES)}#{number}: provenance {values!r}")
    assert problems == []
