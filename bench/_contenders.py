"""What is measured: each contender as users would write it, built lazily.

Every builder imports its framework inside, so importing `bench` needs none of them.
The client-side limiter of the kit is off (`requests_per_minute=None`) in these
scenarios: the raw SDK and the peers have none, and it would only add waits.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Literal

from bench._emulator import Endpoint

# Off the emulator's corpus on purpose: every contender gets the same short answer
# ("I could not find information about this ..."), whatever its prompt looks like.
QUESTION = "What is the airspeed velocity of an unladen swallow?"
MODEL = "speed"
SIGNATURE = "question -> answer"

Kind = Literal["floor", "kit", "peer"]
SyncCall = Callable[[], object]
TTFTCall = Callable[[], tuple[float, float]]
AsyncCall = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    kind: Kind
    build: Callable[[Endpoint], Any]


def offline_env() -> None:
    """Keep the peers off the network: DSPy and LiteLLM fetch a model price map otherwise."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "true")
    os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")


def _check(text: object) -> object:
    if not isinstance(text, str) or not text:
        raise RuntimeError(f"a contender returned no text: {text!r}")
    return text


def use_default_chat(endpoint: Endpoint) -> None:
    """Point `parallel_adapters.complete()` & co. at the emulator with the limiter off."""
    import parallel_adapters

    parallel_adapters.configure(
        api_key=endpoint.api_key, base_url=endpoint.base_url, requests_per_minute=None
    )


def _dspy() -> Any:
    """DSPy ships no type information; one import site keeps mypy quiet about it."""
    import dspy  # type: ignore[import-untyped]

    return dspy


def _openai_messages() -> list[Any]:
    return [{"role": "user", "content": QUESTION}]


def _llama_messages() -> list[Any]:
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", content=QUESTION)]


def _parallel_llm(endpoint: Endpoint) -> Any:
    from parallel_adapters.llama_index import ParallelLLM

    return ParallelLLM(
        model=MODEL,
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        requests_per_minute=None,
    )


def _openai_like(endpoint: Endpoint) -> Any:
    from llama_index.llms.openai_like import OpenAILike  # type: ignore[import-untyped]

    return OpenAILike(
        model=MODEL, api_base=endpoint.base_url, api_key=endpoint.api_key, is_chat_model=True
    )


def _parallel_lm(endpoint: Endpoint) -> Any:
    from parallel_adapters.dspy import ParallelLM

    return ParallelLM(
        MODEL,
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        requests_per_minute=None,
        cache=False,
    )


def _dspy_lm(endpoint: Endpoint) -> Any:
    dspy = _dspy()

    return dspy.LM(
        f"openai/{MODEL}", api_base=endpoint.base_url, api_key=endpoint.api_key, cache=False
    )


def _chat_parallel_web(endpoint: Endpoint) -> Any:
    from langchain_parallel import ChatParallelWeb
    from pydantic import SecretStr

    return ChatParallelWeb(
        api_key=SecretStr(endpoint.api_key), base_url=endpoint.base_url, model=MODEL
    )


def _predict(lm: Any) -> Callable[[], Any]:
    """`dspy.Predict` with ChatAdapter, the same signature for every DSPy contender."""
    dspy = _dspy()
    program = dspy.Predict(SIGNATURE)
    adapter = dspy.ChatAdapter()

    def call() -> Any:
        with dspy.context(lm=lm, adapter=adapter):
            return program(question=QUESTION).answer

    # One LM call per Predict, or the comparison is off (an adapter falling back to
    # JSONAdapter after a parse failure makes two).
    before = len(lm.history)
    _check(call())
    if len(lm.history) != before + 1:
        raise RuntimeError(f"one Predict made {len(lm.history) - before} LM calls, not 1")
    return call


# -- scenario 1: one non-streaming call ----------------------------------------------------


def _raw_create(endpoint: Endpoint) -> SyncCall:
    import openai

    client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    messages = _openai_messages()

    def call() -> object:
        response = client.chat.completions.create(model=MODEL, messages=messages)
        return _check(response.choices[0].message.content)

    return call


def _complete(endpoint: Endpoint) -> SyncCall:
    import parallel_adapters

    use_default_chat(endpoint)
    return lambda: _check(parallel_adapters.complete(QUESTION).text)


def _llm_chat(endpoint: Endpoint) -> SyncCall:
    llm, messages = _parallel_llm(endpoint), _llama_messages()
    return lambda: _check(llm.chat(messages).message.content)


