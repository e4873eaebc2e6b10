"""The issue's targets, judged on medians."""

from __future__ import annotations

from typing import Any


def _row(results: dict[str, Any], scenario: str, key: str) -> dict[str, Any] | None:
    data = results.get(scenario)
    if not data:
        return None
    rows = data.get("contenders") or data.get("imports") or []
    return next((r for r in rows if r["key"] == key), None)


def _range(stats: dict[str, Any], fmt: str) -> str:
    return f"{stats['median']:{fmt}} ({stats['min']:{fmt}}–{stats['max']:{fmt}})"


def _target(
    name: str,
    measured: str,
    passed: bool,
    note: str = "",
    *,
    scenario: str,
    key: str,
) -> dict[str, Any]:
    return {
        "target": name,
        "measured": measured,
        "status": "PASS" if passed else "MISS",
        "note": note,
        "scenario": scenario,
        "key": key,
    }


def _ratio_target(
    results: dict[str, Any],
    key: str,
    name: str,
    limit: float,
    peer: str | None,
    peer_note: str,
    scenario: str = "overhead",
) -> dict[str, Any] | None:
    row = _row(results, scenario, key)
    if row is None:
        return None
    ratio = row["ratio_to_floor"]
    notes = []
    floor = results[scenario]["contenders"][0].get("socket_split")
    if floor and row.get("socket_split"):
        client = row["socket_split"]["client_ms"] / floor["client_ms"]
        notes.append(f"client's own time: {client:.2f}x the floor's")
    if peer is not None and (peer_row := _row(results, scenario, peer)) is not None:
        notes.append(f"{peer_note}: {_range(peer_row['ratio_to_floor'], '.2f')}x")
    note = "; ".join(notes)
    return _target(
        name,
        f"{_range(ratio, '.2f')}x",
        ratio["median"] <= limit,
        note,
        scenario=scenario,
        key=key,
    )


def _client_ms(row: dict[str, Any]) -> float | None:
    split = row.get("socket_split")
    return None if not split else split["before_send_ms"] + split["after_receive_ms"]


