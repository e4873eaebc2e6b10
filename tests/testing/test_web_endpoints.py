"""The emulator's `/v1/search` and `/v1/extract`: ranking, policies, documented errors,
faults and the `web_responder` seam, seen on the wire (httpx, no kit code)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from parallel_adapters.testing import (
    FAULTS,
    CorpusWebResponder,
    ParallelEmulator,
    WebAnswer,
    WebPage,
    WebQuery,
    load_default_corpus,
)
from parallel_adapters.testing._research._retrieval import BM25Index, tokenize

CORPUS = "https://corpus.parallel-adapters.example/"
KEY = {"x-api-key": "test-key"}


def post(emu: ParallelEmulator, path: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(emu.base_url + path, json=body, headers={**KEY, **headers}, timeout=10)


def test_search_ranks_pages_by_the_simulators_retrieval(emulator: ParallelEmulator) -> None:
    objective, queries = "capital city of France", ["Paris France"]
    answer = post(
        emulator, "/v1/search", {"objective": objective, "search_queries": queries}
    ).json()
    index = BM25Index(load_default_corpus())
    hits = index.search(tokenize(" ".join([objective, *queries])), len(index.passages))
    expected = list(dict.fromkeys(hit.passage.page.url for hit in hits))[:10]
    assert [r["url"] for r in answer["results"]] == expected
    assert answer["results"][0]["url"] == CORPUS + "france"
    for result in answer["results"]:
        page = next(p for p in load_default_corpus() if p.url == result["url"])
        assert result["title"] == page.title
        assert 1 <= len(result["excerpts"]) <= 3
        assert all(excerpt in page.sentences for excerpt in result["excerpts"])
    assert answer["search_id"].startswith("search_")
    assert answer["session_id"].startswith("session_")


def test_same_request_same_answer(emulator: ParallelEmulator) -> None:
    body = {"search_queries": ["DSPy signatures"]}
    assert post(emulator, "/v1/search", body).content == post(emulator, "/v1/search", body).content


def test_source_policy_and_max_results(emulator: ParallelEmulator) -> None:
    policy = {"exclude_domains": ["corpus.parallel-adapters.example/france"]}
    body = {
        "search_queries": ["capital of France"],
        "advanced_settings": {"max_results": 2, "source_policy": policy},
    }
    urls = [r["url"] for r in post(emulator, "/v1/search", body).json()["results"]]
    assert len(urls) == 2 and CORPUS + "france" not in urls
    body["advanced_settings"] = {"source_policy": {"include_domains": ["other.example"]}}
    assert post(emulator, "/v1/search", body).json()["results"] == []
    body["advanced_settings"] = {"source_policy": {"include_domains": [".example"]}}
    assert post(emulator, "/v1/search", body).json()["results"]


def test_max_chars_total_caps_the_excerpts(emulator: ParallelEmulator) -> None:
    body = {"search_queries": ["capital of France"], "max_chars_total": 200}
    results = post(emulator, "/v1/search", body).json()["results"]
    assert sum(len(e) for r in results for e in r["excerpts"]) <= 200


def test_extract_reads_corpus_pages_and_fails_others(emulator: ParallelEmulator) -> None:
    body = {"urls": [CORPUS + "japan", "https://elsewhere.example/"], "objective": "capital"}
    answer = post(emulator, "/v1/extract", body).json()
    (result,) = answer["results"]
    assert result["url"] == CORPUS + "japan" and result["full_content"] is None
    assert any("Tokyo" in e for e in result["excerpts"])
    assert answer["errors"] == [
        {
            "url": "https://elsewhere.example/",
            "error_type": "fetch_error",
            "http_status_code": 404,
            "content": "Error fetching content from https://elsewhere.example/",
        }
    ]
    body["advanced_settings"] = {"full_content": True}
    full = post(emulator, "/v1/extract", body).json()["results"][0]["full_content"]
    assert "Tokyo" in full


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/search", {"objective": "x"}, 422, "Request validation error"),
        ("/v1/search", {"search_queries": []}, 422, "Request validation error"),
        ("/v1/search", {"search_queries": ["x"], "temperature": 1}, 422, "validation"),
        (
            "/v1/search",
            {
                "search_queries": ["x"],
                "advanced_settings": {"source_policy": {"after_date": "2024/1/1"}},
            },
            422,
            "validation",
        ),
        (
            "/v1/search",
            {
                "search_queries": ["x"],
                "advanced_settings": {"source_policy": {"include_domains": ["https://a.com"]}},
            },
            400,
            "Invalid source filter",
        ),
        (
            "/v1/search",
            {
                "search_queries": ["x"],
                "advanced_settings": {
                    "source_policy": {"include_domains": [f"d{n}.com" for n in range(201)]}
                },
            },
            400,
            "cannot exceed 200",
        ),
        (
            "/v1/search",
            {
                "search_queries": ["x"],
                "advanced_settings": {
                    "source_policy": {"include_domains": ["a.com"], "exclude_domains": ["a.com"]}
                },
            },
            400,
            "overlapping",
        ),
        ("/v1/extract", {"urls": [f"https://a.com/{n}" for n in range(21)]}, 422, "validation"),
        ("/v1/extract", {"urls": ["https://a.com"], "excerpts": True}, 422, "validation"),
        ("/v1/extract", {"objective": "x"}, 422, "validation"),
    ],
)
def test_documented_errors_in_parallels_envelope(
    emulator: ParallelEmulator, path: str, body: Any, status: int, message: str
) -> None:
    response = post(emulator, path, body)
    assert response.status_code == status
    error = response.json()
    assert error["type"] == "error" and message in error["error"]["message"]


def test_no_key_is_401_and_get_is_405(emulator: ParallelEmulator) -> None:
    response = httpx.post(emulator.base_url + "/v1/search", json={"search_queries": ["x"]})
    assert response.status_code == 401 and response.json()["type"] == "error"
    assert httpx.get(emulator.base_url + "/v1/extract").status_code == 405


STATUS_FAULTS = ["429", "429-retry-after", "500", "502", "503", "envelope-parallel", "failed"]


@pytest.mark.parametrize("path", ["/v1/search", "/v1/extract"])
@pytest.mark.parametrize("fault", STATUS_FAULTS)
def test_status_faults_apply_on_these_paths(
    emulator: ParallelEmulator, path: str, fault: str
) -> None:
    body = {"search_queries": ["DSPy"]} if path == "/v1/search" else {"urls": [CORPUS + "dspy"]}
    emulator.inject(fault)
    assert post(emulator, path, body).status_code >= 400
    assert post(emulator, path, body).status_code == 200


@pytest.mark.parametrize("path", ["/v1/search", "/v1/extract"])
def test_shaping_faults_apply_on_these_paths(emulator: ParallelEmulator, path: str) -> None:
    body = {"search_queries": ["DSPy"]} if path == "/v1/search" else {"urls": [CORPUS + "dspy"]}
    emulator.inject("malformed-json")
    with pytest.raises(ValueError, match=r"Expecting|Unterminated|delimiter"):
        post(emulator, path, body).json()
    for fault in ("disconnect-before-first-byte", "disconnect-mid-stream"):
        emulator.inject(fault)
        with pytest.raises(httpx.TransportError):
            post(emulator, path, body)
    emulator.inject("stall;duration=0.05")
    assert post(emulator, path, body).status_code == 200
    # Stream-only faults leave a JSON answer alone.
    for fault in ("keepalive-comments", "no-done", "error-mid-stream"):
        emulator.inject(fault)
        assert post(emulator, path, body).json()["results"]


def test_every_fault_is_accepted_on_these_paths(emulator: ParallelEmulator) -> None:
    for name in FAULTS:
        if name in {"stall", "stall-mid-stream"}:
            name += ";duration=0.01"
        try:
            response = post(
                emulator, "/v1/search", {"search_queries": ["x"]}, **{"x-emulator-fault": name}
            )
        except httpx.TransportError:
            continue
        assert response.status_code != 400 or "x-emulator-fault" not in response.text


def test_rate_limit_counts_search_apart_from_chat(emulator: ParallelEmulator) -> None:
    emulator.rate_limit = (1, 60.0)
    assert post(emulator, "/v1/search", {"search_queries": ["x"]}).status_code == 200
    limited = post(emulator, "/v1/search", {"search_queries": ["x"]})
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert post(emulator, "/v1/extract", {"urls": [CORPUS + "dspy"]}).status_code == 200
    chat = post(
        emulator,
        "/chat/completions",
        {"model": "speed", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status_code == 200


def test_web_responder_seam_sync_async_and_broken(emulator: ParallelEmulator) -> None:
    seen: list[WebQuery] = []

    async def responder(query: WebQuery) -> list[WebPage]:
        seen.append(query)
        return [WebPage("https://scripted.example/", "S", ("scripted",), "2024-05-01")]

    emulator.web_responder = responder
    answer = post(emulator, "/v1/search", {"search_queries": ["q"], "mode": "fast"}).json()
    assert answer["results"] == [
        {
            "url": "https://scripted.example/",
            "title": "S",
            "publish_date": "2024-05-01",
            "excerpts": ["scripted"],
        }
    ]
    assert seen[0].mode == "fast" and seen[0].queries == ("q",)
    emulator.web_responder = lambda query: WebAnswer(warnings=("careful",))
    assert (
        post(emulator, "/v1/search", {"search_queries": ["q"]}).json()["warnings"][0]["message"]
        == "careful"
    )
    emulator.web_responder = lambda query: 42
    broken = post(emulator, "/v1/search", {"search_queries": ["q"]})
    assert broken.status_code == 500 and "web responder" in broken.json()["error"]["message"]
    with pytest.raises(TypeError, match="callable"):
        emulator.web_responder = "not callable"  # type: ignore[assignment]
    emulator.web_responder = None
    assert isinstance(emulator.web_responder, CorpusWebResponder)


def test_own_corpus_is_searched(emulator: ParallelEmulator) -> None:
    pages = [{"url": "https://mine.example/", "title": "Mine", "text": "Zebras are striped."}]
    with ParallelEmulator(corpus=pages) as own:
        answer = post(own, "/v1/search", {"search_queries": ["zebra stripes"]}).json()
    assert [r["url"] for r in answer["results"]] == ["https://mine.example/"]


def test_beta_paths_read_the_pre_ga_body(emulator: ParallelEmulator) -> None:
    beta = {"parallel-beta": "search-extract-2025-10-10"}
    body = {
        "objective": "capital of Japan",
        "max_results": 2,
        "mode": "one-shot",
        "excerpts": {"max_chars_per_result": 500},
    }
    answer = post(emulator, "/v1beta/search", body, **beta).json()
    assert answer["results"][0]["url"] == CORPUS + "japan"
    assert len(answer["results"]) == 2
    read = post(
        emulator,
        "/v1beta/extract",
        {"urls": [CORPUS + "japan"], "excerpts": True, "full_content": True},
        **beta,
    )
    assert "Tokyo" in read.json()["results"][0]["full_content"]
    # The GA path refuses the beta fields, as documented.
    assert (
        post(
            emulator, "/v1/extract", {"urls": [CORPUS + "japan"], "full_content": True}
        ).status_code
        == 422
    )


def test_per_result_caps(emulator: ParallelEmulator) -> None:
    body = {
        "search_queries": ["capital of France"],
        "advanced_settings": {"excerpt_settings": {"max_chars_per_result": 90}},
    }
    for result in post(emulator, "/v1/search", body).json()["results"]:
        assert sum(len(e) for e in result["excerpts"]) <= 90
    read = {
        "urls": [CORPUS + "france"],
        "advanced_settings": {"full_content": {"max_chars_per_result": 25}},
    }
    page = post(emulator, "/v1/extract", read).json()["results"][0]
    assert len(page["full_content"]) == 25
