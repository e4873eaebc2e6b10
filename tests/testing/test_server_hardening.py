"""The emulator as a server facing hostile clients (issue 12, items 17-19): the key is
checked before a body is read or logged, bodies are capped (413), odd fault parameters
and deeply nested JSON are client errors, and slow or half-open connections are closed."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from parallel_adapters.testing import FAULT_HEADER, ParallelEmulator

KEY = "test-key"


@pytest.fixture
def emu() -> Iterator[ParallelEmulator]:
    with ParallelEmulator(api_key=KEY) as running:
        running.app.read_timeout = 0.5
        yield running


def _connect(emu: ParallelEmulator) -> socket.socket:
    host, port = emu.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(5.0)  # the bound these tests expect the server to act well within
    return sock


def _head(length: int, key: str | None, extra: str = "") -> bytes:
    lines = [
        "POST /chat/completions HTTP/1.1",
        "host: x",
        "content-type: application/json",
        f"content-length: {length}",
    ]
    if key:
        lines.append(f"authorization: Bearer {key}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def _reply(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


# -- 17. the key first, and a cap on the body --------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_an_unauthenticated_post_is_refused_before_its_body_is_read(
    emu: ParallelEmulator, key: str | None
) -> None:
    with _connect(emu) as sock:
        sock.sendall(_head(50 * 1024 * 1024, key))  # announces 50 MB, sends none of it
        assert _status(_reply(sock)) == 401
    assert [(e.status, e.body) for e in emu.requests] == [(401, b"")]


def test_the_key_is_checked_before_a_queued_fault(emu: ParallelEmulator) -> None:
    emu.inject("500")
    with _connect(emu) as sock:
        sock.sendall(_head(2, "wrong-key") + b"{}")
        assert _status(_reply(sock)) == 401
    assert emu.faults.pending(), "the fault is still there for an authenticated request"


def test_an_announced_body_over_the_cap_gets_413_unread(emu: ParallelEmulator) -> None:
    emu.app.max_body_bytes = 1024
    with _connect(emu) as sock:
        sock.sendall(_head(10 * 1024 * 1024, KEY))
        assert _status(_reply(sock)) == 413
    assert emu.requests[0].body == b""


def test_a_chunked_body_over_the_cap_gets_413(emu: ParallelEmulator) -> None:
    emu.app.max_body_bytes = 1024
    chunk = b"x" * 4096
    head = (
        "POST /chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n"
        f"authorization: Bearer {KEY}\r\n\r\n"
    ).encode()
    with _connect(emu) as sock:
        sock.sendall(head + b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        assert _status(_reply(sock)) == 413
    assert emu.requests[0].body == b""


# -- 18. odd fault parameters and nesting are client errors ------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        "stall;duration=nan",
        "stall;duration=inf",
        "429-retry-after;retry_after=nan",
        "stall-mid-stream;duration=-inf",
    ],
)
def test_non_finite_fault_parameters_are_refused(emu: ParallelEmulator, fault: str) -> None:
    body = json.dumps({"model": "speed", "messages": [{"role": "user", "content": "q"}]})
    with _connect(emu) as sock:
        sock.sendall(_head(len(body), KEY, f"{FAULT_HEADER}: {fault}\r\n") + body.encode())
        reply = _reply(sock)
    # An invalid fault header is the client's mistake: 400, as for any other bad value.
    assert _status(reply) == 400


def test_deeply_nested_json_is_a_422(emu: ParallelEmulator) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with _connect(emu) as sock:
        sock.sendall(_head(len(body), KEY) + body)
        assert _status(_reply(sock)) == 422


# -- 19. slow and half-open connections are closed ---------------------------------------


def test_headers_that_never_finish_get_the_connection_closed(emu: ParallelEmulator) -> None:
    with _connect(emu) as sock:
        sock.sendall(b"POST /chat/completions HTTP/1.1\r\nhost: x\r\n")
        for _ in range(3):  # a header line now and then, never the blank line
            time.sleep(0.2)
            sock.sendall(b"x-slow: 1\r\n")
        assert sock.recv(65536) == b"", "the server should have hung up"


def test_a_body_that_never_finishes_gets_408(emu: ParallelEmulator) -> None:
    with _connect(emu) as sock:
        sock.sendall(_head(1000, KEY) + b'{"model": ')
        assert _status(_reply(sock)) == 408
