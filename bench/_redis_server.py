"""A throwaway `redis-server` on a free loopback port: for `bench._scale` and for the
shared-budget tests (tests/conftest.py), which import it from here.

Redis comes from the system package (`apt-get install redis-server`; `.ci/run` installs
it). A missing `redis-server` is an error, never a skip: a skipped Redis test would let the
cross-host budget go untested without anyone noticing. Standard library only, so the bench
needs no pytest.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench._proc import free_port, stop


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server, yield its URL (`redis://127.0.0.1:PORT/0`), stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process, grace=5)
