"""`search`/`extract` (plain and async) and the `ParallelChat` methods, on the emulator
and on hostile loopback servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ExtractResult,
    ParallelChat,
    RateLimitError,
    SearchResult,
    ServerError,
    UnprocessableRequestError,
    WebResult,
    _chat,
)
from parallel_adapters._core import _ratelimit
from parallel_adapters.testing import ParallelEmulator, WebAnswer, WebPage, WebQuery
from tests.hostile import Exchange, HostileServer

CORPUS = "https://corpus.parallel-adapters.example/"


@pytest.fixture
def chat(emulator: ParallelEmulator) -> Iterator[ParallelChat]:
    with ParallelChat(
        api_key=emulator.api_key, base_url=emulator.base_url, retry_initial_delay=0.0
    ) as client:
        yield client


@pytest.fixture
def default_on_emulator(
    emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("PARALLEL_API_KEY", "test-key")
    monkeypatch.setenv("PARALLEL_BASE_URL", emulator.base_url)
    monkeypatch.setattr(_chat, "_default", None)
    yield
    monkeypatch.setattr(_chat, "_default", None)


def test_plain_search_returns_ranked_pages_with_excerpts(
    default_on_emulator: None, emulator: ParallelEmulator
) -> None:
    result = pa.search("What is DSPy?", max_results=3)
    assert isinstance(result, SearchResult)
    assert result.search_id.startswith("search_") and result.session_id
    assert 1 <= len(result) <= 3
    assert result.urls[0] in {CORPUS + "dspy", CORPUS + "dspy-signatures"}
    for page in result:
        assert isinstance(page, WebResult) and page.excerpts and page.title
    sent = emulator.requests[-1]
    assert sent.path == "/v1/search"
    assert sent.json["search_queries"] == ["What is DSPy?"]
    assert sent.json["advanced_settings"] == {"max_results": 3}


def test_plain_extract_reads_pages_and_reports_failures(
    default_on_emulator: None, emulator: ParallelEmulator
) -> None:
    result = pa.extract(
        [CORPUS + "france", "https://nowhere.example/"], "capital", full_content=True
    )
    assert isinstance(result, ExtractResult)
    assert [r.url for r in result.results] == [CORPUS + "france"]
    page = result.results[0]
    assert any("Paris" in e for e in page.excerpts)
    assert page.full_content and "Paris" in page.full_content
    (error,) = result.errors
    assert (error.url, error.error_type, error.http_status_code) == (
        "https://nowhere.example/",
        "fetch_error",
        404,
    )
    assert result.cost == pytest.approx(0.002)


def test_async_plain_calls(default_on_emulator: None) -> None:
    async def both() -> tuple[SearchResult, ExtractResult]:
        return await asyncio.gather(
            pa.asearch("capital of Japan"), pa.aextract(CORPUS + "japan", "capital")
        )

    found, read = asyncio.run(both())
    assert CORPUS + "japan" in found.urls
    assert read.results[0].url == CORPUS + "japan"


@pytest.mark.parametrize(
    ("mode", "results", "cost"),
    [
        (None, 3, 0.005),
        ("advanced", 3, 0.005),
        ("basic", 3, 0.005),
        ("fast", 3, 0.001),
        ("turbo", 12, 0.003),
        ("fast", 10, 0.001),
        ("mystery", 3, None),
    ],
)
def test_search_cost_follows_the_price_table(
    chat: ParallelChat,
    emulator: ParallelEmulator,
    mode: str | None,
    results: int,
    cost: float | None,
) -> None:
    pages = [WebPage(f"https://e.example/{n}", excerpts=("x",)) for n in range(results)]
    emulator.web_responder = lambda query: pages
    result = chat.search("anything", mode=mode)
    assert len(result) == results
    assert result.cost == (pytest.approx(cost) if cost is not None else None)


def test_scripted_results_come_back_field_for_field(
    chat: ParallelChat, emulator: ParallelEmulator
) -> None:
    seen: list[WebQuery] = []

    def responder(query: WebQuery) -> WebAnswer:
        seen.append(query)
        page = WebPage("https://a.example/x", "A", ("one", "two"), "2025-01-02")
        return WebAnswer(results=(page,), warnings=("queries were rewritten",))

    emulator.web_responder = responder
    result = chat.search(
        "goal",
        ["k1", "k2"],
        include_domains=["a.example"],
        after_date="2025-01-01",
        session_id="session_me",
    )
    assert result.results == (
        WebResult("https://a.example/x", "A", "2025-01-02", ("one", "two"), None),
    )
    assert result.warnings == ("queries were rewritten",)
    assert result.session_id == "session_me"
    (query,) = seen
    assert query.queries == ("k1", "k2") and query.objective == "goal"
    assert query.include_domains == ("a.example",) and query.after_date == "2025-01-01"


def test_server_errors_are_typed_with_the_servers_message(
    chat: ParallelChat, emulator: ParallelEmulator
) -> None:
    # The v1beta field on /v1/extract: the documented 422.
    with pytest.raises(UnprocessableRequestError, match="Request validation error"):
        chat.extract(["https://a.example"], extra_body={"excerpts": True})
    with pytest.raises(BadRequestError, match="Invalid source filter"):
        chat.search(
            "x",
            extra_body={
                "advanced_settings": {"source_policy": {"include_domains": ["https://a.com"]}}
            },
        )
    with (
        ParallelChat(api_key="wrong", base_url=emulator.base_url) as other,
        pytest.raises(AuthenticationError),
    ):
        other.search("x")


def test_transient_failures_are_retried_as_the_core_decides(
    chat: ParallelChat, emulator: ParallelEmulator
) -> None:
    emulator.inject("503")
    assert chat.search("DSPy").urls
    assert [r.status for r in emulator.requests] == [503, 200]
    emulator.reset()
    emulator.inject("404")
    with pytest.raises(pa.NotFoundError):
        chat.search("DSPy")
    assert len(emulator.requests) == 1


def test_a_garbled_answer_is_a_server_error(emulator: ParallelEmulator) -> None:
    emulator.inject("malformed-json")
    with (
        ParallelChat(api_key="test-key", base_url=emulator.base_url, max_retries=0) as chat,
        pytest.raises(ServerError, match="malformed JSON"),
    ):
        chat.extract(CORPUS + "dspy")


@pytest.mark.parametrize("fault", ["disconnect-before-first-byte", "disconnect-mid-stream"])
def test_dropped_connections_are_connection_errors(emulator: ParallelEmulator, fault: str) -> None:
    with ParallelChat(api_key="test-key", base_url=emulator.base_url, max_retries=0) as chat:
        emulator.inject(fault)
        with pytest.raises((APIConnectionError, ServerError)):
            chat.search("DSPy")


def test_rate_limit_429_is_typed_after_retries(emulator: ParallelEmulator) -> None:
    emulator.inject("429", times=3)
    with (
        ParallelChat(
            api_key="test-key", base_url=emulator.base_url, max_retries=2, retry_initial_delay=0
        ) as chat,
        pytest.raises(RateLimitError),
    ):
        chat.search("DSPy")
    assert len(emulator.requests) == 3


def test_search_and_extract_send_x_api_key_only_to_the_given_host() -> None:
    def script(exchange: Exchange) -> None:
        if exchange.request.path == "/v1/search":
            exchange.respond_json(200, {"search_id": "s", "session_id": "t", "results": []})
        else:
            exchange.respond_json(
                200, {"extract_id": "e", "session_id": "t", "results": [], "errors": []}
            )

    with (
        HostileServer(script) as server,
        ParallelChat(api_key="sk-secret", base_url=server.base_url) as chat,
    ):
        assert len(chat.search("x")) == 0
        assert len(chat.extract("https://a.example")) == 0
    for request in server.requests:
        assert request.headers.get("x-api-key") == "sk-secret"
        assert "authorization" not in request.headers


def test_a_redirect_is_not_followed() -> None:
    def script(exchange: Exchange) -> None:
        exchange.respond(307, None, b"", [("location", "http://evil.example/v1/search")])

    with (
        HostileServer(script) as server,
        ParallelChat(api_key="sk-secret", base_url=server.base_url, max_retries=0) as chat,
        pytest.raises(pa.RedirectError),
    ):
        chat.search("x")
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        [1, 2],
        {"search_id": "s"},
        {"results": [{"title": "no url"}]},
        {"results": [{"url": "u", "excerpts": "not a list"}]},
    ],
)
def test_malformed_answers_are_server_errors(body: object) -> None:
    def script(exchange: Exchange) -> None:
        exchange.respond_json(200, body)

    with (
        HostileServer(script) as server,
        ParallelChat(api_key="k", base_url=server.base_url, max_retries=0) as chat,
        pytest.raises(ServerError, match=r"instead of a JSON object|malformed"),
    ):
        chat.search("x")


def test_key_never_appears_in_errors(emulator: ParallelEmulator) -> None:
    def script(exchange: Exchange) -> None:
        key = exchange.request.headers.get("x-api-key", "")
        exchange.respond_json(
            400, {"type": "error", "error": {"ref_id": "r", "message": f"bad key {key}"}}
        )

    with (
        HostileServer(script) as server,
        ParallelChat(api_key="sk-secret", base_url=server.base_url) as chat,
        pytest.raises(BadRequestError) as caught,
    ):
        chat.search("x")
    assert "sk-secret" not in str(caught.value) and "sk-secret" not in repr(caught.value.body)


def test_methods_share_the_chat_clients_pool(chat: ParallelChat) -> None:
    chat.search("DSPy")
    chat("What is DSPy?")
    transport = chat._transport
    assert transport._sync_web_client()._client is transport._sync_client()._client


def test_search_and_extract_count_against_budgets_of_their_own(
    emulator: ParallelEmulator,
) -> None:
    with ParallelChat(api_key="budget-key", base_url=emulator.base_url) as chat:
        transport = chat._transport
        search, extract = transport._web_limiter("search"), transport._web_limiter("extract")
        chat_budget = transport._request_limiter()
    assert search is not None and extract is not None and chat_budget is not None
    assert len({id(search), id(extract), id(chat_budget)}) == 3
    assert search.requests_per_minute == extract.requests_per_minute == 600
    assert chat_budget.requests_per_minute == 300
    limiters = [k for k in _ratelimit._limiters if k[-1] in {"search", "extract"}]
    assert limiters


def test_a_turned_off_limiter_is_off_for_every_api(emulator: ParallelEmulator) -> None:
    with ParallelChat(
        api_key="test-key", base_url=emulator.base_url, requests_per_minute=None
    ) as chat:
        assert chat._transport._web_limiter("search") is None
        assert chat.search("DSPy").urls


def test_results_serialize_to_json(chat: ParallelChat) -> None:
    data = json.loads(json.dumps(chat.search("capital of France", max_results=2).to_dict()))
    assert data["results"][0]["url"] == CORPUS + "france"
    assert data["cost"] == pytest.approx(0.005)


def test_key_never_logged(emulator: ParallelEmulator, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    emulator.inject("503")
    with (
        caplog.at_level(logging.DEBUG),
        ParallelChat(api_key="test-key", base_url=emulator.base_url, retry_initial_delay=0) as chat,
    ):
        chat.search("DSPy")
        chat.extract(CORPUS + "dspy")
    assert caplog.records  # the retry and the SDK's requests were logged
    assert "test-key" not in caplog.text


def test_a_trickling_answer_is_bounded_by_the_timeout() -> None:
    def script(exchange: Exchange) -> None:
        body = json.dumps({"search_id": "s", "session_id": "t", "results": []}).encode()
        head = exchange.head(
            200, [("content-type", "application/json"), ("content-length", str(len(body)))]
        )
        exchange.send(head)
        exchange.trickle(body, 0.2)

    with (
        HostileServer(script) as server,
        ParallelChat(api_key="k", base_url=server.base_url, timeout=0.5, max_retries=0) as chat,
        pytest.raises(pa.APITimeoutError),
    ):
        chat.search("x")


def test_per_api_budgets_in_a_shared_store_do_not_draw_on_each_other(tmp_path: Any) -> None:
    store = f"sqlite:///{tmp_path / 'budget.sqlite'}"
    chat = _ratelimit.shared_limiter("http://127.0.0.1:9", "k", 1, 60.0, store)
    search = _ratelimit.shared_limiter("http://127.0.0.1:9", "k", 1, 60.0, store, api="search")
    again = _ratelimit.shared_limiter("http://127.0.0.1:9", "k", 1, 60.0, store, api="search")
    assert again is search and search is not chat
    assert chat._store.take() <= 0
    assert chat._store.take() > 0  # the chat budget is spent...
    assert search._store.take() <= 0  # ...the search budget is not
    assert search._store.take() > 0


def test_async_calls_on_fresh_loops_and_threads(chat: ParallelChat) -> None:
    # LlamaIndex and DSPy run coroutines on new event loops, often in worker threads.
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(3):
        assert asyncio.run(chat.asearch("DSPy")).urls
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: asyncio.run(chat.aextract(CORPUS + "dspy")), range(8)))
    assert all(r.results[0].url == CORPUS + "dspy" for r in results)