def _ttft_note(rows: list[dict[str, Any]], row: dict[str, Any]) -> str:
    """The client's own share of the added time, and the same framework's peer."""
    notes = []
    mine, floor = _client_ms(row), _client_ms(rows[0])
    if mine is not None and floor is not None:
        notes.append(f"client's own time vs floor: {mine - floor:+.2f} ms")
    peers = {"parallel_llm": "openai_like", "parallel_lm": "dspy_lm"}
    peer = next((r for r in rows if r["key"] == peers.get(row["key"])), None)
    if peer is not None:
        notes.append(f"peer {peer['label']}: {_range(peer['added_ms'], '+.2f')} ms")
    return "; ".join(notes)


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any] | None] = [
        _ratio_target(results, "complete", "`complete()` <= 1.05x the floor", 1.05, None, ""),
        _ratio_target(
            results,
            "parallel_llm",
            "`ParallelLLM.chat` <= 1.10x the floor",
            1.10,
            "openai_like",
            "peer `OpenAILike.chat`",
        ),
        _ratio_target(
            results,
            "parallel_lm",
            "`dspy.Predict` on `ParallelLM` <= 1.30x the floor",
            1.30,
            "dspy_lm",
            "peer `dspy.Predict` on `dspy.LM`",
        ),
        _ratio_target(
            results,
            "complete",
            '`complete(model="parallel-low")` <= 1.00x raw `responses.create`',
            1.00,
            "litellm",
            "peer `litellm.responses`",
            scenario="responses",
        ),
        _ratio_target(
            results,
            "parallel_llm",
            "`ParallelLLM.chat` on `parallel-low` <= 1.10x raw `responses.create`",
            1.10,
            "litellm",
            "peer `litellm.responses`",
            scenario="responses",
        ),
        _ratio_target(
            results,
            "parallel_lm",
            '`dspy.Predict` on `ParallelLM("parallel-low")` <= 1.30x raw `responses.create`',
            1.30,
            "dspy_lm",
            'peer `dspy.Predict` on `dspy.LM(model_type="responses")`',
            scenario="responses",
        ),
    ]
    ttft = results.get("ttft")
    if ttft:
        rows = ttft["contenders"]
        for row in rows:
            if row["kind"] != "kit":
                continue
            added = row["added_ms"]
            targets.append(
                _target(
                    f"Time to first token added by {row['label']} <= 2 ms",
                    f"{_range(added, '+.2f')} ms",
                    added["median"] <= 2.0,
                    _ttft_note(rows, row),
                    scenario="ttft",
                    key=row["key"],
                )
            )
    throughput = results.get("throughput")
    if throughput:
        low = throughput.get("low_concurrency")
        for row in throughput["contenders"]:
            if row["kind"] != "kit":
                continue
            share = {k: v * 100 for k, v in row["ratio_to_floor"].items() if k != "values"}
            note = ""
            if low:
                other = next(r for r in low["contenders"] if r["key"] == row["key"])
                low_share = {
                    k: v * 100 for k, v in other["ratio_to_floor"].items() if k != "values"
                }
                note = f"{low['concurrency']} in flight: {_range(low_share, '.1f')}%"
            targets.append(
                _target(
                    f"Async throughput of {row['label']} >= 95% of raw `AsyncOpenAI` "
                    f"({throughput['concurrency']} in flight)",
                    f"{_range(share, '.1f')}%",
                    share["median"] >= 95.0,
                    note,
                    scenario="throughput",
                    key=row["key"],
                )
            )
    ratelimit = results.get("ratelimit")
    if ratelimit:
        client = ratelimit["client_limiter"]
        note = ""
        if "best_pct_of_limit" in client:
            note = (
                f"the limiter's own margin caps it at {client['best_pct_of_limit']:.1f}% on this "
                f"window, {client['best_pct_at_60s_window']:.1f}% on the API's 60 s window"
            )
        for run in ratelimit["runs"]:
            targets.append(
                _target(
                    f"At the limit with {run['label']}: zero 429s and achieved rate >= 97%",
                    f"{run['status_429']} x 429, {run['achieved_pct_of_limit']:.1f}%",
                    run["status_429"] == 0 and run["achieved_pct_of_limit"] >= 97.0,
                    note,
                    scenario="ratelimit",
                    key=run["key"],
                )
            )
    annotations = results.get("annotations")
    if annotations:
        limit = annotations["target_seconds"]
        for case in annotations["cases"]:
            seconds = case["seconds"]
            targets.append(
                _target(
                    f"Reading a Responses answer with {case['label']} < {limit:g} s",
                    f"{_range(seconds, '.3f')} s",
                    seconds["median"] < limit,
                    f"CPU of the process: {_range(case['cpu_seconds'], '.3f')} s",
                    scenario="annotations",
                    key=case["key"],
                )
            )
    ours, openai = _row(results, "imports", "parallel_adapters"), _row(results, "imports", "openai")
    if ours is not None and openai is not None:
        mine, theirs = ours["wall_ms"]["median"], openai["wall_ms"]["median"]
        core = _row(results, "imports", "parallel_adapters._core")
        note = f"`import openai`: {theirs:.0f} ms"
        if core is not None:
            note += (
                f"; `from parallel_adapters import complete` (loads the core and openai): "
                f"{core['wall_ms']['median']:.0f} ms"
            )
        targets.append(
            _target(
                "`import parallel_adapters` <= `import openai` + 50 ms",
                f"{mine:.0f} ms",
                mine <= theirs + 50.0,
                note,
                scenario="imports",
                key="parallel_adapters",
            )
        )
    batch = results.get("batch")
    if batch:
        share, killed = batch["throughput"]["busy_share"], batch["kill_and_resume"]
        targets.append(
            _target(
                f"`parallel-adapters batch` of {batch['requests']:,} keeps its "
                f"{batch['concurrency']} workers >= 90% busy (issue #16)",
                f"{share:.0%}, {batch['throughput']['achieved_per_second']:,.0f} requests/s",
                share >= 0.90,
                f"SIGKILL half-way, then resume: {killed['sent_twice']} requests paid twice "
                f"(at most {killed['concurrency']}), every id answered once: "
                f"{'yes' if killed['every_id_once'] else 'no'}",
                scenario="batch",
                key="batch",
            )
        )
    emulator = results.get("emulator")
    if emulator:
        reference = next(
            (r for r in emulator["servers"] if r["key"] == emulator.get("reference")), None
        )
        ceiling = (
            f"; the same client against a bare server with a fixed reply: "
            f"{_range(reference['requests_per_s'], ',.0f')}/s"
            if reference
            else ""
        )
        for row in emulator["servers"]:
            if row is reference:
                continue
            rate = row["requests_per_s"]
            targets.append(
                _target(
                    f"Sequential rate of {row['label']} >= {emulator['target_per_s']:,.0f} "
                    "requests/s (raw `openai` SDK)",
                    f"{_range(rate, ',.0f')}/s",
                    rate["median"] >= emulator["target_per_s"],
                    f"{_range(row['ms_per_request'], '.2f')} ms per request{ceiling}",
                    scenario="emulator",
                    key=row["key"],
                )
            )
    tracing = results.get("tracing")
    if tracing:
        limits = {"no_provider": 20.0, "sdk": 200.0}
        for row in tracing["contenders"]:
            limit = limits.get(row["key"])
            if limit is None:
                continue
            added = row["added_us"]
            targets.append(
                _target(
                    f"Tracing adds <= {limit:.0f} µs per call: {row['label']}",
                    f"{_range(added, '+.2f')} µs",
                    added["median"] <= limit,
                    f"end to end: {_range(row['ratio_to_floor'], '.3f')}x the floor's wall "
                    f"time, {_range(row['cpu_ratio_to_floor'], '.3f')}x its CPU time",
                    scenario="tracing",
                    key=row["key"],
                )
            )
    return [t for t in targets if t is not None]
