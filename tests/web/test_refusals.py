"""Every refusal the Search and Extract APIs document, raised as `InputError` before
anything is sent: the emulator's log stays empty."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parallel_adapters import InputError, ParallelChat
from parallel_adapters._core._web import check_domain, shape_extract, shape_search
from parallel_adapters.testing import ParallelEmulator


@pytest.fixture
def chat(emulator: ParallelEmulator) -> Iterator[ParallelChat]:
    with ParallelChat(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        yield client


SEARCH_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({}, "objective or at least one query"),
    ({"objective": "   "}, "objective or at least one query"),
    ({"objective": None, "queries": []}, "objective or at least one query"),
    ({"objective": "x", "include_domains": ["https://example.com"]}, "has a scheme"),
    ({"objective": "x", "include_domains": ["http:example.com"]}, "has a scheme"),
    ({"objective": "x", "exclude_domains": ["example.com:8080"]}, "has a port"),
    ({"objective": "x", "include_domains": ["example.com/a?b=1"]}, "has a query string"),
    ({"objective": "x", "include_domains": ["example.com/#top"]}, "has a fragment"),
    ({"objective": "x", "include_domains": ["exa mple.com"]}, "is not a domain"),
    ({"objective": "x", "include_domains": [""]}, "is blank"),
    ({"objective": "x", "include_domains": [f"d{n}.com" for n in range(201)]}, "more than 200"),
    (
        {
            "objective": "x",
            "include_domains": [f"a{n}.com" for n in range(150)],
            "exclude_domains": [f"b{n}.com" for n in range(51)],
        },
        "more than 200",
    ),
    ({"objective": "x", "include_domains": ["a.com"], "exclude_domains": ["a.com"]}, "both"),
    ({"objective": "x", "after_date": "2024/01/02"}, "YYYY-MM-DD"),
    ({"objective": "x", "after_date": "24-01-02"}, "YYYY-MM-DD"),
    ({"objective": "x", "after_date": "2024-02-30"}, "not a real date"),
    ({"objective": "x", "after_date": datetime.datetime(2024, 1, 1)}, "not a datetime"),
    ({"objective": "x", "max_results": 0}, "max_results must be a positive"),
    ({"objective": "x", "max_results": True}, "max_results must be a positive"),
    ({"objective": "x", "mode": ""}, "mode must be a non-empty"),
    ({"objective": "x", "session_id": "s" * 1001}, "session_id must be"),
    ({"objective": "x", "temperature": 0.2}, "unknown option"),
    ({"objective": "x", "queries": [1]}, r"queries\[0\] must be a string"),
]


@pytest.mark.parametrize(("arguments", "message"), SEARCH_REFUSALS)
def test_search_refusals_happen_before_sending(
    chat: ParallelChat, emulator: ParallelEmulator, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        chat.search(**arguments)
    assert emulator.requests == []


URLS = [f"https://example.com/{n}" for n in range(21)]
EXTRACT_REFUSALS: list[tuple[dict[str, Any], str]] = [
    ({"urls": URLS}, "at most 20 URLs"),
    ({"urls": []}, "at least one URL"),
    ({"urls": [None]}, r"urls\[0\] must be a string"),
    ({"urls": ["https://a.example"], "full_content": "yes"}, "full_content must be"),
    ({"urls": ["https://a.example"], "mode": "fast"}, "unknown option"),
]


@pytest.mark.parametrize(("arguments", "message"), EXTRACT_REFUSALS)
def test_extract_refusals_happen_before_sending(
    chat: ParallelChat, emulator: ParallelEmulator, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        chat.extract(**arguments)
    assert emulator.requests == []


async def test_async_refusals_happen_before_sending(
    chat: ParallelChat, emulator: ParallelEmulator
) -> None:
    with pytest.raises(InputError, match="has a scheme"):
        await chat.asearch("x", include_domains=["https://a.com"])
    with pytest.raises(InputError, match="at most 20 URLs"):
        await chat.aextract(URLS)
    assert emulator.requests == []


@pytest.mark.parametrize(
    "entry",
    ["wikipedia.org", "docs.python.org/3", ".gov", ".co.uk", "sub.example.gov", "münchen.de"],
)
def test_documented_domain_forms_are_accepted(entry: str) -> None:
    assert check_domain(entry) == entry
    body = shape_search("x", include_domains=[entry]).body
    assert body["advanced_settings"]["source_policy"]["include_domains"] == [entry]


@given(
    host=st.from_regex(r"[a-z][a-z0-9]{0,10}\.[a-z]{2,5}", fullmatch=True),
    scheme=st.sampled_from(["http://", "https://", "ftp://"]),
    port=st.integers(1, 65535),
)
def test_schemes_and_ports_are_refused_for_any_host(host: str, scheme: str, port: int) -> None:
    check_domain(host)
    with pytest.raises(InputError, match="has a scheme"):
        check_domain(scheme + host)
    with pytest.raises(InputError, match="has a port"):
        check_domain(f"{host}:{port}")


def test_objective_is_the_one_query_when_none_are_given() -> None:
    assert shape_search("who founded Parallel").body["search_queries"] == ["who founded Parallel"]
    body = shape_search(None, "parallel founders").body
    assert body == {"search_queries": ["parallel founders"]}


def test_search_body_has_the_sdk_field_layout() -> None:
    body = shape_search(
        "objective",
        ["q1", "q2"],
        mode="turbo",
        max_results=5,
        include_domains=["a.com"],
        exclude_domains=["b.com"],
        after_date=datetime.date(2025, 3, 1),
        max_chars_total=3000,
        session_id="session_1",
        client_model="gpt-5",
        location="us",
    ).body
    assert body == {
        "search_queries": ["q1", "q2"],
        "objective": "objective",
        "mode": "turbo",
        "max_chars_total": 3000,
        "session_id": "session_1",
        "client_model": "gpt-5",
        "advanced_settings": {
            "max_results": 5,
            "location": "us",
            "source_policy": {
                "include_domains": ["a.com"],
                "exclude_domains": ["b.com"],
                "after_date": "2025-03-01",
            },
        },
    }


def test_mode_is_passed_through_as_given() -> None:
    # The documented values changed between SDK releases: no list is hard-coded.
    assert shape_search("x", mode="standard").body["mode"] == "standard"
    assert "mode" not in shape_search("x").body


def test_extract_body_puts_full_content_in_advanced_settings() -> None:
    body = shape_extract("https://a.example/", "what", queries="q", full_content=True).body
    assert body == {
        "urls": ["https://a.example/"],
        "objective": "what",
        "search_queries": ["q"],
        "advanced_settings": {"full_content": True},
    }
    settings = shape_extract(["u"], full_content={"max_chars_per_result": 10}).body
    assert settings["advanced_settings"] == {"full_content": {"max_chars_per_result": 10}}
    assert shape_extract(["u"]).body == {"urls": ["u"]}
