"""`parallel-adapters batch INPUT.jsonl -o OUTPUT.jsonl`: a resumable, cost-capped batch.

The input is read and validated whole before anything is sent; the output is the
journal (`_journal.Journal`): one durable line per finished item, so re-running the same
command skips what was answered and retries what failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shlex
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._cli_options import EFFORT_HELP, MODEL_HELP, EffortError, model_for_effort

if TYPE_CHECKING:  # the parser is built for every command: keep it free of the core
    from ._batch import BatchItem, BatchRunner
    from ._journal import Journal

__all__ = ["add_parser", "run"]

LINE_KEYS = frozenset({"id", "prompt", "messages", "model", "response_format"})
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130


def add_parser(commands: Any) -> None:
    batch = commands.add_parser(
        "batch",
        help="answer a JSONL file of questions: resumable, durable, cost-capped",
        description="Answer every line of INPUT (JSON objects with 'prompt' or 'messages', "
        "optional 'id', 'model', 'response_format') into OUTPUT, one JSON line per finished "
        "item, written as it arrives. Re-run the same command to resume: answered ids are "
        "skipped, failed ones retried.",
    )
    batch.add_argument("input", type=Path, help="the questions, one JSON object a line")
    batch.add_argument("-o", "--output", type=Path, required=True, help="the answers (JSONL)")
    batch.add_argument("--model", default=None, help=MODEL_HELP)
    # Checked by model_for_effort (not argparse choices): a refusal is one line, exit 2.
    batch.add_argument("--effort", default=None, help=EFFORT_HELP)
    batch.add_argument(
        "--concurrency", type=int, default=None, help="requests in flight (default 8)"
    )
    batch.add_argument(
        "--max-cost",
        type=_dollars,
        default=None,
        metavar="USD",
        help="refuse to start when the estimated cost is above this",
    )
    batch.add_argument("--schema", type=Path, help="a JSON-schema file: JSON answers, 'parsed'")
    batch.add_argument("--base-url", default=None, help="default: $PARALLEL_BASE_URL or the API")
    batch.add_argument("--timeout", type=float, default=None, help="seconds (default per model)")
    batch.add_argument(
        "--requests-per-minute",
        type=int,
        default=None,
        help="the client-side rate limit (default 300, the documented limit per key)",
    )
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")
    batch.add_argument(
        "--reask-changed",
        action="store_true",
        help="ask again the ids answered in OUTPUT for another question (an edited input)",
    )


def _dollars(text: str) -> float:
    """A budget in dollars: `nan` would switch the check off and `inf` is no budget."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a budget: give a finite number of dollars, 0 or more"
        )
    return value


class _Refused(Exception):
    """Stop before sending anything; the message says why."""


def _default_model(args: argparse.Namespace) -> str | None:
    try:
        return model_for_effort(args.model or None, args.effort)
    except EffortError as exc:
        raise _Refused(str(exc)) from None


