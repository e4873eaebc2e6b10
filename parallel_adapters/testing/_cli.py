"""`parallel-adapters emulator ...` / `python -m parallel_adapters.testing ...`: run the
emulator in the foreground for demos and manual testing."""

from __future__ import annotations

import argparse
import sys

from ._emulator import DEFAULT_API_KEY, DEFAULT_STALL_SECONDS, serve
from ._latency import LatencyModel
from ._ratelimit import RateLimit
from ._wire import PROFILES


def main(argv: list[str] | None = None, prog: str = "parallel-adapters emulator") -> int:
    """Parse the options and serve until Ctrl-C; returns the exit status."""
    args = _parser(prog).parse_args(argv)
    latency = LatencyModel.of(args.latency)
    if args.ttft is not None or args.chunk_interval is not None:
        latency = LatencyModel.fixed(args.ttft or 0.0, args.chunk_interval or 0.0)
    api_key = None if args.any_key else args.api_key
    shown = "any non-empty key" if api_key is None else f"key {api_key!r}"
    print(
        f"Starting the Parallel API emulator on http://{args.host}:{args.port} "
        f"(accepts {shown}; profile {args.profile}; Ctrl-C stops it)",
        file=sys.stderr,
    )
    try:
        serve(
            args.host,
            args.port,
            api_key=api_key,
            profile=args.profile,
            latency=latency,
            rate_limit=args.rate_limit,
            stall_seconds=args.stall_seconds,
        )
    except OSError as error:  # typically the port is taken
        print(f"error: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a local emulator of the Parallel Chat API "
        "(POST /chat/completions and /v1beta/chat/completions) and Responses API "
        "(POST /v1/responses), Search and Extract APIs (POST /v1/search, /v1/extract).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8787, help="default: %(default)s")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="default: %(default)s")
    parser.add_argument("--any-key", action="store_true", help="accept any non-empty key")
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="documented",
        help="the quirks of the answers: documented (the default) leaves id, object, model "
        "blank, finish_reason null and no usage, as Parallel's compatibility table says; "
        "openai fills every standard OpenAI field",
    )
    parser.add_argument(
        "--latency",
        choices=("fast", "realistic"),
        default="fast",
        help="fast: no waiting; realistic: the documented time to first token per model",
    )
    parser.add_argument("--ttft", type=float, help="fixed time to first token, seconds")
    parser.add_argument("--chunk-interval", type=float, help="seconds between stream chunks")
    parser.add_argument(
        "--rate-limit",
        type=_rate_limit,
        metavar="N/SECONDS",
        help="per-key limit, e.g. 300/60 (default: none)",
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=DEFAULT_STALL_SECONDS,
        help="how long the 'stall' fault lasts (default: %(default)s)",
    )
    return parser


def _rate_limit(text: str) -> RateLimit:
    requests, sep, window = text.partition("/")
    try:
        return RateLimit(int(requests), float(window) if sep else 60.0)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected N/SECONDS such as 300/60 ({error})") from None
