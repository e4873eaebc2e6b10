"""What a ParallelLLM is (class, metadata, saved state without a key) and how it fails."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms import CustomLLM

import parallel_adapters
from parallel_adapters.llama_index import (
    DEFAULT_CONTEXT_WINDOW,
    DEFAULT_NUM_OUTPUT,
    ParallelLLM,
)
from parallel_adapters.testing import ParallelEmulator

from .conftest import Backend

SECRET = "sk-test-SECRET-4242"
QUESTION = "What is the capital of France?"

Wire = Callable[[], list[dict[str, Any]]]


def test_is_a_llamaindex_llm() -> None:
    assert BaseLLM in ParallelLLM.__mro__
    assert CustomLLM in ParallelLLM.__mro__
    assert ParallelLLM.class_name() == "ParallelLLM"


def test_metadata() -> None:
    metadata = ParallelLLM(model="core", api_key=SECRET).metadata
    assert metadata.is_chat_model is True
    assert metadata.is_function_calling_model is False
    assert metadata.model_name == "core"
    assert metadata.context_window == DEFAULT_CONTEXT_WINDOW == 32_768
    assert metadata.num_output == DEFAULT_NUM_OUTPUT == 4_096
    custom = ParallelLLM(api_key=SECRET, context_window=8_000, num_output=1_000).metadata
    assert (custom.context_window, custom.num_output) == (8_000, 1_000)


def test_options_default_to_the_core_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_BASE_URL", "https://example.test/")
    llm = ParallelLLM(api_key=SECRET)
    config = parallel_adapters.ParallelConfig()
    assert llm.model == config.model == "speed"
    assert llm.base_url == "https://example.test"
    assert (llm.max_retries, llm.requests_per_minute) == (config.max_retries, 300)
    assert llm.client.config.timeout_for("core") == 600.0


def test_no_key_in_any_saved_state_or_repr() -> None:
    llm = ParallelLLM(model="base", api_key=SECRET, base_url="https://example.test")
    texts = [
        str(llm.to_dict()),
        llm.to_json(),
        str(llm.model_dump()),
        llm.model_dump_json(),
        repr(llm),
        str(llm),
        repr(llm.client),
    ]
    if hasattr(llm, "to_payload"):  # newer 0.14.x releases only
        texts.append(str(llm.to_payload()))
    for text in texts:
        assert SECRET not in text
    assert "api_key" not in llm.to_dict()
    assert SECRET.encode() not in pickle.dumps(llm)
    # The key still works where it was given.
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET


def test_saved_state_round_trips_and_reads_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    llm = ParallelLLM(model="lite", api_key=SECRET, base_url="https://example.test", timeout=42)
    monkeypatch.setenv("PARALLEL_API_KEY", "sk-from-env")
    restored = ParallelLLM.from_dict(llm.to_dict())
    assert (restored.model, restored.base_url, restored.timeout) == ("lite", llm.base_url, 42)
    unpickled = pickle.loads(pickle.dumps(llm))
    for copy_ in (restored, unpickled):
        assert copy_.client.config.require_key() == "sk-from-env"


def test_copies_get_their_own_client() -> None:
    llm = ParallelLLM(api_key=SECRET)
    assert copy.deepcopy(llm).client is not llm.client
    assert llm.model_copy(update={"model": "core"}).client is llm.client, "only the model differs"


def test_invalid_options_raise_input_error_naming_the_option() -> None:
    for options, name in [
        ({"auth_header": "basic"}, "auth_header"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout": 0}, "timeout"),
        ({"base_url": "ftp://example.test"}, "base_url"),
        ({"model": " "}, "model"),
        ({"extra_headers": {"Authorization": "Bearer x"}}, "api_key"),
    ]:
        with pytest.raises(parallel_adapters.InputError, match=name):
            ParallelLLM(api_key=SECRET, **options)


def test_invalid_option_error_does_not_echo_the_key() -> None:
    with pytest.raises(parallel_adapters.InputError) as raised:
        ParallelLLM(api_key=SECRET, max_retries="many")
    assert SECRET not in str(raised.value)


def test_rate_limiter_is_refused_the_core_limits_requests() -> None:
    # LlamaIndex's own limiters arrived in 0.14.x, after the 0.14.0 we still support.
    limiters = pytest.importorskip("llama_index.core.rate_limiter")
    TokenBucketRateLimiter = limiters.TokenBucketRateLimiter
    with pytest.raises(parallel_adapters.InputError, match="requests_per_minute"):
        ParallelLLM(api_key=SECRET, rate_limiter=TokenBucketRateLimiter(requests_per_minute=10))


def test_missing_key_fails_at_the_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    llm = ParallelLLM(base_url="http://127.0.0.1:9")  # construction needs no key
    with pytest.raises(parallel_adapters.MissingAPIKeyError, match="PARALLEL_API_KEY"):
        llm.complete(QUESTION)


# -- server errors: the core's typed errors, one retry layer ---------------------------------


@pytest.mark.vcr
def test_bad_key_is_an_authentication_error(make_llm: Callable[..., ParallelLLM]) -> None:
    llm = make_llm("base", api_key="wrong-key")
    with pytest.raises(parallel_adapters.AuthenticationError) as raised:
        llm.chat([ChatMessage(role=MessageRole.USER, content=QUESTION)])
    assert raised.value.status_code == 401
    assert "wrong-key" not in str(raised.value)


@pytest.mark.emulator_only
@pytest.mark.vcr
def test_persistent_server_error_is_retried_by_the_core_only(
    make_llm: Callable[..., ParallelLLM], wire: Wire
) -> None:
    llm = make_llm("base", max_retries=2, extra_headers={"x-emulator-fault": "500"})
    with pytest.raises(parallel_adapters.ServerError) as raised:
        llm.complete(QUESTION)
    assert raised.value.status_code == 500
    assert raised.value.message, "the server's message is kept"
    assert len(wire()) == 3, "1 attempt + max_retries, nothing more"


@pytest.mark.emulator_only
@pytest.mark.vcr
def test_transient_429_then_success_makes_exactly_two_requests(
    make_llm: Callable[..., ParallelLLM], backend: Backend, wire: Wire
) -> None:
    backend.inject("429")
    response = make_llm("base").complete(QUESTION)
    assert "Paris" in response.text
    assert len(wire()) == 2


@pytest.mark.emulator_only
@pytest.mark.vcr
def test_rate_limit_error_keeps_its_type(make_llm: Callable[..., ParallelLLM]) -> None:
    llm = make_llm("base", max_retries=0, extra_headers={"x-emulator-fault": "429"})
    with pytest.raises(parallel_adapters.RateLimitError):
        llm.complete(QUESTION)


@pytest.mark.emulator_only
@pytest.mark.vcr
def test_broken_stream_raises_stream_error_with_the_partial_text(
    make_llm: Callable[..., ParallelLLM], wire: Wire
) -> None:
    llm = make_llm("base", extra_headers={"x-emulator-fault": "error-mid-stream;after_chunks=4"})
    received: list[str] = []

    def read() -> None:
        for chunk in llm.stream_complete(QUESTION):
            received.append(chunk.delta or "")

    with pytest.raises(parallel_adapters.StreamError) as raised:
        read()
    assert "".join(received), "text arrived before the break"
    assert raised.value.partial_text == "".join(received)
    assert len(wire()) == 1, "a stream is not retried once text has reached the caller"


@pytest.mark.emulator_only
@pytest.mark.vcr
async def test_async_broken_stream_raises_stream_error(
    make_llm: Callable[..., ParallelLLM],
) -> None:
    llm = make_llm("base", extra_headers={"x-emulator-fault": "error-mid-stream;after_chunks=3"})
    stream = await llm.astream_chat([ChatMessage(role=MessageRole.USER, content=QUESTION)])
    with pytest.raises(parallel_adapters.StreamError) as raised:
        async for _ in stream:
            pass
    assert raised.value.partial_text


def test_the_client_is_a_parallel_chat_sharing_the_llms_connection(
    emulator: ParallelEmulator,
) -> None:
    llm = ParallelLLM(
        model="lite", api_key="test-key", base_url=emulator.base_url, requests_per_minute=None
    )
    assert isinstance(llm.client, parallel_adapters.ParallelChat)
    answers = llm.client.map(["What is DSPy?", "What is LlamaIndex?"], model=llm.model)
    assert all(answer.citations for answer in answers)  # lite: answers with a basis
    assert [r.json["model"] for r in emulator.requests[-2:]] == ["lite", "lite"]
