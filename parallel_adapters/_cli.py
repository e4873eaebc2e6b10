"""`parallel-adapters`: ask a question from the shell, run the demo or the local emulator."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from ._cli_options import EFFORT_HELP, EFFORTS, MODEL_HELP, EffortError, model_for_effort
from ._version import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parallel-adapters",
        description="Parallel's web research from the shell (Chat or Responses API).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="ask one question and print the answer and sources")
    ask.add_argument(
        "question",
        nargs="?",
        help="the question; '-' (or none, when stdin is not a terminal) reads it from stdin",
    )
    ask.add_argument("--model", default=None, help=MODEL_HELP)
    ask.add_argument("--effort", choices=EFFORTS, default=None, help=EFFORT_HELP)
    # --json prints one document when the answer is complete: streamed text before it
    # would break the JSON, so the two are refused together rather than one ignored.
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--stream", action="store_true", help="print the answer as it arrives")
    ask.add_argument("--schema", type=Path, help="a JSON-schema file: ask for JSON output")
    output.add_argument("--json", action="store_true", help="print the whole result as JSON")
    ask.add_argument("--base-url", default=None, help="default: $PARALLEL_BASE_URL or the API")
    ask.add_argument("--timeout", type=float, default=None, help="seconds (default per model)")
    ask.add_argument(
        "--offline", action="store_true", help="answer from the embedded local emulator"
    )

    demo = commands.add_parser(
        "demo",
        help="run the kit end to end, Chat and Responses API: offline on the local "
        "emulator unless --live",
        description="complete(), streaming, LlamaIndex and DSPy end to end, then a "
        "Responses API section (model parallel-low: the answer with inline [n] markers). "
        "Offline (the embedded emulator, no key needed) by default; --live uses the real API.",
    )
    where = demo.add_mutually_exclusive_group()
    where.add_argument(
        "--offline", action="store_true", help="the embedded local emulator (the default)"
    )
    where.add_argument("--live", action="store_true", help="the real API (needs PARALLEL_API_KEY)")
    demo.add_argument(
        "--model",
        default=None,
        help="speed, lite, base (default) or core, for the Chat API sections",
    )

    from ._batch_cli import add_parser as add_batch_parser

    add_batch_parser(commands)

    from ._web_cli import add_parsers as add_web_parsers

    add_web_parsers(commands)

    # Listed for --help only: main() hands everything after `emulator` to the emulator's
    # own parser (argparse.REMAINDER in a subparser drops leading options).
    commands.add_parser("emulator", help="run the local Parallel emulator", add_help=False)
    return parser


def _print_sources(citations: Sequence[Any], out: TextIO) -> None:
    if not citations:
        return
    print("\nSources:", file=out)
    for number, citation in enumerate(citations, 1):
        title = citation.title or citation.url
        print(f"  [{number}] {title} - {citation.url}", file=out)


def _completion_json(completion: Any) -> dict[str, Any]:
    return {
        "text": completion.text,
        "model": completion.model,
        "interaction_id": completion.interaction_id,
        "finish_reason": completion.finish_reason,
        "citations": [c.model_dump(mode="json") for c in completion.citations],
        "basis": [b.model_dump(mode="json") for b in completion.basis],
        "cited_spans": [s.model_dump(mode="json") for s in completion.cited_spans],
        "web_search_calls": [w.model_dump(mode="json") for w in completion.web_search_calls],
        "cost": completion.cost,
    }


@contextmanager
def _backend(offline: bool) -> Iterator[dict[str, Any]]:
    if not offline:
        yield {}
        return
    try:
        from .testing import ParallelEmulator
    except ImportError as exc:
        raise SystemExit(
            "error: --offline needs the emulator: pip install 'parallel-adapters[emulator]'"
        ) from exc
    with ParallelEmulator(api_key=None) as emulator:
        yield {"base_url": emulator.base_url, "api_key": "offline"}


def _question(args: argparse.Namespace) -> str | None:
    """The question: the argument, or stdin for '-' or none (when stdin is no terminal);
    None after printing why there is none."""
    if args.question not in (None, "-"):
        return str(args.question)
    if args.question is None and (sys.stdin is None or sys.stdin.isatty()):
        print(
            "error: ask needs a question: give it as an argument, or '-' to read it from stdin",
            file=sys.stderr,
        )
        return None
    # stdin takes what an argument cannot: past 128 KiB the shell refuses the command.
    question = sys.stdin.read().strip() if sys.stdin is not None else ""
    if not question:
        print("error: no question on stdin", file=sys.stderr)
        return None
    return question


def _ask(args: argparse.Namespace, out: TextIO) -> int:
    from ._chat import ParallelChat

    params: dict[str, Any] = {}
    try:
        model = model_for_effort(args.model, args.effort)
    except EffortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    question = _question(args)
    if question is None:
        return 2
    if args.schema is not None:
        try:
            params["response_format"] = json.loads(args.schema.read_text())
        except (OSError, ValueError) as exc:
            print(f"error: cannot read the schema {args.schema}: {exc}", file=sys.stderr)
            return 2
    with _backend(args.offline) as backend:
        options = {"model": model, "timeout": args.timeout, **backend}
        if args.base_url:
            options["base_url"] = args.base_url
        with ParallelChat(**options) as chat:
            if args.stream:
                stream = chat.stream(question, **params)
                for part in stream:
                    out.write(part.delta)
                    out.flush()
                out.write("\n")
                completion = stream.completion
            else:
                completion = chat.complete(question, **params)
    if args.json:
        payload = _completion_json(completion)
        payload["parsed"] = completion.json() if args.schema is not None else None
        json.dump(payload, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    if not args.stream:
        # [n] after each cited span matches the numbered sources below (Responses API).
        text = completion.text_with_markers()
        if args.schema is not None:
            text = json.dumps(completion.json(), indent=2, ensure_ascii=False)
        print(text, file=out)
    _print_sources(completion.citations, out)
    return 0


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from ._demo import DemoError, run_demo

    try:
        return run_demo(out, live=args.live, model=args.model)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _emulator(argv: list[str]) -> int:
    try:
        from .testing._cli import main as emulator_main
    except ImportError:
        print(
            "error: the emulator needs its extra: pip install 'parallel-adapters[emulator]'",
            file=sys.stderr,
        )
        return 2
    return emulator_main(argv)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    # A shell user needs the message, not the kit's source path and line.
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = _main(argv)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`ask --json | head -1`): end quietly, as Python's docs
        # advise (the note on SIGPIPE in the signal module), exit status 1.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["emulator"]:
        return _emulator(words[1:])
    args = _parser().parse_args(words)

    from ._core import InputError, MissingAPIKeyError, ParallelError

    try:
        if args.command == "demo":
            return _demo(args, sys.stdout)
        if args.command == "batch":
            from ._batch_cli import run as run_batch

            return run_batch(args, words, sys.stdout, sys.stderr)
        if args.command in ("search", "extract"):
            from ._web_cli import run as run_web

            return run_web(args, sys.stdout)
        return _ask(args, sys.stdout)
    except (InputError, MissingAPIKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ParallelError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
