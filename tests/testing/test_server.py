"""Starting and stopping the emulator: background thread, foreground CLI, in-process ASGI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import openai
import pytest

from parallel_adapters.testing import ParallelEmulator, build_app
from parallel_adapters.testing._cli import main

from .support import ask, body


def test_context_manager_serves_on_a_free_loopback_port() -> None:
    with ParallelEmulator() as emulator:
        assert emulator.running
        assert emulator.base_url == f"http://127.0.0.1:{emulator.port}"
        response = httpx.post(
            f"{emulator.base_url}/chat/completions",
            headers={"authorization": "Bearer test-key"},
            json=body(),
        )
        assert response.status_code == 200
        port = emulator.port
    assert not emulator.running
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/chat/completions", json=body())


def test_two_emulators_run_side_by_side_with_their_own_state() -> None:
    with ParallelEmulator(profile="openai") as first, ParallelEmulator() as second:
        first.inject("500")
        assert first.port != second.port
        answer = httpx.post(
            f"{second.base_url}/chat/completions",
            headers={"authorization": "Bearer test-key"},
            json=body(),
        )
        assert answer.status_code == 200
        assert answer.json()["object"] == ""
        assert len(first.faults) == 1
        assert first.requests == []


def test_start_and_stop_are_idempotent_and_base_url_needs_a_server() -> None:
    emulator = ParallelEmulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.base_url
    assert emulator.start() is emulator.start()
    emulator.stop()
    emulator.stop()
    assert not emulator.running


def test_a_taken_port_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use"):
            ParallelEmulator(port=taken.getsockname()[1]).start()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"api_key": ""}, "api_key"), ({"profile": "azure"}, "profile")],
)
def test_bad_options_are_refused(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ParallelEmulator(**options)  # type: ignore[arg-type]


def test_command_line_runs_in_the_foreground() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "parallel_adapters.testing", "--port", str(port)]
    command += ["--profile", "openai", "--any-key", "--rate-limit", "1/60"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ}
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                with openai.OpenAI(base_url=base_url, api_key="anything", max_retries=0) as sdk:
                    completion = sdk.chat.completions.create(model="base", messages=ask())
                break
            except openai.APIConnectionError:
                assert time.monotonic() < deadline, "the emulator did not come up"
                time.sleep(0.1)
        limited = httpx.post(
            f"{base_url}/chat/completions",
            headers={"authorization": "Bearer anything"},
            json=body(),
        )
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert completion.object == "chat.completion"  # --profile openai
    assert limited.status_code == 429  # --rate-limit 1/60
    assert b"accepts any non-empty key" in stderr


def test_command_line_reports_a_taken_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--port", str(taken.getsockname()[1])]) == 1
    assert "cannot serve" in capsys.readouterr().err


def test_command_line_rejects_a_bad_rate_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--rate-limit", "lots"])
    assert exited.value.code == 2
    assert "N/SECONDS" in capsys.readouterr().err


async def test_the_app_runs_in_process_without_a_server() -> None:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        response = await http.post(
            "/chat/completions", headers={"authorization": "Bearer test-key"}, json=body()
        )
        assert "Paris" in response.json()["choices"][0]["message"]["content"]
        with pytest.raises(ConnectionAbortedError):
            await http.post(
                "/chat/completions",
                headers={
                    "authorization": "Bearer test-key",
                    "x-emulator-fault": "disconnect-before-first-byte",
                },
                json=body(),
            )


def test_accepted_connections_have_tcp_nodelay() -> None:
    # Without TCP_NODELAY, Nagle's algorithm and delayed ACKs held every answer ~40 ms.
    with ParallelEmulator() as emulator, httpx.Client(base_url=emulator.base_url) as http:
        response = http.post(
            "/chat/completions", headers={"authorization": "Bearer test-key"}, json=body()
        )
        assert response.status_code == 200
        transports = list(emulator.app.connections._transports.values())
        assert transports, "the open keep-alive connection is registered"
        for transport in transports:
            sock = transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
