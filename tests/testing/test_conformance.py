"""The emulator speaks the Chat API as the official OpenAI SDK expects: both paths, both
auth headers, JSON and SSE, basis per model, the two quirk profiles, interaction ids."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from parallel_adapters.testing import ParallelEmulator

from .support import QUESTION, ask, body, sse_chunks, sse_payloads


def test_answer_through_the_openai_sdk(client: openai.OpenAI, emulator: ParallelEmulator) -> None:
    completion = client.chat.completions.create(model="base", messages=ask())

    assert len(completion.choices) == 1
    message = completion.choices[0].message
    assert message.role == "assistant"
    assert "Paris" in (message.content or "")
    extra: dict[str, Any] = completion.model_extra or {}
    assert extra["interaction_id"].startswith("int_")
    assert extra["basis"][0]["field"] == "output"
    assert [r.path for r in emulator.requests] == ["/chat/completions"]


def test_v1beta_path_serves_the_same_answer(emulator: ParallelEmulator) -> None:
    with openai.OpenAI(base_url=emulator.base_url, api_key="test-key", max_retries=0) as plain:
        first = plain.chat.completions.create(model="lite", messages=ask())
    with openai.OpenAI(
        base_url=f"{emulator.base_url}/v1beta", api_key="test-key", max_retries=0
    ) as beta:
        second = beta.chat.completions.create(model="lite", messages=ask())

    assert [r.path for r in emulator.requests] == ["/chat/completions", "/v1beta/chat/completions"]
    assert second.choices[0].message.content == first.choices[0].message.content


def test_x_api_key_header_authenticates(emulator: ParallelEmulator) -> None:
    response = httpx.post(
        f"{emulator.base_url}/v1beta/chat/completions",
        headers={"x-api-key": "test-key"},
        json=body(),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


def test_stream_delivers_the_same_answer_in_pieces(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="core", messages=ask())
    chunks = list(client.chat.completions.create(model="core", messages=ask(), stream=True))

    assert len(chunks) > 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole.choices[0].message.content
    extras = [c.model_extra or {} for c in chunks]
    assert all(e["type"] == "chat.completion.chunk" for e in extras)
    # interaction_id and the basis only on the last chunk, as in Parallel's examples: a
    # client that concatenates chunk fields (LangChain's AIMessageChunk) gets one id, once.
    assert "interaction_id" not in extras[0]
    assert [e.get("interaction_id") for e in extras[:-1]] == [None] * (len(extras) - 1)
    assert extras[-1]["interaction_id"] == (whole.model_extra or {})["interaction_id"]
    assert all(e["basis"] == [] for e in extras[:-1])
    assert extras[-1]["basis"] == (whole.model_extra or {})["basis"]


async def test_async_stream(async_client: openai.AsyncOpenAI) -> None:
    stream = await async_client.chat.completions.create(model="speed", messages=ask(), stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert "Paris" in text


def test_stream_is_sse_ending_with_done(emulator: ParallelEmulator) -> None:
    response = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": "Bearer test-key"},
        json=body(stream=True),
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text.endswith("data: [DONE]\n\n")
    payloads = sse_payloads(response.text)
    assert payloads[-1] == "[DONE]"
    assert payloads.count("[DONE]") == 1


@pytest.mark.parametrize(
    ("model", "has_basis"), [("speed", False), ("lite", True), ("base", True), ("core", True)]
)
def test_basis_only_for_research_models(client: openai.OpenAI, model: str, has_basis: bool) -> None:
    completion = client.chat.completions.create(model=model, messages=ask())
    basis = (completion.model_extra or {})["basis"]
    assert bool(basis) is has_basis
    if has_basis:
        [entry] = basis
        assert entry["confidence"] in ("low", "medium", "high")
        assert entry["reasoning"]
        assert entry["citations"][0]["url"].startswith("https://")


def test_documented_profile_leaves_standard_fields_blank(emulator: ParallelEmulator) -> None:
    raw = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": "Bearer test-key"},
        json=body(),
    ).json()
    assert (raw["id"], raw["object"], raw["model"]) == ("", "", "")
    assert raw["choices"][0]["finish_reason"] is None
    assert "usage" not in raw
    assert "system_fingerprint" not in raw
    assert isinstance(raw["created"], int)

    stream = httpx.post(
        f"{emulator.base_url}/chat/completions",
        headers={"authorization": "Bearer test-key"},
        json=body(stream=True),
    )
    chunks = sse_chunks(stream.text)
    assert {(c["id"], c["object"], c["model"]) for c in chunks} == {("", "", "")}
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)
    assert all("usage" not in c for c in chunks)


def test_openai_profile_fills_every_standard_field(
    emulator: ParallelEmulator, client: openai.OpenAI
) -> None:
    emulator.profile = "openai"
    completion = client.chat.completions.create(model="lite", messages=ask())
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == "lite"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    usage = completion.usage
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    chunks = list(client.chat.completions.create(model="lite", messages=ask(), stream=True))
    assert {c.id for c in chunks} == {completion.id}
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert [c.choices[0].finish_reason for c in chunks[-2:]] == [None, "stop"]
    assert chunks[-1].usage == completion.usage
    assert all(c.usage is None for c in chunks[:-1])


def test_previous_interaction_id_links_a_follow_up(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="base", messages=ask(QUESTION))
    follow_up = ask("What about its population?")

    linked = client.chat.completions.create(
        model="base",
        messages=follow_up,
        extra_body={"previous_interaction_id": (first.model_extra or {})["interaction_id"]},
    )
    alone = client.chat.completions.create(model="base", messages=follow_up)

    linked_sources = {c["url"] for c in (linked.model_extra or {})["basis"][0]["citations"]}
    alone_sources = {c["url"] for c in (alone.model_extra or {})["basis"][0]["citations"]}
    assert "68 million" in (linked.choices[0].message.content or "")
    assert linked_sources == {"https://corpus.parallel-adapters.example/france"}
    assert alone_sources != linked_sources
    assert (linked.model_extra or {})["interaction_id"] != (alone.model_extra or {})[
        "interaction_id"
    ]


def test_unknown_previous_interaction_id_is_accepted(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="base", messages=ask(), extra_body={"previous_interaction_id": "int_never_issued"}
    )
    assert "Paris" in (completion.choices[0].message.content or "")


def test_ignored_openai_parameters_change_nothing(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="base", messages=ask())
    tuned = client.chat.completions.create(
        model="base",
        messages=ask(),
        temperature=0.1,
        max_tokens=3,
        top_p=0.5,
        seed=7,
        stop=["."],
        tools=[{"type": "function", "function": {"name": "noop", "parameters": {}}}],
    )
    assert tuned.choices[0].message.content == plain.choices[0].message.content


def test_system_prompt_does_not_steer_retrieval(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="base", messages=ask())
    with_system = client.chat.completions.create(
        model="base",
        messages=[{"role": "system", "content": "You are a Python expert."}, *ask()],
    )
    assert with_system.choices[0].message.content == plain.choices[0].message.content


def test_request_log_records_requests_without_credentials(
    client: openai.OpenAI, emulator: ParallelEmulator
) -> None:
    client.chat.completions.create(model="base", messages=ask())
    httpx.post(f"{emulator.base_url}/chat/completions", headers={"x-api-key": "test-key"}, json={})

    first, second = emulator.requests
    assert (first.method, first.path, first.status, first.fault) == (
        "POST",
        "/chat/completions",
        200,
        None,
    )
    assert first.json == {"model": "base", "messages": ask()}
    assert first.headers["content-type"] == "application/json"
    assert "authorization" not in first.headers
    assert second.status == 422
    assert "x-api-key" not in second.headers
    assert "test-key" not in repr(emulator.requests)

    emulator.reset()
    assert emulator.requests == []
