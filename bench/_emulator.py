"""Start and stop the bench's emulator process (`bench._server`) on a free loopback port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bench._proc import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
_STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str


class EmulatorProcess:
    """`with EmulatorProcess(ttft=0.1) as endpoint:` the emulator in a child process."""

    def __init__(
        self,
        *,
        ttft: float = 0.0,
        chunk_interval: float = 0.0,
        rate_limit: str | None = None,
        profile: str = "documented",
        any_key: bool = False,
    ) -> None:
        self.args = [
            "--ttft",
            str(ttft),
            "--chunk-interval",
            str(chunk_interval),
            "--profile",
            profile,
            "--api-key",
            "" if any_key else API_KEY,
        ]
        if rate_limit:
            self.args += ["--rate-limit", rate_limit]
        self._process: subprocess.Popen[bytes] | None = None
        # Kept open for the child's whole life; closed in __exit__.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.pid

    def control(self, endpoint: Endpoint, action: str) -> Any:
        """`log` (statuses and arrival times) or `reset`, from `bench._server.BenchControl`."""
        method = "POST" if action == "reset" else "GET"
        request = urllib.request.Request(f"{endpoint.base_url}/_bench/{action}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def __enter__(self) -> Endpoint:
        port = free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench._server", "--port", str(port), *self.args],
            cwd=ROOT,
            env=os.environ.copy(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        self._wait_ready(base_url)
        return Endpoint(base_url, API_KEY)

    def _wait_ready(self, base_url: str) -> None:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"the bench emulator exited early:\n{self._output()}")
            try:
                urllib.request.urlopen(f"{base_url}/ready", timeout=1)
            except urllib.error.HTTPError:
                return  # a 404 from the emulator: it is serving
            except OSError:
                time.sleep(0.05)
                continue
            return
        self.__exit__(None, None, None)
        raise RuntimeError("the bench emulator did not start in time")

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop(process)
        self._log.close()
