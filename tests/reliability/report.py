"""Write docs/reliability.md from the figures of a real run of the reliability suite.

    RELIABILITY_REPORT=/tmp/reliability.json pytest tests/reliability
    python -m tests.reliability.report /tmp/reliability.json

`--out PATH` writes elsewhere (default: docs/reliability.md); `-` prints it.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

from . import test_faults

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def _fault_names() -> list[str]:
    names: list[str] = []
    groups = (
        test_faults.TRANSIENT,
        test_faults.PERSISTENT,
        test_faults.PERMANENT,
        test_faults.MID_STREAM,
        test_faults.TOLERATED,
        ["disconnect-mid-stream", "stall-mid-stream"],
    )
    for group in groups:
        for spec in group:
            name = spec.split(";")[0]
            if name not in names:
                names.append(name)
    return names


def render(figures: dict[str, Any], environment: str) -> str:
    load = figures.get("load", {})
    faults = _fault_names()
    drivers = ", ".join(f"`{d}`" for d in test_faults.DRIVERS)
    lines = [
        "# Reliability: nothing lost, nothing leaked",
        "",
        "The `tests/reliability/` suite drives the plain callable, LlamaIndex's `ParallelLLM`",
        "and DSPy's `ParallelLM` against the local emulator with every fault it can inject,",
        "under load, with random bad input, and scans every output for the API key. It runs",
        "in CI with the rest of the tests (`pytest`). These figures come from a real run:",
        "",
        "| | |",
        "|---|---|",
        f"| Fault cases tried | {figures['faults_tried']} ({len(faults)} faults, 7 modes) |",
        f"| Requests sent to the emulator | {figures['requests_sent']:,} |",
        f"| Answers expected under load | {figures['answers_expected']:,} |",
        f"| **Answers lost** | **{figures['answers_lost']}** |",
        f"| Surfaces scanned for the key | {figures['secret_surfaces_scanned']} |",
        f"| **Keys leaked** | **{figures['keys_leaked']}** |",
        f"| Bad inputs tried | {figures['bad_inputs_tried']} "
        f"({figures['bad_inputs_rejected']} refused with `InputError`, none sent) |",
        f"| 429s in a 600-request burst at the server's limit | "
        f"{load.get('rate_limited_429s', 'n/a')} |",
        f"| Tests / failed | {figures['tests_collected']} / {figures['tests_failed']} |",
        f"| Wall time | {figures['seconds']} s |",
        "",
        f"Run on: {environment}.",
        "",
        "## Faults",
        "",
        f"Injected faults: {', '.join(f'`{f}`' for f in faults)}; through {drivers}.",
        "",
        "- A transient fault once (429 with and without Retry-After, 500, 502, 503, a",
        "  connection closed before the first byte, malformed JSON, a JSON body cut",
        "  halfway): retried, then the same answer as without the fault, with exactly two",
        "  HTTP requests in the emulator's log.",
        "- A stall past the timeout: `APITimeoutError` after one request (the server may",
        "  still finish and bill it); with `retry_timeouts=True`, retried like the above.",
        "- The same fault on every request: the core's typed error (`RateLimitError`,",
        "  `ServerError`, `APIConnectionError`, `APITimeoutError`) with its status and message",
        "  after `max_retries + 1` requests (a timeout after one); the three error envelopes",
        "  (OpenAI's, FastAPI's, Parallel's) give `BadRequestError` 400,",
        "  `UnprocessableRequestError` 422 and `PaymentRequiredError` 402 with the server's",
        "  own message, after one request.",
        "- A stream broken after its first text (connection closed, an error event, a",
        "  malformed event, a stall): `StreamError` with the partial text (for the plain",
        "  callable and LlamaIndex exactly what the caller received, a prefix of the whole",
        "  answer), one request, and no whole answer. Keep-alive comments and a missing",
        "  `[DONE]` give the whole answer.",
        "- After each case, with its clients closed, the process has no more open file",
        "  descriptors than before (both ends of a connection live in the test process);",
        "  async runs end with no task left.",
        "",
        "## Load",
        "",
        f"- {load.get('async_requests', 0):,} async requests through `ParallelChat.amap` with "
        f"{load.get('async_in_flight', 0)} in flight: every answer back once, in input order, "
        f"in {load.get('async_seconds', 'n/a')} s "
        f"({load.get('async_requests_per_second', 'n/a')} requests/s; client and emulator "
        "share the process and its cores).",
        f"- `chat.map` over {load.get('map_prompts', 0)} prompts with faults sprinkled in and "
        f"`return_exceptions=True`: answers + errors = {load.get('map_prompts', 0)} "
        f"({load.get('map_errors', 0)} typed errors), each answer in its prompt's slot.",
        f"- `dspy.Evaluate(num_threads=16)` over {load.get('dspy_evaluate_examples', 0)} "
        f"examples: score 100 in {load.get('dspy_evaluate_seconds', 'n/a')} s.",
        f"- A burst of {load.get('rate_limited_burst', 0)} requests with the client limiter "
        "set to the emulator's own limit (120 per second): "
        f"{load.get('rate_limited_429s', 'n/a')} 429s "
        f"({load.get('rate_limited_burst_seconds', 'n/a')} s).",
        "- Open file descriptors are back to their starting count after each.",
        "",
        "Each load prompt names one page of a generated corpus, so every answer shows which",
        "prompt it belongs to.",
        "",
        "## Bad input",
        "",
        "Hypothesis generates message lists (every role spelling, content parts of every",
        "type, None, nesting, 1 MB strings, lone surrogates, NUL) and `response_format`",
        "values (pydantic classes, schemas, OpenAI and DSPy forms, junk, NaN). Each gives a",
        "body the SDK can encode, with only system/user/assistant roles, one leading system",
        "message and no two turns of the same role, or raises `InputError` with no request",
        "on the wire. A lone surrogate names its field (`messages[0].content holds a lone",
        "surrogate character`). A 10 MB message reaches the emulator intact. An unknown",
        "model gets the server's 403 as `PermissionDeniedError` through all three adapters.",
        "",
        "## Secrets",
        "",
        "A sentinel key (the only key the emulator accepts) and a wrong one are searched",
        "for, along with any Bearer token, in: the repr and str of every public object",
        "(config, clients, streams, completions, `ParallelLLM`, `ParallelLM`, engines,",
        "errors); `to_dict`/`to_json`/`model_dump`/pickles and DSPy's `dump_state` and",
        "`program.save` (JSON and whole-program); DEBUG logs of `parallel_adapters`,",
        "`openai`, `httpx` and `httpcore` during good and failing calls; error messages and",
        "formatted tracebacks (401, 5xx, timeouts, broken streams, bad options); freshly",
        "recorded cassettes and every committed one; the CLI's output, errors included.",
        "",
        "## What the suite found (fixed in the core)",
        "",
        "- A lone surrogate (`'\\ud800'`, left by `surrogateescape` decoding) passed",
        "  validation and failed inside the retry loop with a bare `UnicodeEncodeError` (a NaN",
        "  in a schema: `ValueError`). `shape_request` now encodes the body as the SDK will",
        "  and raises `InputError` naming the field; a few µs per request, ~50 ms for 10 MB.",
        "- Every `asyncio.run()` that used a client left its pooled connections open for the",
        "  client's lifetime (39 sockets after the 2,000-request run): the per-loop clients",
        "  were weakly keyed by loop, but their connections reference the loop. Each per-loop",
        "  client is now closed by `loop.shutdown_asyncgens()` on its own loop.",
        "- With the limiter at the server's own limit, a 600-request burst drew 8-50 429s:",
        "  departures were limited exactly, but arrivals bunched (30-350 ms of varying",
        "  delay: new connections, a busy loop). The limiter now counts over the window plus",
        "  500 ms (under 1% of the documented 300-a-minute budget): 0 429s.",
        "",
        "## Known limits",
        "",
        "- Throughput with many async requests in flight is bound by httpx's connection",
        "  pool, whose bookkeeping grows with the square of its open connections: against a",
        "  separate-process emulator, 600 requests ran at ~330 requests/s with 16 in flight",
        "  and ~100 requests/s with 64-200. Capping the pool (16 connections: ~230/s at 200",
        "  in flight) would throttle real research calls, which take seconds each, so the",
        "  core keeps the SDK's limits. For a fast server, 16-32 in flight is the sweet spot.",
        "- A saturated client delays its own sends by seconds (100 async in flight on 2",
        "  busy cores: p99 2 s); no client-side slack covers that, and a burst then draws",
        "  some 429s, which the retry layer absorbs (`max_retries`, honouring Retry-After).",
        "",
        "## Reproduce",
        "",
        "```bash",
        "RELIABILITY_REPORT=/tmp/reliability.json pytest tests/reliability",
        "python -m tests.reliability.report /tmp/reliability.json   # rewrites this page",
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.report")
    parser.add_argument("figures", type=Path, help="the JSON written via RELIABILITY_REPORT")
    parser.add_argument("--out", default=str(DOC), help="default: docs/reliability.md; - prints")
    parser.add_argument(
        "--environment",
        default=f"Python {platform.python_version()} on {platform.system()} {platform.machine()}",
    )
    args = parser.parse_args(argv)
    figures = json.loads(args.figures.read_text())
    if figures.get("tests_failed"):
        print("error: that run had failures; fix them before publishing", file=sys.stderr)
        return 1
    text = render(figures, args.environment)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
