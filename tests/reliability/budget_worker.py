"""One process of a deployment sharing a key: `python -m tests.reliability.budget_worker CFG`.

CFG is JSON (base_url, store, rpm, window, requests, concurrency, mode, index); the key
comes from PARALLEL_API_KEY. Warms up, prints `ready`, waits for a line on stdin (so every
worker starts at once, after the test reset the emulator's log), sends its requests with
retries off, and prints a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import parallel_adapters as pa


def main() -> None:
    cfg: dict[str, Any] = json.loads(sys.argv[1])
    chat = pa.ParallelChat(
        base_url=cfg["base_url"],
        max_retries=0,
        requests_per_minute=cfg["rpm"],
        rate_limit_window=cfg["window"],
        rate_limit_store=cfg["store"],
    )
    prompts = [f"worker {cfg['index']} question {i}" for i in range(cfg["requests"])]
    # A cold process's first request runs code paths for the first time (lazy imports in
    # the HTTP stack), and on a busy machine reaches the server long after its slot was
    # stamped. Warm both paths outside the budget first: a long-running worker is warm.
    warm = pa.ParallelChat(base_url=cfg["base_url"], max_retries=0, requests_per_minute=None)
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
