"""`python -m bench [--quick] [--only 1,3] [--out DIR] [--no-charts]`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import (
    _annotations,
    _batch,
    _emulator_rate,
    _imports,
    _overhead,
    _ratelimit,
    _throughput,
    _ttft,
)
from bench._contenders import offline_env
from bench._emulator import ROOT
from bench._machine import describe, load_average
from bench._settings import FULL, QUICK, SCENARIOS, Settings

HERE = Path(__file__).resolve().parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _selected(only: str | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    chosen = []
    for item in only.split(","):
        item = item.strip()
        name = SCENARIOS[int(item) - 1] if item.isdigit() else item
        if name not in SCENARIOS:
            raise SystemExit(
                f"unknown scenario {item!r}; choose from 1-{len(SCENARIOS)} or {SCENARIOS}"
            )
        chosen.append(name)
    return [name for name in SCENARIOS if name in chosen]


def _runner(name: str, settings: Settings, out: Path) -> Callable[[], dict[str, Any]]:
    if name == "overhead":
        return lambda: _overhead.run(settings, out / "profiles", log)
    if name == "ttft":
        return lambda: _ttft.run(settings, log)
    if name == "throughput":
        return lambda: _throughput.run(settings, log)
    if name == "ratelimit":
        return lambda: _ratelimit.run(settings, log)
    if name == "responses":
        return lambda: _overhead.run_responses(settings, out / "profiles", log)
    if name == "batch":
        return lambda: _batch.run(settings, log)
    if name == "emulator":
        return lambda: _emulator_rate.run(settings, log)
    if name == "annotations":
        return lambda: _annotations.run(settings, log)
    if name == "tracing":
        return lambda: _overhead.run_tracing(settings, out / "profiles", log)
    return lambda: _imports.run(settings, log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--only", help="scenarios to run, e.g. 1,3 or overhead,ttft")
    parser.add_argument(
        "--out", type=Path, help="output folder (default: bench/, or bench/quick/ with --quick)"
    )
    parser.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    parser.add_argument("--load-note", help="a sentence on machine load, added to RESULTS.md")
    args = parser.parse_args(argv)

    from bench._report import write

    settings = QUICK if args.quick else FULL
    out: Path = args.out or (HERE / "quick" if args.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    offline_env()
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    started = time.perf_counter()
    results: dict[str, Any] = {
        "command": command,
        "started_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": args.quick,
        "settings": settings.as_dict(),
        "machine": describe(ROOT),
        "load_before": load_average(),
        "load_note": args.load_note,
    }
    for name in _selected(args.only):
        log(f"[{name}] load {load_average()}")
        begin, before = time.perf_counter(), load_average()
        data = _runner(name, settings, out)()
        data.update(
            load_before=before,
            load_after=load_average(),
            duration_s=time.perf_counter() - begin,
        )
        results[name] = data
        log(f"[{name}] done in {data['duration_s']:.0f} s")
    results["load_after"] = load_average()
    results["duration_s"] = time.perf_counter() - started
    if not args.no_charts:
        from bench._charts import draw

        for path in draw(results, out / "charts"):
            log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    for path in write(results, out):
        log(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if out == HERE and not args.quick:
        # The site's benchmarks page shows the run recorded in bench/, never a quick one.
        from bench.report_docs import write as write_page

        for path in write_page():
            log(f"wrote {path.relative_to(ROOT)}")
    return 0
