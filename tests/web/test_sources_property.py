"""Sources are the product: whatever pages an answer holds, every surface hands them on
unchanged, in rank order, each excerpt beside the URL it came from (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallel_adapters._core._web import (
    extract_from_body,
    search_from_body,
    shape_extract,
    shape_search,
)

text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
page = st.fixed_dictionaries(
    {
        "url": st.builds(
            lambda s: f"https://{s}.example/p", st.from_regex(r"[a-z]{1,8}", fullmatch=True)
        ),
        "title": st.one_of(st.none(), text),
        "publish_date": st.one_of(st.none(), st.dates().map(lambda d: d.isoformat())),
        "excerpts": st.lists(text, min_size=1, max_size=4),
    }
)
bodies = st.lists(page, max_size=12).map(
    lambda results: {"search_id": "search_1", "session_id": "s", "results": results}
)


@settings(max_examples=60, deadline=None)
@given(body=bodies)
def test_search_results_keep_every_page_in_order(body: dict[str, Any]) -> None:
    result = search_from_body(body, shape_search("q"))
    assert [(r.url, r.title, r.publish_date, list(r.excerpts)) for r in result] == [
        (p["url"], p["title"] or None, p["publish_date"], p["excerpts"]) for p in body["results"]
    ]


@settings(max_examples=40, deadline=None)
@given(body=bodies)
def test_llama_index_nodes_carry_each_pages_excerpts_and_url(body: dict[str, Any]) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.schema import MetadataMode

    from parallel_adapters.llama_index import format_results, nodes_of

    result = search_from_body(body, shape_search("q"))
    nodes = nodes_of(result)
    assert [n.node.metadata["url"] for n in nodes] == [p["url"] for p in body["results"]]
    for node, source in zip(nodes, body["results"], strict=True):
        content = node.node.get_content(metadata_mode=MetadataMode.LLM)
        assert content == "\n\n".join(source["excerpts"])
    scores = [n.score for n in nodes]
    assert scores == sorted(scores, reverse=True)
    rendered = format_results(result)
    for number, source in enumerate(body["results"], 1):
        block = rendered.split(f"[{number}] ", 1)[1]
        assert block.split("\nURL: ", 1)[1].startswith(source["url"])


@settings(max_examples=40, deadline=None)
@given(body=bodies, k=st.integers(1, 15))
def test_dspy_passages_carry_each_pages_url(body: dict[str, Any], k: int) -> None:
    pytest.importorskip("dspy")
    from parallel_adapters.dspy._search import _passages

    passages = _passages(search_from_body(body, shape_search("q")), k)
    expected = body["results"][:k]
    assert [(p.url, p.long_text) for p in passages] == [
        (s["url"], "\n\n".join(s["excerpts"])) for s in expected
    ]


@settings(max_examples=40, deadline=None)
@given(
    results=st.lists(page, max_size=5),
    failed=st.lists(st.from_regex(r"https://[a-z]{1,6}\.example/", fullmatch=True), max_size=3),
)
def test_extract_keeps_results_and_failures_apart(
    results: list[dict[str, Any]], failed: list[str]
) -> None:
    body = {
        "extract_id": "extract_1",
        "session_id": "s",
        "results": results,
        "errors": [
            {"url": u, "error_type": "fetch_error", "http_status_code": 404} for u in failed
        ],
    }
    urls = [p["url"] for p in results] + failed or ["https://a.example/"]
    result = extract_from_body(body, shape_extract(urls[:20]))
    assert [r.url for r in result.results] == [p["url"] for p in results]
    assert [e.url for e in result.errors] == failed
    assert result.cost == pytest.approx(len(urls[:20]) / 1000)
