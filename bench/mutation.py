"""Mutation testing of the core, module by module: `python -m bench.mutation`.

mutmut (3.x, configured in pyproject's `[tool.mutmut]`) makes small changes to the code
(a `<=` becomes `<`, `False` becomes `True`, a string changes) and runs the tests that reach
the changed function; a change no test notices "survives". This runs it per module and
writes `bench/MUTATION.md` (and `bench/mutation.json`): per module, mutants generated,
killed, timed out and survived, the score, and every survivor, either judged equivalent
(with the reason, from `bench/_mutation_equivalents.py`) or left to kill.

    python -m bench.mutation                        # every module below, then the report
    python -m bench.mutation _core/_sse.py          # some modules (the report keeps the rest)
    python -m bench.mutation --report-only          # rewrite the report from mutants/
    python -m bench.mutation --max-children 1       # on a busy machine (default 2)
    python -m bench.mutation --fresh                # forget mutants/ and start over
    python -m bench.mutation --retest-survivors _core/_sse.py   # after new tests: only the
                                                    # survivors of the last run run again

Score is (killed + timeout) / generated, as mutmut counts; "score, equivalents excluded"
divides by generated minus the mutants judged equivalent. A mutant without a test that
reaches it counts as not killed. Equivalents are keyed by mutant name and by the line the
mutant adds, so an equivalent whose code changed is shown as a survivor again, not excused.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._mutation_equivalents import EQUIVALENTS, KILLED_OUTSIDE_MUTMUT

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "MUTATION.md"
RESULTS = ROOT / "bench" / "mutation.json"
TARGET = 0.90

# The modules checked, and the fast tests that cover each. mutmut runs the union (pyproject's
# pytest_add_cli_args_test_selection) once to learn which test reaches which function, then
# runs each mutant against only those tests.
MODULES: dict[str, list[str]] = {
    "parallel_adapters/_core/_sse.py": ["tests/core/test_sse.py"],
    "parallel_adapters/_core/_messages.py": ["tests/core/test_messages.py"],
    "parallel_adapters/_core/_basis.py": ["tests/core/test_basis.py", "tests/core/test_sources.py"],
    "parallel_adapters/_core/_prices.py": [
        "tests/core/test_prices.py",
        "tests/core/test_cost_estimate_text.py",
    ],
    "parallel_adapters/_core/_spans.py": [
        "tests/core/test_responses.py",
        "tests/core/test_responses_outcome.py",
    ],
    "parallel_adapters/_core/_responses.py": [
        "tests/core/test_responses.py",
        "tests/core/test_responses_outcome.py",
        "tests/core/test_responses_request_limits.py",
    ],
    "parallel_adapters/_journal.py": [
        "tests/plain/test_journal.py",
        "tests/plain/test_journal_failures.py",
        "tests/plain/test_journal_file.py",
    ],
}

# mutmut's exit-code meanings (mutmut.stats.status_by_exit_code, 3.x).
_KILLED = {1, 3, 37}
_TIMEOUT = {36, -24, 24, 152, 255}
_SURVIVED = {0}
_NO_TESTS = {5, 33}


@dataclass
class ModuleResult:
    module: str
    generated: int = 0
    killed: int = 0
    timeout: int = 0
    survived: int = 0
    no_tests: int = 0
    other: int = 0
    equivalent: dict[str, str] = field(default_factory=dict)
    """Survivor name -> why it is equivalent."""
    killed_outside: dict[str, str] = field(default_factory=dict)
    """Survivor name -> the test outside mutmut's reach that kills it, and why."""
    open: dict[str, str] = field(default_factory=dict)
    """Survivor (or untested mutant) name -> the line it adds."""

    @property
    def score(self) -> float:
        return (self.killed + self.timeout) / self.generated if self.generated else 0.0

    @property
    def adjusted(self) -> float:
        # Mutants killed only by a test mutmut cannot run are left out too, not counted
        # as killed: the conservative choice.
        checked = self.generated - len(self.equivalent) - len(self.killed_outside)
        return (self.killed + self.timeout) / checked if checked else 1.0


def _dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def _resolve(name: str) -> str:
    for module in MODULES:
        if module == name or module.endswith("/" + name.lstrip("/")):
            return module
    raise SystemExit(f"unknown module {name!r}; choose from {', '.join(MODULES)}")


def _run(modules: list[str], max_children: int) -> None:
    for module in modules:
        started = time.monotonic()
        print(f"== mutmut run {module}", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mutmut",
                "run",
                "--max-children",
                str(max_children),
                _dotted(module) + "*",
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"   {time.monotonic() - started:.0f} s", flush=True)


def _forget_survivors(modules: list[str]) -> None:
    """Mark the survivors of the last run as not checked, so mutmut runs them again.

    mutmut keeps every verdict until the code it mutated changes; a test added since does
    not reopen a survivor it kills.
    """
    for module in modules:
        meta = ROOT / "mutants" / (module + ".meta")
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        for name, code in codes.items():
            if code in _SURVIVED or code in _NO_TESTS:
                codes[name] = None
        meta.write_text(json.dumps(data, indent=4))


