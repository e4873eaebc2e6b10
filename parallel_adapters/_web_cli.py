"""`parallel-adapters search` and `parallel-adapters extract`: web pages from the shell."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from ._core._web_types import ExtractResult, SearchResult

__all__ = ["add_parsers", "run"]


def _connection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--base-url", default=None, help="default: $PARALLEL_BASE_URL or the API")
    parser.add_argument("--timeout", type=float, default=None, help="seconds (default 30/120)")
    parser.add_argument(
        "--offline", action="store_true", help="answer from the embedded local emulator"
    )


def add_parsers(commands: Any) -> None:
    """Add `search` and `extract` to the CLI's subcommands."""
    search = commands.add_parser(
        "search",
        help="search the web (Search API): ranked pages with excerpts",
        description="Search the web with Parallel's Search API and print the best pages, "
        "their excerpts and the cost at published prices.",
    )
    search.add_argument("objective", help="what you are looking for, in words")
    search.add_argument(
        "-q",
        "--query",
        action="append",
        dest="queries",
        default=None,
        help="a keyword query (repeatable; default: the objective)",
    )
    search.add_argument("--max-results", type=int, default=None, help="pages (API default 10)")
    search.add_argument(
        "--include-domain",
        action="append",
        dest="include_domains",
        default=None,
        help="search only this domain, domain/path or extension (.gov); repeatable",
    )
    search.add_argument(
        "--exclude-domain",
        action="append",
        dest="exclude_domains",
        default=None,
        help="never this domain, domain/path or extension; repeatable",
    )
    search.add_argument("--after-date", default=None, help="only pages published since YYYY-MM-DD")
    search.add_argument("--mode", default=None, help="turbo, fast, basic or advanced (default)")
    _connection(search)

    extract = commands.add_parser(
        "extract",
        help="read web pages (Extract API): excerpts or full text per URL",
        description="Read up to 20 pages with Parallel's Extract API and print their "
        "excerpts (or full text), and the pages that could not be read.",
    )
    extract.add_argument("urls", nargs="+", metavar="URL", help="a page's address")
    extract.add_argument("--objective", default=None, help="what to pick from the pages")
    extract.add_argument("--full-content", action="store_true", help="print each page's whole text")
    _connection(extract)


def _print_pages(result: SearchResult | ExtractResult, full: bool, out: TextIO) -> None:
    for number, page in enumerate(result.results, 1):
        print(f"[{number}] {page.title or page.url}", file=out)
        print(f"    {page.url}", file=out)
        if page.publish_date:
            print(f"    published {page.publish_date}", file=out)
        texts = [page.full_content] if full and page.full_content else list(page.excerpts)
        for text in texts:
            for line in text.splitlines() or [""]:
                print(f"    {line}".rstrip(), file=out)
        print(file=out)


def _cost_line(cost: float | None) -> str:
    if cost is None:
        return "cost: no published price for this mode"
    return f"cost: ${cost:.4f} at published prices"


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run `search` or `extract` as parsed; the exit status (errors are raised)."""
    from ._chat import ParallelChat
    from ._cli import _backend

    with _backend(args.offline) as backend:
        options: dict[str, Any] = {"timeout": args.timeout, **backend}
        if args.base_url:
            options["base_url"] = args.base_url
        with ParallelChat(**options) as chat:
            result: SearchResult | ExtractResult
            if args.command == "search":
                result = chat.search(
                    args.objective,
                    args.queries,
                    mode=args.mode,
                    max_results=args.max_results,
                    include_domains=args.include_domains,
                    exclude_domains=args.exclude_domains,
                    after_date=args.after_date,
                )
            else:
                result = chat.extract(args.urls, args.objective, full_content=args.full_content)
    if args.json:
        json.dump(result.to_dict(), out, indent=2, ensure_ascii=False)
        out.write("\n")
        return 0
    if not result.results:
        print("No results.", file=out)
    _print_pages(result, bool(getattr(args, "full_content", False)), out)
    if isinstance(result, ExtractResult):
        for error in result.errors:
            status = f" (HTTP {error.http_status_code})" if error.http_status_code else ""
            print(f"could not read {error.url}: {error.error_type}{status}", file=out)
    for warning in result.warnings:
        print(f"warning: {warning}", file=out)
    print(_cost_line(result.cost), file=out)
    return 0
