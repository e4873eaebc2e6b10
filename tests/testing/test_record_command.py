"""The documented re-recording command, `pytest -m vcr --record-mode=rewrite`, run for real.

Each test copies a few cassette tests and their cassettes into a temporary project and runs
the command there in a subprocess, so the repository's own cassettes are never touched.
Without PARALLEL_API_KEY the recording goes to a local emulator (loopback only, under
--block-network); with a key, the tests only the emulator can record are skipped first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from parallel_adapters import testing

REPO_ROOT = Path(__file__).resolve().parents[2]
# One Chat and one Responses test file, with what they import: every top-level module of
# tests/, since conftest.py imports its siblings (hostile), and the Redis launcher it
# shares with the bench.
COPIED = [
    "pyproject.toml",
    "bench/__init__.py",
    "bench/_proc.py",
    "bench/_redis_server.py",
    *(f"tests/{path.name}" for path in sorted((REPO_ROOT / "tests").glob("*.py"))),
    "tests/plain/__init__.py",
    "tests/plain/conftest.py",
    "tests/plain/test_callable.py",
    "tests/plain/test_callable_responses.py",
    "cassettes/tests/plain/test_callable",
    "cassettes/tests/plain/test_callable_responses",
]
RECORD = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "vcr", "--record-mode=rewrite"]


def _project(tmp_path: Path) -> Path:
    for name in COPIED:
        source, target = REPO_ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return tmp_path


def _run(project: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PARALLEL_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), environ.get("PYTHONPATH", "")])
    environ.update(env)
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _interactions(path: Path) -> list[dict[str, object]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(document["interactions"])


def test_without_a_key_it_rerecords_chat_and_responses_against_the_emulator(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    folders = [
        project / "cassettes/tests/plain/test_callable",
        project / "cassettes/tests/plain/test_callable_responses",
    ]
    before = {p: p.read_text() for folder in folders for p in folder.glob("*.yaml")}
    (project / "cassettes/tests/plain/test_callable_responses/test_complete.yaml").unlink()

    recorded = _run(project, RECORD)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    after = {p: p.read_text() for folder in folders for p in folder.glob("*.yaml")}

    assert set(after) == set(before), "every cassette written again, the deleted one too"
    assert any(after[p] != before[p] for p in after), "rewritten, not just replayed"
    paths = set()
    for path, text in after.items():
        assert testing.find_secrets(text, ["test-key"]) == [], path
        for interaction in _interactions(path):
            request, response = interaction["request"], interaction["response"]
            assert isinstance(request, dict) and isinstance(response, dict)
            assert str(request["uri"]).startswith("http://127.0.0.1:"), "loopback only"
            paths.add(str(request["uri"]).split("/", 3)[3])
            provenance = response["headers"][testing.PROVENANCE_HEADER]
            assert provenance == [testing.emulator_provenance()]
    assert paths == {"chat/completions", "v1/responses"}


def test_with_a_key_it_keeps_the_cassettes_only_the_emulator_can_record(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    (project / "tests/plain/test_emulator_only.py").write_text(
        "import pytest\n\n"
        "pytestmark = pytest.mark.vcr\n\n\n"
        "@pytest.mark.emulator_only\n"
        "def test_fault(parallel_backend):\n"
        "    raise AssertionError('ran live')\n\n\n"
        "@pytest.mark.parametrize('profile', ['documented', 'openai'])\n"
        "def test_profile(parallel_backend, profile):\n"
        "    assert profile == 'documented', 'ran live'\n"
        "    assert parallel_backend.kind == 'live'\n"
        "    assert parallel_backend.base_url == 'http://127.0.0.1:9'\n"
    )
    kept = project / "cassettes/tests/plain/test_emulator_only/test_fault.yaml"
    kept.parent.mkdir(parents=True)
    kept.write_text("interactions: []\nversion: 1\n")

    # A fake key and a closed loopback port: whatever is not skipped cannot leave the machine.
    recorded = _run(
        project,
        [*RECORD, "tests/plain/test_emulator_only.py"],
        PARALLEL_API_KEY="sk-not-a-real-key",
        PARALLEL_BASE_URL="http://127.0.0.1:9",
    )
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "1 passed, 2 skipped" in recorded.stdout
    assert kept.read_text() == "interactions: []\nversion: 1\n"


@pytest.fixture(autouse=True)
def _no_stray_cassettes() -> None:
    """The subprocesses write only inside their temporary project."""
    assert not (REPO_ROOT / "cassettes/tests/plain/test_emulator_only").exists()
