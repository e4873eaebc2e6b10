"""Errors that say where (issue 23): the address of a failed connection, the URL of a 404,
one line for an HTML error page, and key redaction that leaves ordinary words alone."""

from __future__ import annotations

import socket
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import ParallelClient

from ..hostile import Exchange, HostileServer

FAST: dict[str, Any] = {"requests_per_minute": None, "max_retries": 0}
LONG_KEY = "sk-SAY-WHERE-0123456789abcdef"

HTML_502 = (
    b"""<!DOCTYPE html>
<html>
<head>
<title>502 Bad Gateway</title>
<style>body { font-family: sans-serif; }</style>
</head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
<p>The upstream server did not answer.</p>
<p>Please try again later.</p>
<!-- a padding comment that should never reach the user -->
</body>
</html>
"""
    + b"<p>"
    + b"filler text " * 40
    + b"</p>"
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("model", ["lite", "parallel"])
def test_a_connection_error_names_host_and_port(model: str) -> None:
    port = closed_port()
    client = ParallelClient(base_url=f"http://127.0.0.1:{port}", api_key=LONG_KEY, **FAST)
    with pytest.raises(pa.APIConnectionError, match=rf"127\.0\.0\.1:{port}"):
        client.complete("q", model=model)


@pytest.mark.parametrize(
    ("model", "path"), [("lite", "/v1/chat/completions"), ("parallel", "/v1/v1/responses")]
)
def test_a_404_names_the_url_and_that_base_url_is_the_root(model: str, path: str) -> None:
    def not_found(x: Exchange) -> None:
        x.respond_json(404, {"detail": "Not Found"})

    with HostileServer(not_found) as server:
        client = ParallelClient(base_url=server.base_url + "/v1", api_key=LONG_KEY, **FAST)
        with pytest.raises(pa.NotFoundError) as caught:
            client.complete("q", model=model)
    message = str(caught.value)
    assert f"{server.base_url}{path}" in message
    assert "base_url is the API's root" in message
    assert "\n" not in message


def test_a_404_without_v1_names_the_url_without_the_hint() -> None:
    def not_found(x: Exchange) -> None:
        x.respond_json(404, {"detail": "Not Found"})

    with HostileServer(not_found) as server:
        client = ParallelClient(base_url=server.base_url + "/proxy", api_key=LONG_KEY, **FAST)
        with pytest.raises(pa.NotFoundError, match="/proxy/chat/completions") as caught:
            client.complete("q", model="lite")
    assert "root" not in str(caught.value)


@pytest.mark.parametrize("model", ["lite", "parallel"])
def test_an_html_error_page_is_one_short_line(model: str) -> None:
    def bad_gateway(x: Exchange) -> None:
        x.respond(502, "text/html; charset=utf-8", HTML_502)

    with HostileServer(bad_gateway) as server:
        client = ParallelClient(base_url=server.base_url, api_key=LONG_KEY, **FAST)
        with pytest.raises(pa.ServerError) as caught:
            client.complete("q", model=model)
    message = str(caught.value)
    assert "\n" not in message
    assert "<" not in message and "padding comment" not in message and "font-family" not in message
    assert "502" in message and "text/html" in message
    assert "502 Bad Gateway" in message
    text = message.split(": ", 1)[1]
    assert len(message) < 320 and "filler" in message
    assert len(text.split(" (HTTP")[0]) <= 260  # the text part itself is cut at 200 characters


@pytest.mark.parametrize("key", ["e", "k", "test", "abc1234"])
def test_a_short_key_is_not_redacted_from_the_servers_words(key: str) -> None:
    def unauthorized(x: Exchange) -> None:
        x.respond_json(401, {"error": {"message": "Unauthorized: invalid or missing credentials"}})

    with HostileServer(unauthorized) as server:
        client = ParallelClient(base_url=server.base_url, api_key=key, **FAST)
        with pytest.raises(
            pa.AuthenticationError, match="Unauthorized: invalid or missing credentials"
        ):
            client.complete("q")


def test_a_key_long_enough_to_be_a_secret_is_still_redacted() -> None:
    key = "sk-abcdefgh"  # 8+ characters: treated as a secret

    def echo(x: Exchange) -> None:
        x.respond_json(401, {"error": {"message": f"Incorrect API key: {key}"}})

    with HostileServer(echo) as server:
        client = ParallelClient(base_url=server.base_url, api_key=key, **FAST)
        with pytest.raises(pa.AuthenticationError, match=r"Incorrect API key: \*\*\*") as caught:
            client.complete("q")
    assert key not in str(caught.value)