def _openai_like_chat(endpoint: Endpoint) -> SyncCall:
    llm, messages = _openai_like(endpoint), _llama_messages()
    return lambda: _check(llm.chat(messages).message.content)


def _predict_parallel_lm(endpoint: Endpoint) -> SyncCall:
    predict = _predict(_parallel_lm(endpoint))
    return lambda: _check(predict())


def _predict_dspy_lm(endpoint: Endpoint) -> SyncCall:
    predict = _predict(_dspy_lm(endpoint))
    return lambda: _check(predict())


def _langchain_invoke(endpoint: Endpoint) -> SyncCall:
    chat = _chat_parallel_web(endpoint)
    return lambda: _check(chat.invoke(QUESTION).content)


OVERHEAD = [
    Contender("openai", "openai `chat.completions.create` (floor)", "floor", _raw_create),
    Contender("complete", "`parallel_adapters.complete`", "kit", _complete),
    Contender("parallel_llm", "`ParallelLLM.chat`", "kit", _llm_chat),
    Contender("openai_like", "LlamaIndex `OpenAILike.chat`", "peer", _openai_like_chat),
    Contender("parallel_lm", "`dspy.Predict` on `ParallelLM`", "kit", _predict_parallel_lm),
    Contender("dspy_lm", '`dspy.Predict` on `dspy.LM("openai/speed")`', "peer", _predict_dspy_lm),
    Contender("langchain", "LangChain `ChatParallelWeb.invoke`", "peer", _langchain_invoke),
]


# -- scenario 6: one non-streaming call on the Responses API ---------------------------------
# The same emulator serves `/v1/responses`; effort low, so both sides send the same body.


def _raw_responses_create(endpoint: Endpoint) -> SyncCall:
    import openai

    client = openai.OpenAI(base_url=f"{endpoint.base_url}/v1", api_key=endpoint.api_key)

    def call() -> object:
        response = client.responses.create(
            model="parallel", input=QUESTION, reasoning={"effort": "low"}
        )
        return _check(response.output_text)

    return call


def _complete_parallel(endpoint: Endpoint) -> SyncCall:
    import parallel_adapters

    use_default_chat(endpoint)
    return lambda: _check(parallel_adapters.complete(QUESTION, model="parallel-low").text)


def _llm_chat_parallel(endpoint: Endpoint) -> SyncCall:
    from parallel_adapters.llama_index import ParallelLLM

    llm = ParallelLLM(
        model="parallel-low",
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        requests_per_minute=None,
    )
    messages = _llama_messages()
    return lambda: _check(llm.chat(messages).message.content)


def _litellm_responses(endpoint: Endpoint) -> SyncCall:
    """LiteLLM's Responses bridge: the peer a LiteLLM user would reach for."""
    import litellm  # type: ignore[import-untyped]

    def call() -> object:
        response = litellm.responses(
            model="openai/parallel",
            input=QUESTION,
            reasoning={"effort": "low"},
            api_base=f"{endpoint.base_url}/v1",
            api_key=endpoint.api_key,
        )
        # LiteLLM's response object has no `output_text` (the SDK's convenience property).
        return _check(
            "".join(
                part.text
                for item in response.output
                if item.type == "message"
                for part in item.content
                if part.type == "output_text"
            )
        )

    return call


def _predict_parallel_lm_responses(endpoint: Endpoint) -> SyncCall:
    from parallel_adapters.dspy import ParallelLM

    lm = ParallelLM(
        "parallel-low",
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        requests_per_minute=None,
        cache=False,
    )
    predict = _predict(lm)
    return lambda: _check(predict())


def _predict_dspy_lm_responses(endpoint: Endpoint) -> SyncCall:
    lm = _dspy().LM(
        "openai/parallel",
        model_type="responses",
        api_base=f"{endpoint.base_url}/v1",
        api_key=endpoint.api_key,
        reasoning={"effort": "low"},
        cache=False,
    )
    predict = _predict(lm)
    return lambda: _check(predict())


RESPONSES = [
    Contender("openai", "openai `responses.create` (floor)", "floor", _raw_responses_create),
    Contender(
        "complete", '`parallel_adapters.complete(model="parallel-low")`', "kit", _complete_parallel
    ),
    Contender(
        "parallel_llm", '`ParallelLLM(model="parallel-low").chat`', "kit", _llm_chat_parallel
    ),
    Contender("litellm", "LiteLLM `litellm.responses`", "peer", _litellm_responses),
    Contender(
        "parallel_lm",
        '`dspy.Predict` on `ParallelLM("parallel-low")`',
        "kit",
        _predict_parallel_lm_responses,
    ),
    Contender(
        "dspy_lm",
        '`dspy.Predict` on `dspy.LM("openai/parallel", model_type="responses")`',
        "peer",
        _predict_dspy_lm_responses,
    ),
]


