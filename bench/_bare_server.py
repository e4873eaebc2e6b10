"""A bare HTTP/1.1 server that answers every request with one fixed chat completion.

`python -m bench._bare_server PORT`. No framework, no parsing beyond the headers: what the
raw `openai` SDK reaches against it, one request at a time, is the client's own ceiling on
this machine, the reference for the emulator's sequential rate (scenario 8).
"""

from __future__ import annotations

import asyncio
import json
import sys

_BODY = json.dumps(
    {
        "id": "bare",
        "object": "chat.completion",
        "created": 0,
        "model": "speed",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "A fixed answer."},
                "finish_reason": "stop",
            }
        ],
    }
).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            writer.write(_RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
