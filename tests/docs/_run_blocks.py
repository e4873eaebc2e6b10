"""Run one page's code blocks in order in one namespace (stdin: JSON [[page, line, code]]).

Each block is compiled under the page's path and padded to its line in the page, so a
traceback points at the Markdown line that failed.
"""

from __future__ import annotations

import json
import sys
import types


def main() -> int:
    blocks = json.load(sys.stdin)
    # A real module as __main__, as when a script runs: pydantic and pickle look names up
    # in sys.modules[cls.__module__].
    page_module = types.ModuleType("__main__")
    sys.modules["__main__"] = page_module
    for page, line, code in blocks:
        print(f"--- {page}:{line}", flush=True)
        exec(compile("\n" * (line - 1) + code, page, "exec"), page_module.__dict__)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
