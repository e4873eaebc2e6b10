"""The emulator as the bench runs it: in its own process, so it never competes with the
measured client for the GIL.

`python -m bench._server --port N [--ttft S] [--chunk-interval S] [--rate-limit N/S]`
serves `parallel_adapters.testing.build_app(...)` with uvicorn (httptools, no access
log), wrapped in `BenchControl`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BenchControl:
    """`GET /_bench/log`: every request's status and arrival time (the server's clock);
    `POST /_bench/reset`: forget requests and rate-limit counts. Everything else goes on."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/_bench/"):
            await self.emulator(scope, receive, send)
            return
        if path == "/_bench/reset":
            self.emulator.reset()
            body = b"{}"
        else:
            entries = [{"status": e.status, "time": e.time} for e in self.emulator.log.snapshot()]
            body = json.dumps(entries).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    from parallel_adapters.testing import LatencyModel, RateLimit, build_app

    parser = argparse.ArgumentParser(prog="python -m bench._server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key", default="bench-key", help="'' accepts any key")
    parser.add_argument("--profile", default="documented", choices=("documented", "openai"))
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--chunk-interval", type=float, default=0.0)
    parser.add_argument("--rate-limit", default=None, metavar="N/SECONDS")
    args = parser.parse_args(argv)
    rate_limit = None
    if args.rate_limit:
        requests, _, window = args.rate_limit.partition("/")
        rate_limit = RateLimit(int(requests), float(window))
    app = build_app(
        api_key=args.api_key or None,
        profile=args.profile,
        latency=LatencyModel.fixed(args.ttft, args.chunk_interval),
        rate_limit=rate_limit,
    )
    uvicorn.run(
        BenchControl(app),
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        proxy_headers=False,
        backlog=2048,
    )


if __name__ == "__main__":
    main()
