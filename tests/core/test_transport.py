"""The transport against the local emulator: answers, streams, retries and typed errors.

Request counts come from the emulator's own log, so "retried once" means one more HTTP
request really reached the server.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core import ChatRequest
from parallel_adapters.testing import ParallelEmulator

FAST_RETRIES = {"retry_initial_delay": 0.01, "retry_max_delay": 0.02}


def _chat(emulator: ParallelEmulator, **options: Any) -> pa.ParallelChat:
    options = {**FAST_RETRIES, "requests_per_minute": None, **options}
    return pa.ParallelChat(base_url=emulator.base_url, api_key="test-key", **options)


def _chat_requests(emulator: ParallelEmulator) -> int:
    return sum(1 for entry in emulator.requests if entry.path.endswith("/chat/completions"))


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_research_answer_with_basis_in_both_profiles(
    emulator: ParallelEmulator, profile: Any
) -> None:
    emulator.profile = profile
    completion = _chat(emulator, model="base")("What does Parallel Web Systems do?")
    assert completion.text
    assert completion.model == "base"
    assert completion.interaction_id
    assert completion.basis
    assert completion.citations
    assert all(c.url.startswith("http") for c in completion.citations)
    # The answer is grounded: its text comes from the cited excerpts.
    excerpts = " ".join(e for c in completion.citations for e in c.excerpts)
    assert completion.text.split(".")[0] in excerpts
    if profile == "openai":
        assert completion.id
        assert completion.finish_reason == "stop"
        assert completion.usage
    else:
        assert completion.id is None
        assert completion.finish_reason is None
        assert completion.usage is None


def test_speed_has_no_basis(emulator: ParallelEmulator) -> None:
    completion = _chat(emulator)("What does Parallel Web Systems do?")
    assert completion.text
    assert completion.basis == []
    assert completion.citations == []


def test_what_reaches_the_wire(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="lite", auth_header="x-api-key")
    chat([("system", "Be brief."), ("human", "Hi"), ("human", "there")], temperature=0.3)
    (entry,) = emulator.requests
    assert entry.json == {
        "model": "lite",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi\n\nthere"},
        ],
    }
    assert entry.headers["user-agent"].startswith("parallel-adapters/")
    assert "authorization" not in entry.headers
    assert "x-api-key" not in entry.headers  # accepted by the server, kept out of its log


def test_previous_interaction_id_links_turns(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="base")
    first = chat("Who founded Parallel Web Systems?")
    chat("Where is it based?", previous_interaction_id=first.interaction_id)
    assert emulator.requests[-1].json["previous_interaction_id"] == first.interaction_id


def test_structured_output_parses_into_the_model(emulator: ParallelEmulator) -> None:
    from pydantic import BaseModel

    class Company(BaseModel):
        name: str
        summary: str

    completion = _chat(emulator, model="base")(
        "What is Parallel Web Systems?", response_format=Company
    )
    assert isinstance(completion.parsed, Company)
    assert {b.field for b in completion.basis} == {"name", "summary"}
    wire = emulator.requests[-1].json["response_format"]
    assert wire["type"] == "json_schema"
    assert wire["json_schema"]["name"] == "Company"


# -- retries: exactly the expected number of HTTP requests -----------------------------


@pytest.mark.parametrize(
    "fault",
    [
        "429",
        "429-retry-after;retry_after=0.05",
        "500",
        "502",
        "503",
        "disconnect-before-first-byte",
        "malformed-json",
    ],
)
def test_a_transient_fault_is_retried_once_then_succeeds(
    emulator: ParallelEmulator, fault: str
) -> None:
    emulator.inject(fault)
    completion = _chat(emulator)("hello")
    assert completion.text
    assert _chat_requests(emulator) == 2


@pytest.mark.parametrize(
    ("fault", "error", "status", "message"),
    [
        ("429", pa.RateLimitError, 429, "Too many requests"),
        ("500", pa.ServerError, 500, None),
        ("502", pa.ServerError, 502, None),
        ("503", pa.ServerError, 503, None),
        ("disconnect-before-first-byte", pa.APIConnectionError, None, "connection"),
        ("malformed-json", pa.ServerError, None, "malformed JSON"),
    ],
)
def test_a_persistent_transient_fault_gives_up_after_max_retries(
    emulator: ParallelEmulator,
    fault: str,
    error: type[Exception],
    status: int | None,
    message: str | None,
) -> None:
    chat = _chat(emulator, max_retries=2, extra_headers={"x-emulator-fault": fault})
    with pytest.raises(error, match=message) as caught:
        chat("hello")
    assert getattr(caught.value, "status_code", None) == status
    assert caught.value.__cause__ is not None  # the original error is chained
    assert _chat_requests(emulator) == 3


@pytest.mark.parametrize(
    ("fault", "error", "status", "message"),
    [
        ("envelope-openai;status=400", pa.BadRequestError, 400, ""),
        ("envelope-fastapi", pa.UnprocessableRequestError, 422, ""),
        ("envelope-parallel", pa.PaymentRequiredError, 402, ""),
        ("401", pa.AuthenticationError, 401, ""),
        ("403", pa.PermissionDeniedError, 403, ""),
        ("404", pa.NotFoundError, 404, ""),
    ],
)
def test_a_permanent_error_is_typed_and_never_retried(
    emulator: ParallelEmulator, fault: str, error: type[Exception], status: int, message: str
) -> None:
    emulator.inject(fault)
    with pytest.raises(error) as caught:
        _chat(emulator)("hello")
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    assert caught.value.message  # type: ignore[attr-defined]
    assert not caught.value.message.startswith("the server answered")  # type: ignore[attr-defined]
    assert _chat_requests(emulator) == 1


def test_fastapi_detail_reaches_the_error(emulator: ParallelEmulator) -> None:
    emulator.inject("envelope-fastapi")
    with pytest.raises(pa.UnprocessableRequestError) as caught:
        _chat(emulator)("hello")
    assert caught.value.detail
    assert caught.value.detail[0]["msg"] in str(caught.value)


def test_wrong_key_and_unknown_model(emulator: ParallelEmulator) -> None:
    with pytest.raises(pa.AuthenticationError):
        pa.ParallelChat(base_url=emulator.base_url, api_key="wrong", requests_per_minute=None)("x")
    with pytest.raises(pa.PermissionDeniedError, match="invalid model"):
        _chat(emulator).send(
            ChatRequest(body={"model": "ultra", "messages": [{"role": "user", "content": "x"}]})
        )
    assert _chat_requests(emulator) == 2


def test_retry_after_is_honoured_and_a_long_one_is_not_slept_through(
    emulator: ParallelEmulator,
) -> None:
    import time

    emulator.inject("429-retry-after;retry_after=0.3")
    start = time.perf_counter()
    _chat(emulator)("hello")
    assert time.perf_counter() - start >= 0.3

    emulator.inject("429-retry-after;retry_after=120")
    with pytest.raises(pa.RateLimitError) as caught:
        _chat(emulator)("hello")
    assert caught.value.retry_after == pytest.approx(120)


def test_a_stall_past_the_timeout_is_a_timeout_and_not_retried(
    emulator: ParallelEmulator,
) -> None:
    # The server may still finish, and bill, a request we stopped waiting for.
    emulator.stall_seconds = 5
    chat = _chat(emulator, timeout=0.3, max_retries=1, extra_headers={"x-emulator-fault": "stall"})
    with pytest.raises(pa.APITimeoutError):
        chat("hello")
    assert _chat_requests(emulator) == 1


def test_retry_timeouts_opts_in_to_retrying_a_timeout(emulator: ParallelEmulator) -> None:
    emulator.stall_seconds = 5
    chat = _chat(
        emulator,
        timeout=0.3,
        max_retries=1,
        retry_timeouts=True,
        extra_headers={"x-emulator-fault": "stall"},
    )
    with pytest.raises(pa.APITimeoutError):
        chat("hello")
    assert _chat_requests(emulator) == 2


def test_max_retries_zero_sends_one_request(emulator: ParallelEmulator) -> None:
    emulator.inject("503")
    with pytest.raises(pa.ServerError):
        _chat(emulator, max_retries=0)("hello")
    assert _chat_requests(emulator) == 1


# -- streams ---------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["documented", "openai"])
def test_stream_yields_pieces_then_the_whole_answer_with_basis(
    emulator: ParallelEmulator, profile: Any
) -> None:
    emulator.profile = profile
    chat = _chat(emulator, model="base")
    whole = chat("What does Parallel Web Systems do?")
    stream = chat.stream("What does Parallel Web Systems do?")
    with pytest.raises(RuntimeError):
        _ = stream.completion
    parts = [part.delta for part in stream]
    assert len(parts) > 1
    assert "".join(parts) == whole.text == stream.completion.text
    assert stream.completion.basis == whole.basis
    assert stream.completion.interaction_id


@pytest.mark.parametrize("fault", ["keepalive-comments", "no-done"])
def test_stream_tolerates_comments_and_a_missing_done(
    emulator: ParallelEmulator, fault: str
) -> None:
    chat = _chat(emulator, model="lite")
    expected = chat("What is DSPy?").text
    emulator.inject(fault)
    assert chat.stream("What is DSPy?").collect().text == expected


@pytest.mark.parametrize(
    "fault", ["disconnect-before-first-byte", "503", "429-retry-after;retry_after=0.01"]
)
def test_stream_is_retried_before_its_first_piece(emulator: ParallelEmulator, fault: str) -> None:
    emulator.inject(fault)
    completion = _chat(emulator, model="lite").stream("What is DSPy?").collect()
    assert completion.text
    assert _chat_requests(emulator) == 2


@pytest.mark.parametrize(
    "fault",
    [
        "disconnect-mid-stream;after_chunks=3",
        "error-mid-stream;after_chunks=3",
        "malformed-json;after_chunks=3",
    ],
)
def test_a_broken_stream_raises_with_the_partial_text_and_is_not_retried(
    emulator: ParallelEmulator, fault: str
) -> None:
    chat = _chat(emulator, model="lite")
    whole = chat("What is DSPy?").text
    emulator.reset()
    emulator.inject(fault)
    stream = chat.stream("What is DSPy?")
    received: list[str] = []

    def read_all() -> None:
        received.extend(part.delta for part in stream)

    with pytest.raises(pa.StreamError) as caught:
        read_all()
    assert received
    assert caught.value.partial_text == "".join(received)
    assert whole.startswith(caught.value.partial_text)
    assert len(caught.value.partial_text) < len(whole)
    with pytest.raises(RuntimeError):
        _ = stream.completion  # never a whole answer
    assert _chat_requests(emulator) == 1


def test_closing_a_stream_early_releases_it(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="lite")
    with chat.stream("What is DSPy?") as stream:
        first = next(iter(stream))
    assert first.delta
    assert chat("What is DSPy?").text  # the client is still usable


# -- async and threads -----------------------------------------------------------------


def test_async_complete_and_stream(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="base")

    async def main() -> tuple[pa.Completion, list[str], pa.Completion]:
        completion = await chat.acomplete("What is LlamaIndex?")
        stream = chat.astream("What is LlamaIndex?")
        parts = [part.delta async for part in stream]
        return completion, parts, stream.completion

    completion, parts, streamed = asyncio.run(main())
    assert "".join(parts) == completion.text == streamed.text
    assert streamed.basis == completion.basis


def test_asyncio_run_twice_with_one_client(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator)
    first = asyncio.run(chat.acomplete("What is DSPy?"))
    second = asyncio.run(chat.acomplete("What is DSPy?"))
    assert first.text == second.text


def test_async_retry_and_broken_stream(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, model="lite")

    async def main() -> None:
        emulator.inject("500")
        assert (await chat.acomplete("What is DSPy?")).text
        emulator.inject("disconnect-mid-stream;after_chunks=3")
        with pytest.raises(pa.StreamError) as caught:
            async for _ in chat.astream("What is DSPy?"):
                pass
        assert caught.value.partial_text

    asyncio.run(main())
    assert _chat_requests(emulator) == 3


def test_map_keeps_input_order_across_threads(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator)
    questions = [f"Question number {i} about HTTP" for i in range(24)]
    answers = chat.map(questions, concurrency=8)
    assert len(answers) == 24
    logged = [entry.json["messages"][0]["content"] for entry in emulator.requests]
    assert sorted(logged) == sorted(questions)
    singles = [chat(q).text for q in questions[:3]]
    assert [a.text for a in answers[:3]] == singles


def test_map_return_exceptions_and_fail_fast(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator, max_retries=0)
    emulator.inject("401")
    results = chat.map(["a", "b", "c"], concurrency=1, return_exceptions=True)
    assert isinstance(results[0], pa.AuthenticationError)
    assert all(isinstance(r, pa.Completion) for r in results[1:])
    emulator.inject("401")
    with pytest.raises(pa.BatchError) as caught:
        chat.map(["a", "b", "c"], concurrency=1)
    assert isinstance(caught.value.__cause__, pa.AuthenticationError)
    assert isinstance(caught.value.results[0], pa.AuthenticationError)
    assert caught.value.results[1:] == [None, None]


def test_map_validates_everything_before_sending(emulator: ParallelEmulator) -> None:
    with pytest.raises(pa.InputError):
        _chat(emulator).map(["fine", [("wizard", "bad role")]])
    with pytest.raises(pa.InputError):
        _chat(emulator).map(["fine"], concurrency=0)
    assert _chat_requests(emulator) == 0


def test_amap_keeps_input_order(emulator: ParallelEmulator) -> None:
    chat = _chat(emulator)
    questions = [f"Tell me about topic {i}" for i in range(30)]
    answers = asyncio.run(chat.amap(questions, concurrency=10))
    singles = {q: chat(q).text for q in questions[:5]}
    assert [a.text for a in answers[:5]] == [singles[q] for q in questions[:5]]


def test_client_side_limiter_keeps_under_the_server_limit(emulator: ParallelEmulator) -> None:
    emulator.rate_limit = (5, 0.5)
    chat = _chat(emulator, max_retries=0, requests_per_minute=600, rate_limit_window=0.5)
    results = chat.map([f"q{i}" for i in range(12)], concurrency=6, return_exceptions=True)
    assert not [r for r in results if isinstance(r, Exception)]
