"""Without the `emulator` extra, importing the emulator says how to install it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("missing", ["starlette", "uvicorn"])
def test_the_emulator_without_its_extra_names_the_install_command(missing: str) -> None:
    # A None entry in sys.modules makes an import fail as if the package were not installed.
    code = (
        f"import sys\nsys.modules[{missing!r}] = None\n"
        "try:\n"
        "    from parallel_adapters.testing import ParallelEmulator\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "    print(type(exc.__cause__).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    message, cause = result.stdout.strip().splitlines()
    assert message.startswith("ImportError ")
    assert 'pip install "parallel-adapters[emulator]"' in message
    assert cause in ("ImportError", "ModuleNotFoundError")
