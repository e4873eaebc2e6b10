"""RESULTS.md and results.json from one run's results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench._batch import section as _batch
from bench._settings import SCENARIOS
from bench._targets import evaluate

_FRAMEWORKS = ("llama_index", "dspy", "langchain_core", "langchain_parallel", "litellm")


def _r(stats: dict[str, Any], fmt: str, unit: str = "") -> str:
    return f"{stats['median']:{fmt}}{unit} ({stats['min']:{fmt}}–{stats['max']:{fmt}})"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _load(data: dict[str, Any]) -> str:
    before, after = data.get("load_before"), data.get("load_after")
    if not before or not after:
        return ""
    return (
        f"Load average (1/5/15 min) before: {' / '.join(map(str, before))}; "
        f"after: {' / '.join(map(str, after))}; took {data.get('duration_s', 0):.0f} s."
    )


def _packages(profile: dict[str, Any], top: int = 5) -> str:
    items = list(profile["by_package_ms_per_call"].items())[:top]
    return " · ".join(f"{name} {ms:.3f}" for name, ms in items)


def _overhead(data: dict[str, Any], charts: str, number: int = 1) -> list[str]:
    lines = [
        f"## {number}. {data['title']}",
        "",
        f"{data['repeats']} interleaved repeats of {data['calls_per_repeat']} calls per "
        f"contender after {data['warmup_calls']} warm-up calls; each value is the mean of one "
        "repeat's calls, shown as median (min–max) over repeats. The ratio is taken per "
        "repeat against the floor's value in the same repeat.",
        "",
    ]
    if number == 1:
        lines += [f"![per-call overhead]({charts}/overhead.png)", ""]
    rows = [
        [r["label"], r["kind"], _r(r["ms_per_call"], ".3f"), _r(r["ratio_to_floor"], ".2f", "x")]
        for r in data["contenders"]
    ]
    lines += _table(["contender", "kind", "ms per call", "× floor"], rows)
    floor_split = data["contenders"][0].get("socket_split")
    split_rows = []
    for r in data["contenders"]:
        split = r.get("socket_split")
        if split and floor_split:
            split_rows.append(
                [
                    r["label"],
                    f"{split['client_ms']:.3f}",
                    f"{split['server_ms']:.3f}",
                    f"{split['client_ms'] - floor_split['client_ms']:+.3f}",
                    f"{split['client_ms'] / floor_split['client_ms']:.2f}x",
                ]
            )
    if split_rows:
        lines += [
            "### Client and server shares",
            "",
            "A separate pass with hooks on `socket.socket` (median of "
            f"{data['calls_per_repeat']} calls each, round-robin): the server's share is the "
            "time from the "
            "request's last byte sent to the first receive after it, the client's is the "
            "rest. The server takes longer over a larger prompt (DSPy's) and one it reads "
            "more of (the emulator parses DSPy and LlamaIndex prompt templates), which the "
            "end-to-end ratio above charges to the contender.",
            "",
        ]
        lines += _table(
            [
                "contender",
                "client ms per call",
                "server ms per call",
                "client ms vs floor",
                "client × floor",
            ],
            split_rows,
        )
    lines += [
        "### Where the time goes",
        "",
        f"cProfile over {data['contenders'][0]['profile']['calls']} more calls per contender "
        "(profiling inflates every number, so compare rows, not against the table above): own "
        "time per call in ms, by the package that spent it. `C builtins` includes waiting on "
        "the socket for the server's answer. Full listings: `profiles/overhead-<key>.txt`.",
        "",
    ]
    rows = [
        [r["label"], f"{r['profile']['total_ms_per_call']:.3f}", _packages(r["profile"])]
        for r in data["contenders"]
    ]
    lines += _table(["contender", "profiled ms per call", "top packages (ms per call)"], rows)
    for row in data["contenders"]:
        if row["kind"] != "kit":
            continue
        functions = row["profile"]["kit_functions_ms_per_call"][:6]
        if not functions:
            continue
        lines += [f"Slowest kit functions under {row['label']} (cumulative ms per call):", ""]
        lines += [f"- `{f['function']}`: {f['cumulative']:.3f}" for f in functions]
        lines.append("")
    return lines


def _ttft(data: dict[str, Any], charts: str) -> list[str]:
    server = data["server"]
    lines = [
        f"## 2. {data['title']}",
        "",
        f"Emulator: first chunk {server['ttft_s'] * 1000:.0f} ms after the headers, then "
        f"{server['chunk_interval_s'] * 1000:.0f} ms between chunks. Each call measures from "
        "the call to the first non-empty text delta the user's code sees, then reads the stream "
        f"to its end. {data['repeats']} interleaved repeats of {data['calls_per_repeat']} calls "
        "(median per repeat), after warm-up; added ms are paired per repeat with the raw SDK.",
        "",
        f"![time to first token]({charts}/ttft.png)",
        "",
    ]
    rows = [
        [r["label"], r["kind"], _r(r["ttft_ms"], ".2f"), _r(r["added_ms"], "+.2f")]
        for r in data["contenders"]
    ]
    lines += _table(["contender", "kind", "ms to first delta", "ms added vs floor"], rows)
    split_rows = []
    floor_split = data["contenders"][0].get("socket_split")
    for r in data["contenders"]:
        split = r.get("socket_split")
        if not split or not floor_split:
            continue
        client = split["before_send_ms"] + split["after_receive_ms"]
        floor_client = floor_split["before_send_ms"] + floor_split["after_receive_ms"]
        split_rows.append(
            [
                r["label"],
                f"{split['before_send_ms']:.2f}",
                f"{split['server_headers_ms']:.2f}",
                f"{split['after_receive_ms']:.2f}",
                f"{client - floor_client:+.2f}",
            ]
        )
    if split_rows:
        lines += [
            "### Where the time to first token goes",
            "",
            "A separate pass with hooks on `socket.socket` (median of "
            f"{data['repeats']} calls each, round-robin) splits the time to first token: the "
            "client's time from the call until the request's first byte is sent; the server's "
            "time from there to its answer headers (sent before the TTFT wait; longer for a "
            "larger prompt such as DSPy's); the client's time from the last receive before "
            "the first delta until that delta reaches the caller. The last column is the "
            "client's own time (before + after) against the raw SDK's.",
            "",
        ]
        lines += _table(
            [
                "contender",
                "client: ms before the send",
                "server: ms to headers",
                "client: ms after the receive",
                "client ms vs floor",
            ],
            split_rows,
        )
    return lines


def _throughput_rows(contenders: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in contenders:
        share = {k: v * 100 for k, v in r["ratio_to_floor"].items() if k != "values"}
        rows.append(
            [
                r["label"],
                r["kind"],
                _r(r["requests_per_second"], ".0f"),
                _r(share, ".1f", "%"),
                _r(r["client_cpu_ms_per_request"], ".3f"),
            ]
        )
    return rows


def _throughput(data: dict[str, Any], charts: str) -> list[str]:
    header = ["contender", "kind", "requests/s", "% of floor", "client CPU ms/request"]
    lines = [
        f"## 3. {data['title']}",
        "",
        f"{data['requests']} requests, {data['concurrency']} in flight, "
        f"{data['server']['latency_s'] * 1000:.0f} ms server latency; a fresh event loop per run "
        "with its clients built and its connection pool opened before the clock starts; "
        f"{data['repeats']} interleaved repeats. Client CPU is this process's CPU time "
        "(all threads) per request; the emulator runs in another process.",
        "",
        f"![throughput]({charts}/throughput.png)",
        "",
    ]
    lines += _table(header, _throughput_rows(data["contenders"]))
    low = data.get("low_concurrency")
    if low:
        lines += [
            f"The same with {low['concurrency']} in flight ({low['requests']} requests, "
            f"{low.get('repeats', data['repeats'])} repeats). "
            "With many requests in flight, httpcore's connection pool (under every "
            "contender's openai client) scans its queued requests against its connections "
            "on every change, so client CPU per request grows with concurrency for all "
            "contenders alike; fewer in flight shows the adapters' own cost more plainly:",
            "",
        ]
        lines += _table(header, _throughput_rows(low["contenders"]))
    return lines


def _ratelimit(data: dict[str, Any], charts: str) -> list[str]:
    limit, client = data["server_limit"], data["client_limiter"]
    lines = [
        f"## 4. {data['title']}",
        "",
        f"The emulator allows {limit['requests']} requests per {limit['window_s']:g} s "
        "(sliding window, per key) and answers 429 beyond; the client is "
        f"`ParallelChat(requests_per_minute={client['requests_per_minute']}, "
        f"rate_limit_window={client['rate_limit_window']:g})`, the same rate, with its default "
        f"retries, sending {data['requests']} requests {data['concurrency']} at a time. 429s are "
        "counted by the server. Achieved rate: a sliding window lets request i arrive no "
        f"sooner than {limit['window_s']:g} s after request i-{limit['requests']}; the rate is "
        f"{limit['requests']} over the mean of those spans at the server (100% = every request "
        "arrives the moment the limit allows it).",
        "",
    ]
    if "best_pct_of_limit" in client:
        lines += [_margin_sentence(client, limit["window_s"]), ""]
    lines += [
        f"![rate limit]({charts}/ratelimit.png)",
        "",
    ]
    rows = [
        [
            r["label"],
            str(r["ok"]),
            str(r["status_429"]),
            f"{r['mean_span_s']:.3f} s (shortest {r['min_span_s']:.3f} s)",
            f"{r['achieved_rps']:.2f} / {r['limit_rps']:.2f}",
            f"{r['achieved_pct_of_limit']:.1f}%",
        ]
        for r in data["runs"]
    ]
    lines += _table(
        [
            "run",
            "answered",
            "429s",
            f"mean span of {limit['requests']} requests",
            "req/s vs limit",
            "% of limit",
        ],
        rows,
    )
    short = data.get("one_second_window")
    if short:
        short_limit = short["server_limit"]
        lines += [
            "",
            f"The same on a 1 s window: {short_limit['requests']} per "
            f"{short_limit['window_s']:g} s at the server, the client set alike "
            f"(`requests_per_minute={short['client_limiter']['requests_per_minute']}, "
            "rate_limit_window=1`), "
            f"{short['requests']} requests:",
            "",
        ]
        lines += _table(
            ["run", "answered", "429s", "% of limit"],
            [
                [r["label"], str(r["ok"]), str(r["status_429"]),
                 f"{r['achieved_pct_of_limit']:.1f}%"]
                for r in short["runs"]
            ],
        )  # fmt: skip
    return lines


def _margin_sentence(client: dict[str, Any], window: float) -> str:
    return (
        f"The kit's limiter counts over the window plus {client['arrival_slack_ms']:.0f} ms "
        f"(arrival slack) and sleeps {client['buffer_ms']:.0f} ms past each freed slot, both "
        "to absorb the difference between when a request leaves and when the server counts "
        f"it; so the best it can reach is {client['best_pct_of_limit']:.1f}% of a "
        f"{window:g} s window's rate, and {client['best_pct_at_60s_window']:.1f}% on the "
        "API's 60 s window."
    )


def _imports(data: dict[str, Any], charts: str) -> list[str]:
    lines = [
        f"## 5. {data['title']}",
        "",
        f"{data['method']}; {data['repeats']} interleaved repeats after a warm-up run of each "
        "(warm .pyc caches). Largest imports: top-level modules by cumulative `-X importtime`.",
        "",
        f"![imports]({charts}/imports.png)",
        "",
    ]
    rows = []
    for r in data["imports"]:
        largest = ", ".join(f"{m['module']} {m['ms']:.0f}" for m in r["largest_imports"][:4])
        rows.append(
            [
                f"`{r['statement']}`",
                r["kind"],
                _r(r["wall_ms"], ".0f"),
                _r(r["added_ms"], ".0f"),
                _r(r["max_rss_mib"], ".1f"),
                _r(r["added_mib"], ".1f"),
                largest or "–",
            ]
        )
    return lines + _table(
        [
            "statement",
            "kind",
            "wall ms",
            "ms over bare python",
            "max RSS MiB",
            "MiB over bare python",
            "largest imports (ms)",
        ],
        rows,
    )


def _responses(data: dict[str, Any], charts: str) -> list[str]:
    header, *rest = _overhead(data, charts, number=6)
    return [
        header,
        "",
        "The same emulator and method as scenario 1, on `POST /v1/responses` (effort `low` on "
        "both sides). The floor is the stock SDK's `client.responses.create`, which parses the "
        "body into typed `Response` models; the kit reads the JSON and builds citations, "
        "cited spans and the basis.",
        *rest,
    ]


def _tracing(data: dict[str, Any], charts: str) -> list[str]:
    rows = [
        [
            r["label"],
            r["kind"],
            _r(r["hook_us_per_call"], ".2f", " µs"),
            _r(r["added_us"], "+.2f", " µs"),
            _r(r["ms_per_call"], ".3f"),
            _r(r["ratio_to_floor"], ".3f", "x"),
            _r(r["cpu_ratio_to_floor"], ".3f", "x"),
        ]
        for r in data["contenders"]
    ]
    return [
        f"## 10. {data['title']}",
        "",
        "One process and one `complete()` client; before each call the contender sets how "
        "the kit finds a tracer: its span hook switched off (the floor), the OpenTelemetry "
        "API imported with no provider set, or the SDK's `TracerProvider` with a "
        "`SimpleSpanProcessor` and an `InMemorySpanExporter` (a span recorded and exported "
        "per call). Two measurements, contenders interleaved in both, each paired with the "
        "floor's repeat:",
        "",
        f"- the hook alone: {data['hook_calls_per_repeat']:,} calls per repeat of what a "
        "call does around its HTTP request (hold the price, start the span, settle, end "
        "the span with the answer's attributes), in microseconds; the targets are judged "
        "on this, since microseconds drown in end-to-end noise on a shared machine;",
        f"- end to end: {data['repeats']} repeats of {data['calls_per_repeat']} "
        "`complete()` calls against the emulator, as a ratio to the floor, in wall time "
        "and in this process's CPU time (the emulator runs in another process).",
        "",
        *_table(
            [
                "contender",
                "kind",
                "hook µs per call",
                "hook added per call",
                "wall ms per call",
                "wall × floor",
                "CPU × floor",
            ],
            rows,
        ),
    ]


def _emulator(data: dict[str, Any], charts: str) -> list[str]:
    lines = [f"## 8. {data['title']}", "", data["method"] + ".", ""]
    rows = [
        [r["label"], _r(r["requests_per_s"], ",.0f"), _r(r["ms_per_request"], ".2f")]
        for r in data["servers"]
    ]
    return lines + _table(["server", "requests/s", "ms per request"], rows)


def _evidence(target: dict[str, Any], results: dict[str, Any]) -> list[str]:
    """The numbers that explain a missed target."""
    scenario = target["scenario"]
    if scenario in ("overhead", "responses"):
        rows = results[scenario]["contenders"]
        floor = rows[0]["profile"]["by_package_ms_per_call"]
        row = next(r for r in rows if r["key"] == target["key"])
        mine = row["profile"]["by_package_ms_per_call"]
        deltas = sorted(
            ((k, mine.get(k, 0.0) - floor.get(k, 0.0)) for k in {*mine, *floor}),
            key=lambda kv: -kv[1],
        )
        parts = [f"{k} {d:+.3f}" for k, d in deltas if abs(d) >= 0.005][:8]
        return [
            f"  Profiled ms per call against the floor, by package: {', '.join(parts)}.",
        ]
    if scenario == "throughput":
        rows = results["throughput"]["contenders"]
        row = next(r for r in rows if r["key"] == target["key"])

        def runs(r: dict[str, Any]) -> str:
            return ", ".join(f"{v:.0f}" for v in r["requests_per_second"]["values"])

        return [
            "  Client CPU ms per request: "
            + ", ".join(
                f"{r['label']} {r['client_cpu_ms_per_request']['median']:.3f}" for r in rows
            )
            + f". Requests/s run by run: floor {runs(rows[0])}; this contender {runs(row)}."
        ]
    if scenario == "ttft":
        rows = results["ttft"]["contenders"]
        row = next(r for r in rows if r["key"] == target["key"])
        peers = {"parallel_llm": "openai_like", "parallel_lm": "dspy_lm"}
        compared = [("floor", rows[0])]
        compared += [("peer", r) for r in rows if r["key"] == peers.get(row["key"])]
        if not row.get("socket_split") or not all(r.get("socket_split") for _, r in compared):
            return []

        def shares(split: dict[str, float]) -> str:
            return (
                f"{split['before_send_ms']:.2f} ms before the send, "
                f"{split['server_headers_ms']:.2f} ms server to headers, "
                f"{split['after_receive_ms']:.2f} ms after the first chunk"
            )

        lines = [f"  This contender: {shares(row['socket_split'])}."]
        lines += [f"  The {name}: {shares(r['socket_split'])}." for name, r in compared]
        lines.append(
            "  The rest lies between the server's headers and the first chunk's receive: the "
            "server's wait, the loopback and, where a framework streams through threads (DSPy: "
            "a producer thread with its own event loop, a worker thread for the program, and "
            "the caller's), the time the receiving thread waits to get the GIL back, which the "
            "socket hooks cannot see."
        )
        return lines
    if scenario == "ratelimit":
        data = results["ratelimit"]
        run = next(r for r in data["runs"] if r["key"] == target["key"])
        window = data["server_limit"]["window_s"]
        late = (run["mean_span_s"] - window) * 1000
        count = data["server_limit"]["requests"]
        return [
            f"  Each {count} consecutive requests spanned {run['mean_span_s']:.3f} s on average "
            f"(shortest {run['min_span_s']:.3f} s) against the {window:g} s window: {late:.0f} ms "
            "per window unused. A span under the window at the server is a 429: arrival times "
            "jitter when the machine is loaded.",
            *(
                ["  " + _margin_sentence(data["client_limiter"], window)]
                if "best_pct_of_limit" in data["client_limiter"]
                else []
            ),
        ]
    if scenario == "imports":
        row = next(r for r in results["imports"]["imports"] if r["key"] == "parallel_adapters")
        largest = ", ".join(f"{m['module']} {m['ms']:.0f} ms" for m in row["largest_imports"])
        return [f"  Largest imports under `import parallel_adapters`: {largest}."]
    if scenario == "emulator":
        data = results["emulator"]
        rows = {r["key"]: r for r in data["servers"]}
        reference = rows.get(data.get("reference", ""))
        if reference is None:
            return []
        floor = reference["ms_per_request"]["median"]
        mine = rows[target["key"]]["ms_per_request"]["median"]
        return [
            f"  Against a bare server that does no work, the same client needs {floor:.2f} ms "
            f"per request (the `openai` SDK building and parsing, and the loopback): its "
            f"ceiling is {1000 / floor:,.0f}/s, below the target, so the target cannot be "
            f"met with this client on this machine. The emulator adds {mine - floor:.2f} ms."
            if 1000 / floor < data["target_per_s"]
            else f"  The same client reaches {1000 / floor:,.0f}/s against a bare server; "
            f"the emulator adds {mine - floor:.2f} ms per request.",
        ]
    return []


def _annotations(data: dict[str, Any], charts: str) -> list[str]:
    lines = [f"## 9. {data['title']}", "", data["method"] + ".", ""]
    rows = [
        [
            c["label"],
            f"{c['annotations']:,}",
            _r(c["seconds"], ".3f", " s"),
            _r(c["cpu_seconds"], ".3f", " s"),
        ]
        for c in data["cases"]
    ]
    return lines + _table(["answer", "annotations", "wall", "CPU of the process"], rows)


def render(
    results: dict[str, Any],
    charts: str = "charts",
    results_link: str = "[results.json](results.json)",
) -> str:
    machine = results["machine"]
    targets = evaluate(results)
    results["targets"] = targets
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `{results['command']}` on {results['started_at']} "
        f"(commit {machine['git_commit']}{', with local changes' if machine['git_dirty'] else ''}"
        f"; {results['duration_s']:.0f} s). Regenerate it rather than editing it; "
        f"the raw numbers are in {results_link}.",
        "",
    ]
    if results.get("quick"):
        lines += ["**Quick smoke run: too few repeats to quote.**", ""]
    lines += [
        "Reproduce from the repository root:",
        "",
        "```sh",
        'pip install -e ".[bench]"',
        "python -m bench            # this file, results.json, charts/ and profiles/",
        "python -m bench --quick    # a short smoke run into bench/quick/",
        "```",
        "",
        "## Targets",
        "",
    ]
    rows = [[t["target"], t["measured"], f"**{t['status']}**", t["note"]] for t in targets]
    lines += _table(["target (issue #6)", "measured: median (min–max)", "", "for comparison"], rows)
    missed = [t for t in targets if t["status"] == "MISS"]
    if missed:
        lines += ["Missed targets and the profile behind them:", ""]
        for target in missed:
            lines.append(f"- {target['target']}: {target['measured']}.")
            lines += _evidence(target, results)
        lines.append("")
    lines += ["## Machine and conditions", ""]
    cpus = machine["logical_cpus"]
    memory = machine["memory_gib"]
    lines += _table(
        ["", ""],
        [
            ["CPU", f"{machine['cpu']}, {cpus} logical CPUs"],
            ["memory", f"{memory:.1f} GiB" if memory else "unknown"],
            ["OS", f"{machine['os']} (kernel {machine['kernel']})"],
            ["Python", f"{machine['python_implementation']} {machine['python']}"],
            [
                "packages",
                ", ".join(f"{k} {v}" for k, v in machine["packages"].items() if v is not None),
            ],
            ["load average before the run", " / ".join(map(str, results["load_before"]))],
            ["load average after the run", " / ".join(map(str, results["load_after"]))],
        ],
    )
    if results.get("load_note"):
        lines += [results["load_note"], ""]
    samples = [results["load_before"], results["load_after"]]
    for key in SCENARIOS:
        if data := results.get(key):
            samples += [data.get("load_before") or [], data.get("load_after") or []]
    busy = max((sample[0] for sample in samples if sample), default=0.0)
    cpus = machine["logical_cpus"] or 1
    if busy > 0.5 * cpus:
        lines += [
            f"**The machine was shared during this run** (1-minute load average up to {busy:g} "
            f"on {cpus} CPUs, beside the bench's own client and server processes): expect wide "
            "ranges, and read the paired ratios rather than absolute times.",
            "",
        ]
    lines += [
        "## Method",
        "",
        "- Every scenario talks to the project's emulator (`parallel_adapters.testing`) on "
        "127.0.0.1, in its own process (`python -m bench._server`: uvicorn with httptools, no "
        "access log), so the server never competes with the measured client for the GIL; on a "
        "2-core machine each gets about one core. Scenario 4 reads the server's request log "
        "from it. Quirk profile: `documented` (blank id and model, no usage), what the real "
        "API promises.",
        "- All contenders of a scenario run in the same process, interleaved round-robin; each "
        "repeat starts one contender later, so each takes every position equally often. Each "
        "contender is warmed up first. Numbers are medians over repeats with min–max.",
        "- Same question for all, off the emulator's corpus, so every contender receives the "
        "same short answer. The floor is the raw `openai` SDK call; it parses the answer into "
        "typed pydantic models, which the kit's core does not do (it reads the JSON body), "
        "so a ratio below 1.00 is possible.",
        "- The kit's client-side rate limiter is off (`requests_per_minute=None`) in scenarios "
        "1-3: the raw SDK and the peers have none. `parallel_adapters.complete()` uses the "
        "process-wide `default_chat()`, which the bench sets with "
        "`parallel_adapters.configure(requests_per_minute=None)`. Retries are left at each "
        "library's default; no request fails, so no retry runs.",
        "- DSPy: both contenders use `dspy.ChatAdapter()`, the signature `question -> answer` "
        "and `cache=False`; the emulator answers ChatAdapter prompts in their "
        "`[[ ## answer ## ]]` layout, so each `Predict` is one call. "
        '`dspy.LM("openai/speed", api_base=...)` picks DSPy\'s native lm15 engine on this '
        "version. DSPy's network fetch of a model price map is off "
        "(`LITELLM_LOCAL_MODEL_COST_MAP=true`).",
        "- `langchain-parallel` requires `openai<2`, so this environment has openai "
        f"{machine['packages'].get('openai')} for every contender, the floor included.",
        "",
    ]
    sections = [
        ("overhead", _overhead),
        ("ttft", _ttft),
        ("throughput", _throughput),
        ("ratelimit", _ratelimit),
        ("imports", _imports),
        ("responses", _responses),
        ("batch", _batch),
        ("emulator", _emulator),
        ("annotations", _annotations),
        ("tracing", _tracing),
    ]
    for key, section in sections:
        if data := results.get(key):
            lines += section(data, charts)
            if note := _load(data):
                lines += [note, ""]
    return "\n".join(lines).rstrip() + "\n"


def write(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    markdown = render(results)  # also stores the judged targets in `results`
    md_path, json_path = out / "RESULTS.md", out / "results.json"
    md_path.write_text(markdown)
    json_path.write_text(json.dumps(results, indent=1) + "\n")
    return md_path, json_path
