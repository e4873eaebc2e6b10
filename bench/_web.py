"""Search: `parallel_adapters.search()` against the raw `parallel-web` client and the peers.

    python -m bench._web            # bench/web.json and bench/WEB.md
    python -m bench._web --quick    # a short smoke run, printed only

Every contender runs one search of the same objective on the bench's emulator process
(`bench._emulator`, no latency) and the per-call time is compared, repeat by repeat, with
the raw client's (`parallel.Parallel().search`, the floor). Contenders run interleaved
(`bench._timing.rotations`), so a slow moment on a shared machine hits every one alike.

The peers are called as their users would: LlamaIndex's `ParallelWebSystemsToolSpec`
(async only, `/v1beta/search`) on one event loop; `langchain-parallel`'s
`ParallelSearchRetriever` when it is installed. It needs `parallel-web<0.6` and
`openai<2`, which cannot be installed beside `parallel-web>=1.3`, so in the `bench-web`
environment it is reported as not measured; in the `bench` environment it is measured,
with the parallel-web release it pins as the floor:

    python -m bench._web --name web-langchain   # bench/web-langchain.json, WEB-LANGCHAIN.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._emulator import EmulatorProcess, Endpoint
from bench._timing import Stats, paired, rotations

OBJECTIVE = "What is the capital of Japan?"
MAX_RESULTS = 5
TARGET = 1.0  # search() <= 1.0x the raw client (issue #26)
HERE = Path(__file__).resolve().parent

SyncCall = Callable[[], object]
# Named in the report: the floor's parallel-web release differs between the two
# environments the bench runs in (see the module docstring).
PACKAGES = (
    "parallel-web",
    "openai",
    "llama-index-tools-parallel-web-systems",
    "langchain-parallel",
)


@dataclass(frozen=True)
class WebContender:
    key: str
    label: str
    build: Callable[[Endpoint], SyncCall]


def _check(pages: object) -> object:
    if not pages:
        raise RuntimeError(f"a contender found nothing: {pages!r}")
    return pages


def _raw(endpoint: Endpoint) -> SyncCall:
    from parallel import Parallel  # type: ignore[import-not-found]

    client = Parallel(api_key=endpoint.api_key, base_url=endpoint.base_url)

    def call() -> object:
        result = client.search(
            objective=OBJECTIVE,
            search_queries=[OBJECTIVE],
            advanced_settings={"max_results": MAX_RESULTS},
        )
        return _check(result.results)

    return call


def _kit(endpoint: Endpoint) -> SyncCall:
    import parallel_adapters

    # The limiter is off: the raw client and the peers have none.
    parallel_adapters.configure(
        api_key=endpoint.api_key, base_url=endpoint.base_url, requests_per_minute=None
    )

    def call() -> object:
        return _check(parallel_adapters.search(OBJECTIVE, max_results=MAX_RESULTS).results)

    return call


def _llama_index_tools(endpoint: Endpoint) -> SyncCall:
    from llama_index.tools.parallel_web_systems import (  # type: ignore[import-not-found]
        ParallelWebSystemsToolSpec,
    )

    spec = ParallelWebSystemsToolSpec(api_key=endpoint.api_key, base_url=endpoint.base_url)
    loop = asyncio.new_event_loop()

    def call() -> object:
        documents = loop.run_until_complete(
            spec.search(objective=OBJECTIVE, search_queries=[OBJECTIVE], max_results=MAX_RESULTS)
        )
        return _check(documents)

    return call


def _langchain(endpoint: Endpoint) -> SyncCall:
    from langchain_parallel import ParallelSearchRetriever  # type: ignore[import-not-found]

    retriever = ParallelSearchRetriever(
        api_key=endpoint.api_key, base_url=endpoint.base_url, max_results=MAX_RESULTS
    )

    def call() -> object:
        return _check(retriever.invoke(OBJECTIVE))

    return call


CONTENDERS = (
    WebContender("raw", "raw `parallel.Parallel().search` (parallel-web)", _raw),
    WebContender("kit", "`parallel_adapters.search()`", _kit),
    WebContender(
        "llama_index_tools",
        "LlamaIndex `ParallelWebSystemsToolSpec.search` (llama-index-tools-parallel-web-systems)",
        _llama_index_tools,
    ),
    WebContender("langchain", "`langchain-parallel` `ParallelSearchRetriever.invoke`", _langchain),
)


def _per_call_ms(call: SyncCall, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - start) * 1000.0 / count


def _versions() -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def run(repeats: int, calls: int) -> dict[str, Any]:
    """Time every installable contender; ratios to the raw client, repeat by repeat."""
    skipped: dict[str, str] = {}
    with EmulatorProcess() as endpoint:
        built: dict[str, SyncCall] = {}
        for contender in CONTENDERS:
            try:
                built[contender.key] = contender.build(endpoint)
                built[contender.key]()  # warm: connections, imports, first-call caches
            except ImportError as error:
                skipped[contender.key] = f"not installed: {error}"
        if "raw" not in built:
            raise SystemExit("the floor needs parallel-web: pip install -e '.[bench-web]'")
        times: dict[str, list[float]] = {key: [] for key in built}
        for _, key in rotations(list(built), repeats):
            times[key].append(_per_call_ms(built[key], calls))
    floor = times["raw"]
    results: dict[str, Any] = {}
    for contender in CONTENDERS:
        if contender.key in times:
            results[contender.key] = {
                "label": contender.label,
                "ms_per_call": Stats.of(times[contender.key]).as_dict(),
                "ratio_to_raw": paired(times[contender.key], floor, ratio=True).as_dict(),
            }
        else:
            results[contender.key] = {"label": contender.label, "skipped": skipped[contender.key]}
    kit = results["kit"]["ratio_to_raw"]["median"]
    return {
        "objective": OBJECTIVE,
        "max_results": MAX_RESULTS,
        "repeats": repeats,
        "calls_per_repeat": calls,
        "python": sys.version.split()[0],
        "packages": _versions(),
        "contenders": results,
        "target": {"kit_ratio_max": TARGET, "kit_ratio": kit, "pass": kit <= TARGET},
    }


def report(data: dict[str, Any], name: str = "web") -> str:
    packages = ", ".join(f"{k} {v}" for k, v in data.get("packages", {}).items())
    lines = [
        "# Search benchmark",
        "",
        f"Generated by `python -m bench._web --name {name}`; the raw numbers are in "
        f"[{name}.json]({name}.json). Packages: {packages or 'not recorded'}.",
        f"One search of {data['objective']!r} (max_results {data['max_results']}) per call on "
        f"the bench's emulator process; {data['repeats']} interleaved repeats of "
        f"{data['calls_per_repeat']} calls each; Python {data['python']}.",
        "",
        "| contender | ms per call: median (min-max) | x raw client: median (min-max) |",
        "|---|---|---|",
    ]
    for entry in data["contenders"].values():
        if "skipped" in entry:
            lines.append(f"| {entry['label']} | not measured: {entry['skipped']} | |")
            continue
        ms, ratio = entry["ms_per_call"], entry["ratio_to_raw"]
        lines.append(
            f"| {entry['label']} | {ms['median']:.2f} ({ms['min']:.2f}-{ms['max']:.2f}) | "
            f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})x |"
        )
    target = data["target"]
    verdict = "PASS" if target["pass"] else "MISS"
    lines += [
        "",
        f"Target: `search()` <= {target['kit_ratio_max']:.2f}x the raw client: "
        f"{target['kit_ratio']:.2f}x, **{verdict}**.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._web")
    parser.add_argument("--quick", action="store_true", help="a short run, printed only")
    parser.add_argument(
        "--name",
        default="web",
        help="write bench/NAME.json and bench/NAME.md (upper-cased); default web",
    )
    args = parser.parse_args(argv)
    repeats, calls = (3, 20) if args.quick else (10, 40)
    data = run(repeats, calls)
    text = report(data, args.name)
    print(text)
    if not args.quick:
        (HERE / f"{args.name}.json").write_text(json.dumps(data, indent=2) + "\n")
        (HERE / f"{args.name.upper()}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