def _added_line(name: str) -> str:
    """The line a mutant adds (`mutmut show`), stripped, for the report and equivalents."""
    shown = subprocess.run(
        [sys.executable, "-m", "mutmut", "show", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    added = [line[1:].strip() for line in shown if line.startswith("+") and line[:3] != "+++"]
    return " / ".join(added) or "(no line added: the mutant removes code)"


def _collect(module: str) -> ModuleResult | None:
    meta = ROOT / "mutants" / (module + ".meta")
    if not meta.exists():
        return None
    codes: dict[str, Any] = json.loads(meta.read_text())["exit_code_by_key"]
    if all(code is None for code in codes.values()):
        return None  # generated (mutmut makes every module's mutants) but not run
    result = ModuleResult(module)
    for name, code in sorted(codes.items()):
        result.generated += 1
        if code in _KILLED:
            result.killed += 1
        elif code in _TIMEOUT:
            result.timeout += 1
        elif code in _SURVIVED or code in _NO_TESTS:
            if code in _SURVIVED:
                result.survived += 1
            else:
                result.no_tests += 1
            added = _added_line(name)
            known = EQUIVALENTS.get(name)
            elsewhere = KILLED_OUTSIDE_MUTMUT.get(name)
            if known is not None and known[0] == added:
                result.equivalent[name] = known[1]
            elif elsewhere is not None and elsewhere[0] == added:
                result.killed_outside[name] = elsewhere[1]
            else:
                result.open[name] = added
        else:
            result.other += 1
            result.open[name] = f"(mutmut status {code!r}: not checked)"
    return result


def _commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


def _write(results: list[ModuleResult]) -> None:
    lines = [
        "# Mutation testing",
        "",
        "<!-- Generated by `python -m bench.mutation`: do not edit. -->",
        "",
        f"mutmut 3.x on commit {_commit()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
        "Score = (killed + timeout) / generated; the last column leaves out the excused "
        "survivors: those judged equivalent, and those only a test mutmut cannot run kills "
        f"(listed below, each with its reason). Target: {TARGET:.0%}.",
        "",
        "| module | generated | killed | timeout | survived | no tests | excused | score "
        "| score, excused excluded |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        mark = "" if r.adjusted >= TARGET else " (below target)"
        lines.append(
            f"| `{r.module}` | {r.generated} | {r.killed} | {r.timeout} | {r.survived} "
            f"| {r.no_tests} | {len(r.equivalent) + len(r.killed_outside)} | {r.score:.1%} "
            f"| {r.adjusted:.1%}{mark} |"
        )
    for r in results:
        lines += ["", f"## `{r.module}`", ""]
        if r.equivalent:
            lines += ["Equivalent (no test can tell them apart from the original):", ""]
            lines += [f"- `{name}`: {why}" for name, why in r.equivalent.items()]
            lines.append("")
        if r.killed_outside:
            lines += ["Killed by a test mutmut cannot run (left out of the score):", ""]
            lines += [f"- `{name}`: {why}" for name, why in r.killed_outside.items()]
            lines.append("")
        if r.open:
            lines += ["Not killed, not excused:", ""]
            lines += [f"- `{name}`: `{added}`" for name, added in r.open.items()]
        elif not r.equivalent:
            lines.append("Every mutant killed.")
        else:
            lines.append("Every other mutant killed.")
    REPORT.write_text("\n".join(lines) + "\n")
    RESULTS.write_text(
        json.dumps(
            [
                {
                    "module": r.module,
                    "generated": r.generated,
                    "killed": r.killed,
                    "timeout": r.timeout,
                    "survived": r.survived,
                    "no_tests": r.no_tests,
                    "equivalent": r.equivalent,
                    "killed_outside_mutmut": r.killed_outside,
                    "open": r.open,
                    "score": round(r.score, 4),
                    "score_without_equivalents": round(r.adjusted, 4),
                }
                for r in results
            ],
            indent=2,
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", help="e.g. _core/_sse.py (default: all)")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="do not run mutmut")
    parser.add_argument(
        "--fresh", action="store_true", help="delete mutants/ first: mutmut keeps old results"
    )
    parser.add_argument(
        "--retest-survivors",
        action="store_true",
        help="run the last run's survivors again (after adding tests); the rest stay as they are",
    )
    args = parser.parse_args(argv)
    chosen = [_resolve(m) for m in args.modules] or list(MODULES)
    if args.fresh and not args.report_only:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    elif args.retest_survivors and not args.report_only:
        _forget_survivors(chosen)
    if not args.report_only:
        _run(chosen, args.max_children)
    results = [r for r in map(_collect, MODULES) if r is not None]
    _write(results)
    for r in results:
        print(f"{r.module}: {r.score:.1%} ({r.adjusted:.1%} with the excused left out)")
    return 0 if all(r.adjusted >= TARGET for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
