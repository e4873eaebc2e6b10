"""Where a contender's time goes: cProfile, grouped by the package that spent it."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SITE = "/site-packages/"
_OURS = "/parallel_adapters/"


def package_of(filename: str) -> str:
    """The top-level package a profiled function belongs to."""
    if filename == "~" or filename.startswith("<"):
        return "C builtins (incl. socket I/O)"
    path = filename.replace("\\", "/")
    if _OURS in path and _SITE not in path:
        return "parallel_adapters"
    if _SITE in path:
        top = path.split(_SITE, 1)[1].split("/", 1)[0]
        return top.removesuffix(".py")
    if "/bench/" in path:
        return "bench"
    return "stdlib"


def profile_calls(
    call: Callable[[], object], calls: int, dump: Path | None = None
) -> dict[str, Any]:
    """Profile `calls` calls; milliseconds per call by package (own time, not cumulative),
    and the slowest functions of parallel_adapters by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = {}
    ours: list[tuple[float, float, str]] = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_cc, _nc, own, cumulative, _callers) in raw.items():
        package = package_of(filename)
        by_package[package] = by_package.get(package, 0.0) + own
        if package == "parallel_adapters":
            short = filename.replace("\\", "/").split(_OURS, 1)[1]
            ours.append((cumulative, own, f"{short}:{line}({name})"))
    scale = 1000.0 / calls
    total = sum(by_package.values())
    ours.sort(reverse=True)
    if dump is not None:
        dump.parent.mkdir(parents=True, exist_ok=True)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        header = f"# cProfile of {calls} calls, sorted by cumulative time\n"
        dump.write_text(header + text.getvalue())
    return {
        "calls": calls,
        "total_ms_per_call": total * scale,
        "by_package_ms_per_call": {
            k: v * scale for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])
        },
        "kit_functions_ms_per_call": [
            {"function": f, "cumulative": c * scale, "own": o * scale} for c, o, f in ours[:12]
        ],
    }