# -- scenario 2: time to the first delta of a stream ---------------------------------------
# Each call reads the stream to its end (so connections are reused as in real use) and
# returns (start, first): perf_counter() at the call and at the first non-empty delta.


def _raw_stream(endpoint: Endpoint) -> TTFTCall:
    import openai

    client = openai.OpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    messages = _openai_messages()

    def call() -> tuple[float, float]:
        first = 0.0
        start = perf_counter()
        stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True)
        for chunk in stream:
            if not first and chunk.choices and chunk.choices[0].delta.content:
                first = perf_counter()
        return start, first

    return call


def _kit_stream(endpoint: Endpoint) -> TTFTCall:
    import parallel_adapters

    use_default_chat(endpoint)

    def call() -> tuple[float, float]:
        first = 0.0
        start = perf_counter()
        with parallel_adapters.stream(QUESTION) as stream:
            for part in stream:
                if not first and part.delta:
                    first = perf_counter()
        return start, first

    return call


def _llama_stream(llm: Any) -> TTFTCall:
    messages = _llama_messages()

    def call() -> tuple[float, float]:
        first = 0.0
        start = perf_counter()
        for response in llm.stream_chat(messages):
            if not first and response.delta:
                first = perf_counter()
        return start, first

    return call


def _llm_stream(endpoint: Endpoint) -> TTFTCall:
    return _llama_stream(_parallel_llm(endpoint))


def _openai_like_stream(endpoint: Endpoint) -> TTFTCall:
    return _llama_stream(_openai_like(endpoint))


def _dspy_stream(lm: Any) -> TTFTCall:
    """`dspy.streamify(Predict)` as a sync generator; its first chunk is the first delta."""
    dspy = _dspy()
    status_message = dspy.streaming.StatusMessage

    program = dspy.streamify(dspy.Predict(SIGNATURE), async_streaming=False)
    adapter = dspy.ChatAdapter()

    def call() -> tuple[float, float]:
        first = 0.0
        with dspy.context(lm=lm, adapter=adapter):
            start = perf_counter()
            for chunk in program(question=QUESTION):
                if not first and not isinstance(chunk, (dspy.Prediction, status_message)):
                    first = perf_counter()
        return start, first

    return call


def _parallel_lm_stream(endpoint: Endpoint) -> TTFTCall:
    return _dspy_stream(_parallel_lm(endpoint))


def _dspy_lm_stream(endpoint: Endpoint) -> TTFTCall:
    return _dspy_stream(_dspy_lm(endpoint))


def _langchain_stream(endpoint: Endpoint) -> TTFTCall:
    chat = _chat_parallel_web(endpoint)

    def call() -> tuple[float, float]:
        first = 0.0
        start = perf_counter()
        for chunk in chat.stream(QUESTION):
            if not first and chunk.content:
                first = perf_counter()
        return start, first

    return call


STREAMING = [
    Contender("openai", "openai `create(stream=True)` (floor)", "floor", _raw_stream),
    Contender("stream", "`parallel_adapters.stream`", "kit", _kit_stream),
    Contender("parallel_llm", "`ParallelLLM.stream_chat`", "kit", _llm_stream),
    Contender("openai_like", "LlamaIndex `OpenAILike.stream_chat`", "peer", _openai_like_stream),
    Contender(
        "parallel_lm", "`dspy.streamify(Predict)` on `ParallelLM`", "kit", _parallel_lm_stream
    ),
    Contender(
        "dspy_lm", '`dspy.streamify(Predict)` on `dspy.LM("openai/speed")`', "peer", _dspy_lm_stream
    ),
    Contender("langchain", "LangChain `ChatParallelWeb.stream`", "peer", _langchain_stream),
]


# -- scenario 3: async calls -----------------------------------------------------------------
# Each builder is an async context manager entered inside the event loop of one run:
# clients are bound to a loop, so each run builds (untimed) and closes its own.


