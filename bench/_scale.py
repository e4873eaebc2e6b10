"""Running at scale: `python -m bench._scale [--quick]` (issue 15).

1. The cost of one limiter acquire for each store (memory, SQLite, Redis on loopback),
   with a budget that never makes it wait: targets <= 1 ms for SQLite, <= 0.5 ms for Redis.
2. The share of the budget 4 processes achieve through one shared store against the
   emulator's limit (the same sliding-window metric as the `ratelimit` scenario), and the
   server's 429s; `memory` as the control (each process thinks it has the whole budget).
3. 1,000 requests at 500 in flight with 1 s answers through `amap`: errors and time.

Writes bench/SCALE.md and bench/scale.json. Needs `redis-server` on the PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._emulator import ROOT, EmulatorProcess, Endpoint
from bench._redis_server import redis_server

HERE = Path(__file__).resolve().parent


def acquire_cost(store: str, count: int) -> dict[str, float]:
    from parallel_adapters._core._ratelimit import RequestLimiter

    limiter = RequestLimiter(10**9, window_seconds=60, store=store, budget_id="bench-cost")
    for _ in range(min(100, count)):  # connections, statements, scripts: warm
        limiter.acquire()
    costs = []
    for _ in range(count):
        start = time.perf_counter()
        limiter.acquire()
        costs.append(time.perf_counter() - start)
    limiter.close()
    costs.sort()
    return {
        "median_ms": 1000 * statistics.median(costs),
        "p99_ms": 1000 * costs[int(len(costs) * 0.99)],
        "mean_ms": 1000 * statistics.fmean(costs),
    }


def shared_share(
    store: str, processes: int, each: int, limit: int, window: float
) -> dict[str, Any]:
    emulator = EmulatorProcess(rate_limit=f"{limit}/{window}")
    with emulator as endpoint:
        workers = [_spawn(endpoint, store, i, each, limit, window) for i in range(processes)]
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError("a bench worker failed to start")
        emulator.control(endpoint, "reset")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        summaries = [
            json.loads(w.communicate(timeout=600)[0].strip().splitlines()[-1]) for w in workers
        ]
        entries = emulator.control(endpoint, "log")
    statuses = [e["status"] for e in entries]
    arrivals = sorted(e["time"] for e in entries if e["status"] == 200)
    spans = [arrivals[i] - arrivals[i - limit] for i in range(limit, len(arrivals))]
    return {
        "processes": processes,
        "requests": processes * each,
        "ok": statuses.count(200),
        "status_429": statuses.count(429),
        "client_errors": sum(len(s["errors"]) for s in summaries),
        "achieved_pct_of_budget": 100 * window / statistics.fmean(spans) if spans else 0.0,
    }


def _spawn(
    endpoint: Endpoint, store: str, index: int, each: int, limit: int, window: float
) -> subprocess.Popen[str]:
    cfg = {
        "base_url": endpoint.base_url,
        "api_key": endpoint.api_key,
        "store": store,
        "rpm": int(limit * 60 / window),
        "window": window,
        "requests": each,
        "concurrency": 4,
        "mode": "async" if index % 2 else "sync",
        "index": index,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bench._budget_worker", json.dumps(cfg)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def in_flight(total: int, concurrency: int, answer_seconds: float) -> dict[str, Any]:
    import parallel_adapters as pa

    with EmulatorProcess(ttft=answer_seconds) as endpoint:
        chat = pa.ParallelChat(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            max_retries=0,
            requests_per_minute=None,
            timeout=120,
        )

        async def main() -> list[Any]:
            try:
                return await chat.amap(
                    [f"in flight {i}" for i in range(total)],
                    concurrency=concurrency,
                    return_exceptions=True,
                )
            finally:
                await chat.aclose()

        start = time.perf_counter()
        results = asyncio.run(main())
        elapsed = time.perf_counter() - start
    errors = [type(r).__name__ for r in results if isinstance(r, BaseException)]
    return {
        "requests": total,
        "in_flight": concurrency,
        "answer_s": answer_seconds,
        "errors": len(errors),
        "error_types": sorted(set(errors)),
        "elapsed_s": elapsed,
        "ideal_s": answer_seconds * -(-total // concurrency),
    }


def run(quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {"acquire_cost": {}, "shared_budget": {}}
    count = 300 if quick else 3000
    # 10 s windows: the limiter's arrival slack (500 ms, its cap) is 5% of one (see _ratelimit).
    limit, window = (20, 10.0) if quick else (50, 10.0)
    each = 8 if quick else 25
    with tempfile.TemporaryDirectory() as tmp, redis_server() as redis_url:
        stores = {"memory": "memory", "sqlite": f"sqlite://{tmp}/budget.db", "redis": redis_url}
        for name, store in stores.items():
            results["acquire_cost"][name] = acquire_cost(store, count)
            print(f"acquire {name}: {results['acquire_cost'][name]}", file=sys.stderr)
        for name, store in stores.items():
            if name == "sqlite":
                store = f"sqlite://{tmp}/share.db"
            results["shared_budget"][name] = shared_share(store, 4, each, limit, window)
            print(f"share {name}: {results['shared_budget'][name]}", file=sys.stderr)
    results["shared_budget_limit"] = {"requests": limit, "window_s": window}
    total, concurrency = (200, 100) if quick else (1000, 500)
    results["in_flight"] = in_flight(total, concurrency, 1.0)
    print(f"in flight: {results['in_flight']}", file=sys.stderr)
    return results


def markdown(results: dict[str, Any], machine: str) -> str:
    lines = ["# Running at scale: measured", "", machine, "", "## Acquire cost (one process)", ""]
    lines += ["| store | median | p99 | mean |", "| --- | --- | --- | --- |"]
    for name, c in results["acquire_cost"].items():
        lines.append(
            f"| {name} | {c['median_ms']:.3f} ms | {c['p99_ms']:.3f} ms | {c['mean_ms']:.3f} ms |"
        )
    limit = results["shared_budget_limit"]
    lines += [
        "",
        f"## 4 processes, one key, server limit {limit['requests']} per {limit['window_s']} s",
        "",
        "| store | requests | 429s at the server | share of the budget |",
        "| --- | --- | --- | --- |",
    ]
    for name, s in results["shared_budget"].items():
        lines.append(
            f"| {name} | {s['requests']} | {s['status_429']} | {s['achieved_pct_of_budget']:.1f}% |"
        )
    f = results["in_flight"]
    lines += [
        "",
        "## Many in flight (`amap`, limiter off)",
        "",
        f"{f['requests']} requests at {f['in_flight']} in flight, {f['answer_s']} s answers: "
        f"{f['errors']} errors {f['error_types'] or ''}, {f['elapsed_s']:.1f} s "
        f"(at least {f['ideal_s']:.0f} s).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._scale", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    from bench._machine import describe, load_average

    before = load_average()
    results = run(args.quick)
    info = describe(ROOT)
    machine = (
        f"Machine: {info['cpu']}, {info['logical_cpus']} CPUs, Python {info['python']}, "
        f"commit {info['git_commit']}{' (dirty)' if info['git_dirty'] else ''}; "
        f"load average before: {before}, after: {load_average()}."
    )
    results["machine"] = machine
    out = HERE / ("quick" if args.quick else "")
    out.mkdir(exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "SCALE.md").write_text(markdown(results, machine))
    print(markdown(results, machine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
