"""Odd input refused before any request, keys that cannot be sent, key-free pickles, and
citations merged in linear time (issue 12, items 3, 4, 11, 13-16)."""

from __future__ import annotations

import asyncio
import pickle
import time
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import Citation, FieldBasis, sources_from_basis, unique_citations

from ..hostile import HostileServer, answer

KEY = "sk-INPUT-0xBADF00D-secret"


@pytest.fixture
def server() -> Any:
    with HostileServer(answer) as running:
        yield running


@pytest.fixture
def chat(server: HostileServer) -> Any:
    with pa.ParallelChat(base_url=server.base_url, api_key=KEY, requests_per_minute=None) as c:
        yield c


# -- 3. keys an HTTP header cannot carry -------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["sk-caf\u00e9-key", "sk-line\r\nX-Injected: 1", "sk-tab\tkey", "sk-space key", "sk-\u2028x"],
)
def test_a_key_no_header_can_carry_is_refused_at_configuration(key: str) -> None:
    with pytest.raises(pa.InputError) as caught:
        pa.ParallelChat(api_key=key)
    assert key not in str(caught.value) and key not in repr(caught.value)
    assert "header" in str(caught.value)
    with pytest.raises(ValueError, match="header") as direct:  # pydantic's ValidationError
        pa.ParallelConfig(api_key=key)
    assert key.strip() not in str(direct.value)


@pytest.mark.parametrize("key", [["sk-IN-A-LIST-secret"], {"key": "sk-IN-A-DICT-secret"}, 12345])
def test_a_key_that_is_not_a_string_is_refused_without_echo(key: Any) -> None:
    with pytest.raises(pa.InputError) as caught:
        pa.ParallelChat(api_key=key)
    assert "must be a string" in str(caught.value)
    assert "secret" not in str(caught.value) and "12345" not in str(caught.value)


def test_a_key_with_a_trailing_newline_is_trimmed(server: HostileServer) -> None:
    with pa.ParallelChat(base_url=server.base_url, api_key=KEY + "\n") as chat:
        chat("q")
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


# -- 4. pickles of the config ----------------------------------------------------------


def test_a_pickled_config_holds_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    config = pa.ParallelConfig.from_options(api_key=KEY, model="base")
    data = pickle.dumps(config)
    assert KEY.encode() not in data
    loaded = pickle.loads(data)
    assert loaded.api_key is None and loaded.model == "base"
    assert config.api_key is not None  # the original keeps its key
    with pytest.raises(pa.MissingAPIKeyError):
        loaded.require_key()
    monkeypatch.setenv("PARALLEL_API_KEY", "sk-from-the-loading-side")
    assert pickle.loads(data).require_key() == "sk-from-the-loading-side"


# -- 11. merging citations is linear ---------------------------------------------------


def _one_page_cited(times: int) -> list[FieldBasis]:
    citations = [
        Citation.model_construct(url="https://a.example", title=None, excerpts=[f"e{i}"])
        for i in range(times)
    ]
    return [FieldBasis.model_construct(field="output", citations=citations, confidence="high")]


def test_one_page_cited_100000_times_merges_fast() -> None:
    # Quadratic merging took 65 s of CPU for this; linear takes well under a second.
    basis = _one_page_cited(100_000)
    started = time.process_time()
    merged = unique_citations(basis)
    sources = sources_from_basis(basis)
    spent = time.process_time() - started
    assert len(merged) == 1 and len(merged[0].excerpts) == 100_000
    assert merged[0].excerpts[:2] == ["e0", "e1"]
    assert len(sources) == 1 and len(sources[0].excerpts) == 100_000
    assert spent < 10, f"{spent:.1f} s of CPU: merging is not linear"


def test_dspy_web_sources_group_100000_excerpts_fast() -> None:
    pytest.importorskip("dspy")
    from parallel_adapters.dspy import WebSources

    items = [{"url": "https://a.example", "title": "A", "text": f"e{i}"} for i in range(100_000)]
    started = time.process_time()
    sources = WebSources.from_citations(items + items[:10])
    spent = time.process_time() - started
    assert len(sources) == 1 and len(sources[0].excerpts) == 100_000
    assert spent < 10, f"{spent:.1f} s of CPU: grouping is not linear"


# -- 13-15. whole-answer calls, extra_body, map ------------------------------------------


def test_a_whole_answer_call_with_stream_true_is_refused_unsent(
    chat: pa.ParallelChat, server: HostileServer
) -> None:
    for attempt in (
        lambda: chat("q", stream=True),
        lambda: chat.complete("q", stream=True),
        lambda: asyncio.run(chat.acomplete("q", stream=True)),
        lambda: chat.map(["q"], stream=True),
        lambda: chat.send(chat.request("q", stream=True)),
    ):
        with pytest.raises(pa.InputError, match=r"stream"):
            attempt()
    assert server.requests == []


@pytest.mark.parametrize("field", ["model", "messages", "stream", "response_format"])
def test_extra_body_cannot_override_the_requests_own_fields(
    chat: pa.ParallelChat, server: HostileServer, field: str
) -> None:
    with pytest.raises(pa.InputError, match=field):
        chat("q", extra_body={field: "core"})
    assert server.requests == []


@pytest.mark.parametrize("extra_body", [["model", "core"], "model=core", 3])
def test_a_non_dict_extra_body_is_refused(chat: pa.ParallelChat, extra_body: Any) -> None:
    with pytest.raises(pa.InputError, match="extra_body must be a dict"):
        chat("q", extra_body=extra_body)


def test_extra_body_still_adds_provider_fields(
    chat: pa.ParallelChat, server: HostileServer
) -> None:
    chat("q", extra_body={"x_custom": 1})
    assert server.requests[0].json["x_custom"] == 1


@pytest.mark.parametrize("prompts", [None, 3, "one prompt", {"role": "user", "content": "q"}])
def test_map_refuses_what_is_not_a_list_of_prompts(
    chat: pa.ParallelChat, server: HostileServer, prompts: Any
) -> None:
    with pytest.raises(pa.InputError, match="iterable of prompts"):
        chat.map(prompts)
    with pytest.raises(pa.InputError, match="iterable of prompts"):
        asyncio.run(chat.amap(prompts))
    assert server.requests == []


def test_map_takes_any_iterable(chat: pa.ParallelChat) -> None:
    answers = chat.map(p for p in ["a", "b"])
    assert [a.text for a in answers] == ["Hello.", "Hello."]
