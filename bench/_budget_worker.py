"""One process of a deployment sharing a key: `python -m bench._budget_worker CFG`.

Used by `bench._scale` and by tests/reliability/test_shared_budget.py. CFG is JSON
(base_url, store, rpm, window, requests, concurrency, mode, index, and api_key, else
PARALLEL_API_KEY). Warms up outside the budget, prints `ready`, waits for a line on stdin
(so every worker starts at once, after the caller reset the emulator's log), sends its
requests with retries off, and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import parallel_adapters as pa


def main() -> None:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    common: dict[str, Any] = {"base_url": cfg["base_url"], "max_retries": 0}
    if "api_key" in cfg:
        common["api_key"] = cfg["api_key"]
    chat = pa.ParallelChat(
        **common,
        requests_per_minute=cfg["rpm"],
        rate_limit_window=cfg["window"],
        rate_limit_store=cfg["store"],
    )
    prompts = [f"worker {cfg['index']} question {i}" for i in range(cfg["requests"])]
    # A cold process's first request runs code paths for the first time (lazy imports in
    # the HTTP stack), and on a busy machine reaches the server long after its slot was
    # stamped. Warm both paths outside the budget first: a long-running worker is warm.
    warm = pa.ParallelChat(**common, requests_per_minute=None)
    warm("warm-up")

    async def warm_async() -> None:
        await warm.acomplete("warm-up")
        await warm.aclose()

    asyncio.run(warm_async())
    warm.close()
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
