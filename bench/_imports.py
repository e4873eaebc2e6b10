"""Scenario 5: import time and peak memory, each in a fresh interpreter, measured from
outside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench._settings import Settings
from bench._timing import Stats, rotations

BASELINE = "pass"
IMPORTS: list[tuple[str, str, str]] = [
    # (key, statement, kind)
    ("python", BASELINE, "baseline"),
    ("openai", "import openai", "floor"),
    ("parallel_adapters", "import parallel_adapters", "kit"),
    ("parallel_adapters._core", "from parallel_adapters import complete", "kit"),
    ("parallel_adapters.llama_index", "import parallel_adapters.llama_index", "kit"),
    ("parallel_adapters.dspy", "import parallel_adapters.dspy", "kit"),
    ("langchain_parallel", "import langchain_parallel", "peer"),
    ("llama_index.llms.openai_like", "import llama_index.llms.openai_like", "peer"),
    ("dspy", "import dspy", "peer"),
]


def _child_env() -> dict[str, str]:
    env = os.environ.copy()
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with warm .pyc caches
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "true"
    return env


# After the statement the child reports and waits, so its peak RSS can be read from
# /proc while it is alive (rusage from wait4 would not do: its max RSS includes the
# parent's memory, copied at fork before exec).
_PROBE = "\nimport sys\nsys.stdout.write('ready\\n')\nsys.stdout.flush()\nsys.stdin.read()\n"


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/PID/status")


def _measure(statement: str, env: dict[str, str]) -> tuple[float, float]:
    """(milliseconds from spawning `python -c statement` until the statement is done,
    the child's peak RSS in MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", statement + _PROBE],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    ready = process.stdout.readline()
    wall = (time.perf_counter() - start) * 1000
    try:
        if ready != b"ready\n":
            _, error = process.communicate(timeout=30)
            raise RuntimeError(f"{statement!r} failed:\n{error.decode(errors='replace')}")
        rss = _peak_rss_mib(process.pid)
    finally:
        process.stdin.close()
        process.wait(30)
        process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
    return wall, rss


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def _largest_imports(statement: str, env: dict[str, str], top: int = 5) -> list[dict[str, Any]]:
    """The top-level modules that took longest (cumulative, -X importtime)."""
    process = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    modules: dict[str, int] = {}
    for match in _IMPORTTIME.finditer(process.stderr):
        depth = (len(match.group(3)) - 1) // 2
        name = match.group(4)
        if depth == 0:
            modules[name] = modules.get(name, 0) + int(match.group(2))
    ranked = sorted(modules.items(), key=lambda kv: -kv[1])[:top]
    return [{"module": name, "ms": micros / 1000} for name, micros in ranked]


def run(settings: Settings, log: Any) -> dict[str, Any]:
    env = _child_env()
    for _key, statement, _kind in IMPORTS:  # warm-up: .pyc caches, page cache
        _measure(statement, env)
    wall: dict[str, list[float]] = {key: [] for key, _, _ in IMPORTS}
    rss: dict[str, list[float]] = {key: [] for key, _, _ in IMPORTS}
    statements = {key: statement for key, statement, _ in IMPORTS}
    for repeat, key in rotations(list(statements), settings.import_repeats):
        ms, mib = _measure(statements[key], env)
        wall[key].append(ms)
        rss[key].append(mib)
        if key == IMPORTS[0][0]:
            log(f"  repeat {repeat + 1}/{settings.import_repeats}")
    base_ms, base_mib = wall["python"], rss["python"]
    rows = []
    for key, statement, kind in IMPORTS:
        rows.append(
            {
                "key": key,
                "statement": statement,
                "kind": kind,
                "wall_ms": Stats.of(wall[key]).as_dict(),
                "added_ms": Stats.of(
                    [w - b for w, b in zip(wall[key], base_ms, strict=True)]
                ).as_dict(),
                "max_rss_mib": Stats.of(rss[key]).as_dict(),
                "added_mib": Stats.of(
                    [m - b for m, b in zip(rss[key], base_mib, strict=True)]
                ).as_dict(),
                "largest_imports": [] if kind == "baseline" else _largest_imports(statement, env),
            }
        )
    return {
        "title": "Import time and memory",
        "repeats": settings.import_repeats,
        "method": "`python -c STATEMENT` in a fresh interpreter; the time from spawning it until "
        "it reports the statement done (on a pipe), and its peak RSS (VmHWM, read from /proc "
        "while it waits); both also shown minus the same for `python -c pass`",
        "imports": rows,
    }