def _read_items(path: Path, chat: Any, schema: Any, default_model: str | None) -> list[BatchItem]:
    from ._batch import BatchItem
    from ._core import InputError
    from ._journal import check_id, id_key

    try:
        # "\n" only: U+2028, U+0085 and friends are legal, raw, inside a JSON string,
        # and the default ids must be the line numbers an editor shows.
        lines = path.read_bytes().decode("utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"cannot read {path}: {exc}") from None
    items: list[BatchItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise _Refused(f"{where}: not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _Refused(f"{where}: each line must be a JSON object")
        unknown = set(data) - LINE_KEYS
        if unknown:
            raise _Refused(f"{where}: unknown key(s) {sorted(unknown)}; use {sorted(LINE_KEYS)}")
        if ("prompt" in data) == ("messages" in data):
            raise _Refused(f"{where}: give exactly one of 'prompt' or 'messages'")
        prompt = data.get("prompt", data.get("messages"))
        if "prompt" in data and (not isinstance(prompt, str) or not prompt.strip()):
            raise _Refused(f"{where}: 'prompt' must be a non-empty string")
        if "messages" in data and not isinstance(prompt, list):
            raise _Refused(f"{where}: 'messages' must be a list of messages")
        model = data.get("model", default_model)
        if model is not None and not isinstance(model, str):
            raise _Refused(f"{where}: 'model' must be a string")
        try:
            item_id = check_id(data.get("id", number), where)
            request = chat.request(
                prompt, model=model, response_format=data.get("response_format", schema)
            )
        except InputError as exc:
            raise _Refused(f"{where}: {exc.message}") from None
        key = id_key(item_id)
        if key in seen:
            raise _Refused(f"{where}: id {item_id!r} was already used on line {seen[key]}")
        seen[key] = number
        items.append(BatchItem(item_id, request, number))
    if not items:
        raise _Refused(f"{path} has no questions")
    return items


def _chat_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"timeout": args.timeout}
    if args.base_url:
        options["base_url"] = args.base_url
    if args.requests_per_minute is not None:
        options["requests_per_minute"] = args.requests_per_minute
    return options


def run(args: argparse.Namespace, argv: Sequence[str], out: TextIO, err: TextIO) -> int:
    from ._chat import ParallelChat
    from ._core._config import DEFAULT_BATCH_CONCURRENCY
    from ._journal import Journal

    if args.concurrency is None:
        args.concurrency = DEFAULT_BATCH_CONCURRENCY
    existed = args.output.exists()
    try:
        if not isinstance(args.concurrency, int) or args.concurrency < 1:
            raise _Refused(f"--concurrency must be a positive integer, got {args.concurrency}")
        schema = None
        if args.schema is not None:
            try:
                schema = json.loads(args.schema.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise _Refused(f"cannot read the schema {args.schema}: {exc}") from None
        default_model = _default_model(args)
        chat = ParallelChat(**_chat_options(args))
        items = _read_items(args.input, chat, schema, default_model)
        journal = Journal(args.output)
    except _Refused as exc:
        print(f"error: {exc}", file=err)
        return EXIT_REFUSED
    try:
        code = _run_journal(args, argv, chat, items, journal, out, err)
    finally:
        journal.close()
        chat.close()
    if code == EXIT_REFUSED and not existed and args.output.stat().st_size == 0:
        args.output.unlink()  # refused before sending: leave no trace
    return code


def _run_journal(
    args: argparse.Namespace,
    argv: Sequence[str],
    chat: Any,
    items: list[BatchItem],
    journal: Journal,
    out: TextIO,
    err: TextIO,
) -> int:
    from ._batch import BatchRunner, Progress
    from ._core._prices import billed_model, estimate_cost
    from ._journal import id_key

    state = journal.state
    if state.torn_bytes:
        print(
            f"{args.output}: cut off a torn last line ({state.torn_bytes} bytes) left by a crash",
            file=err,
        )
    runner = BatchRunner(
        chat,
        items,
        concurrency=args.concurrency,
        journal=journal,
        reask_changed=args.reask_changed,
    )
    if runner.changed and not args.reask_changed:
        where = ", ".join(f"line {items[i].line} (id {items[i].id!r})" for i in runner.changed[:10])
        more = f" and {len(runner.changed) - 10} more" if len(runner.changed) > 10 else ""
        print(
            f"error: {args.output}: the question changed for {len(runner.changed):,} id(s) "
            f"already answered there: {where}{more}; nothing was sent. Re-run with "
            "--reask-changed to ask them again (their new answers supersede the old ones), "
            "or write to another output file",
            file=err,
        )
        return EXIT_REFUSED
    retrying = sum(1 for i in items if id_key(i.id) in state.failed)
    estimate = estimate_cost(
        billed_model(items[i].request.model, items[i].request.effort) for i in runner.pending
    )
    print(
        f"{len(items):,} questions: {len(runner.skipped):,} already answered in "
        f"{args.output}, {runner.to_send:,} to send ({retrying:,} retried after a failure"
        + (f", {len(runner.changed):,} asked again as changed" if runner.changed else "")
        + ")",
        file=err,
    )
    print(f"cost: {estimate.describe()}", file=err)
    if args.max_cost is not None:
        if not estimate.complete:
            print(
                "error: refusing to start: --max-cost cannot be checked for models without a "
                "published price; nothing was sent",
                file=err,
            )
            return EXIT_REFUSED
        if estimate.dollars > args.max_cost:
            print(
                f"error: refusing to start: the estimate ${estimate.dollars:,.2f} is over "
                f"--max-cost ${args.max_cost:,.2f}; nothing was sent",
                file=err,
            )
            return EXIT_REFUSED
    runner.progress = Progress(
        len(items), enabled=not args.no_progress, initial=len(runner.skipped), fallback=err
    )
    try:
        asyncio.run(_arun(runner, err))
    finally:
        runner.progress.close()
    return _summary(args, argv, runner, err, spent=chat.total_cost, estimate=estimate.dollars)


async def _arun(runner: BatchRunner, err: TextIO) -> None:
    loop = asyncio.get_running_loop()
    presses = 0

    def on_interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            runner.stop("interrupted")
            print(
                f"\ninterrupted: sending nothing more; waiting for {runner.in_flight} "
                "request(s) in flight (Ctrl-C again to abandon them)",
                file=err,
                flush=True,
            )
        else:
            runner.cancel()

    # Windows has no loop signal handlers; Ctrl-C there ends the run like any exception.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        await runner.arun()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)


def _summary(
    args: argparse.Namespace,
    argv: Sequence[str],
    runner: BatchRunner,
    err: TextIO,
    *,
    spent: float,
    estimate: float,
) -> int:
    from ._batch import halt_message

    if runner.halted is not None:
        if isinstance(runner.halted, OSError):
            print(f"error: cannot write to {args.output}: {runner.halted}", file=err)
        else:
            message = halt_message(runner.halted, runner.client.config.max_retry_after)
            print(f"error: {message}", file=err)
    failed, not_started = runner.failed(), runner.not_started()
    answered = len(runner.items) - len(failed) - len(not_started) - len(runner.unwritten)
    print(
        f"done: {answered:,} of {len(runner.items):,} answered "
        f"({answered - len(runner.skipped):,} in this run), {len(failed):,} failed, "
        f"{len(not_started):,} not sent; written to {args.output}",
        file=err,
    )
    if runner.unwritten:
        print(
            f"{len(runner.unwritten):,} answer(s) arrived but could not be written; "
            "the resume asks for them again",
            file=err,
        )
    # Three decimals: the cheapest call is half a cent.
    print(
        f"cost: spent ${spent:,.3f} in this run (estimated ${estimate:,.3f} at the start)",
        file=err,
    )
    for index in failed[:5]:
        error = runner.results[index]
        print(f"  id {runner.items[index].id!r}: {type(error).__name__}: {error}", file=err)
    unfinished = bool(failed or not_started or runner.unwritten or runner.halted)
    if unfinished:
        command = shlex.join(["parallel-adapters", *argv])
        print(f"resume (skips the answered, retries the rest): {command}", file=err)
    if runner.stopped == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_FAILED if unfinished else 0
