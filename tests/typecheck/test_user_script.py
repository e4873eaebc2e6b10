"""The common paths type-check for users: `user_script.py` under `mypy --strict` (and
pyright when it is installed), then it runs against the emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parallel_adapters import _chat
from parallel_adapters.testing import ParallelEmulator

from . import user_script

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = HERE / "user_script.py"


def checker_env() -> dict[str, str]:
    # This checkout's parallel_adapters, not whichever copy is installed.
    return {**os.environ, "MYPYPATH": str(ROOT), "PYTHONPATH": str(ROOT)}


def test_mypy_strict_accepts_the_user_script() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--warn-unused-ignores",
            "--python-version",
            "3.10",
            "--config-file",
            os.devnull,
            str(SCRIPT),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=checker_env(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


PYRIGHT = shutil.which("pyright") or shutil.which("pyright", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(PYRIGHT is None, reason="pyright is not installed")
def test_pyright_strict_accepts_the_user_script(tmp_path: Path) -> None:
    config = tmp_path / "pyrightconfig.json"
    config.write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "pythonVersion": "3.10",
                "reportUnnecessaryTypeIgnoreComment": True,
                "extraPaths": [str(ROOT)],
            }
        )
    )
    result = subprocess.run(
        [str(PYRIGHT), "--project", str(config), str(SCRIPT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=checker_env(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_user_script_runs(emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_chat, "_default", None)
    lines = user_script.main(emulator.base_url)
    assert "Paris" in lines[0]
    assert any("Tokyo" in line for line in lines[1:])
    assert lines[-1] == "base"