@asynccontextmanager
async def _raw_async(endpoint: Endpoint) -> AsyncIterator[AsyncCall]:
    import openai

    client = openai.AsyncOpenAI(base_url=endpoint.base_url, api_key=endpoint.api_key)
    messages = _openai_messages()

    async def call() -> object:
        response = await client.chat.completions.create(model=MODEL, messages=messages)
        return _check(response.choices[0].message.content)

    try:
        yield call
    finally:
        await client.close()


@asynccontextmanager
async def _acomplete(endpoint: Endpoint) -> AsyncIterator[AsyncCall]:
    import parallel_adapters

    use_default_chat(endpoint)

    async def call() -> object:
        return _check((await parallel_adapters.acomplete(QUESTION)).text)

    try:
        yield call
    finally:
        await parallel_adapters.default_chat().aclose()


@asynccontextmanager
async def _achat(endpoint: Endpoint) -> AsyncIterator[AsyncCall]:
    llm, messages = _parallel_llm(endpoint), _llama_messages()

    async def call() -> object:
        return _check((await llm.achat(messages)).message.content)

    try:
        yield call
    finally:
        await llm.client.aclose()


@asynccontextmanager
async def _lm_acall(endpoint: Endpoint) -> AsyncIterator[AsyncCall]:
    lm = _parallel_lm(endpoint)

    async def call() -> object:
        # ParallelLM answers `[{"text": ..., "citations": [...]}]`, as dspy.LM does with citations.
        return _check((await lm.acall(QUESTION))[0]["text"])

    try:
        yield call
    finally:
        await lm.engine.client.aclose()


AsyncBuilder = Callable[[Endpoint], AbstractAsyncContextManager[AsyncCall]]

THROUGHPUT = [
    Contender("openai", "openai `AsyncOpenAI` (floor)", "floor", _raw_async),
    Contender("acomplete", "`parallel_adapters.acomplete`", "kit", _acomplete),
    Contender("parallel_llm", "`ParallelLLM.achat`", "kit", _achat),
    Contender("parallel_lm", "`ParallelLM.acall`", "kit", _lm_acall),
]


# -- scenario 10: what OpenTelemetry tracing adds to `complete()` -------------------------------
# One process, one client, three ways of finding a tracer, swapped before each call so the
# three contenders interleave like every other scenario's: the kit's span hook switched off
# (the floor), the OpenTelemetry API imported with no provider set (what most users have),
# and the SDK with an in-memory exporter (a span recorded and exported on every call).


_TRACING_ORIGINALS: dict[str, tuple[Any, Any]] = {}


def _traced_complete(endpoint: Endpoint, mode: Literal["off", "no_provider", "sdk"]) -> SyncCall:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import parallel_adapters
    from parallel_adapters._core import _tracing

    use_default_chat(endpoint)
    # The originals, saved before any contender's call swaps them.
    real_lookup, real_provider = _TRACING_ORIGINALS.setdefault(
        "hooks", (_tracing._recording_tracer, trace.get_tracer_provider)
    )
    assert isinstance(real_provider(), trace.ProxyTracerProvider), "a provider is already set"
    exporter = InMemorySpanExporter()
    sdk = TracerProvider()
    sdk.add_span_processor(SimpleSpanProcessor(exporter))
    lookup = (lambda: None) if mode == "off" else real_lookup
    provider = (lambda: sdk) if mode == "sdk" else real_provider

    def use_mode() -> None:
        _tracing._recording_tracer = lookup  # type: ignore[assignment]
        trace.get_tracer_provider = provider  # type: ignore[assignment]
        # Spans kept in memory are the exporter's job; bound them between calls.
        if mode == "sdk" and len(exporter._finished_spans) >= 1000:
            exporter.clear()

    def call() -> object:
        use_mode()
        text = parallel_adapters.complete(QUESTION).text
        if mode == "sdk" and not exporter._finished_spans:
            raise RuntimeError("the SDK recorded no span")
        return _check(text)

    call.use_mode = use_mode  # type: ignore[attr-defined]
    return call


TRACING = [
    Contender(
        "off",
        "`complete()`, the span hook switched off (floor)",
        "floor",
        lambda e: _traced_complete(e, "off"),
    ),
    Contender(
        "no_provider",
        "`complete()`, OpenTelemetry API imported, no provider",
        "kit",
        lambda e: _traced_complete(e, "no_provider"),
    ),
    Contender(
        "sdk",
        "`complete()`, SDK + in-memory exporter",
        "kit",
        lambda e: _traced_complete(e, "sdk"),
    ),
]
