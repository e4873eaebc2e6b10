"""One process sharing a key, for `bench._scale`: `python -m bench._budget_worker CFG`.

CFG is JSON (base_url, api_key, store, rpm, window, requests, concurrency, mode, index).
Warms up outside the budget, prints `ready`, waits for a line on stdin so every worker
starts at once, sends its requests with retries off, and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import parallel_adapters as pa


def main() -> None:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    common = {"base_url": cfg["base_url"], "api_key": cfg["api_key"], "max_retries": 0}
    chat = pa.ParallelChat(
        **common,
        requests_per_minute=cfg["rpm"],
        rate_limit_window=cfg["window"],
        rate_limit_store=cfg["store"],
    )
    warm = pa.ParallelChat(**common, requests_per_minute=None)
    warm("warm-up")
    warm.close()
    prompts = [f"worker {cfg['index']} question {i}" for i in range(cfg["requests"])]
    print("ready", flush=True)
    sys.stdin.readline()
    if cfg["mode"] == "async":

        async def run() -> list[Any]:
            try:
                return await chat.amap(
                    prompts, concurrency=cfg["concurrency"], return_exceptions=True
                )
            finally:
                await chat.aclose()

        results = asyncio.run(run())
    else:
        results = chat.map(prompts, concurrency=cfg["concurrency"], return_exceptions=True)
        chat.close()
    errors = [type(r).__name__ for r in results if isinstance(r, BaseException)]
    print(json.dumps({"ok": len(results) - len(errors), "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
