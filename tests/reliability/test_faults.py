"""Every fault the emulator can inject, through each adapter, streaming and not.

- a transient fault, once: retried, then the whole answer, with exactly two HTTP requests;
- the same fault on every request: the core's typed error with status and message, after
  exactly `max_retries + 1` requests (one for a permanent error);
- a stream broken after its first text: `StreamError` with that partial text, one
  request, and never a whole answer;
- whatever happened, once the client is closed no socket is left open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import testing

from .conftest import FAST, QUESTION, SENTINEL_KEY, chat_requests, open_fds, record, settle_fds

MAX_RETRIES = 2
TIMEOUT = 0.3  # the client's; stalls last 0.6 s (the emulator's stall_seconds here)


# -- the three adapters, each driven the way a user drives it -------------------------------


@dataclass
class Run:
    """One call through one adapter: the caller-visible deltas, then the answer text."""

    received: list[str]
    close: Callable[[], None]


Driver = Callable[[testing.ParallelEmulator, Run, dict[str, Any]], str]


def _options(emulator: testing.ParallelEmulator, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "api_key": SENTINEL_KEY,
        "base_url": emulator.base_url,
        "timeout": TIMEOUT,
        "max_retries": MAX_RETRIES,
        **FAST,
        **options,
    }


def plain(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    chat = pa.ParallelChat(model="lite", **_options(emulator, options))
    run.close = chat.close
    return chat(QUESTION).text


def plain_stream(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    chat = pa.ParallelChat(model="lite", **_options(emulator, options))
    run.close = chat.close
    with chat.stream(QUESTION) as stream:
        for part in stream:
            run.received.append(part.delta)
    return stream.completion.text


def plain_astream(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    chat = pa.ParallelChat(model="lite", **_options(emulator, options))
    run.close = chat.close

    async def main() -> str:
        try:
            stream = chat.astream(QUESTION)
            async for part in stream:
                run.received.append(part.delta)
            return stream.completion.text
        finally:
            assert asyncio.all_tasks() == {asyncio.current_task()}, "a task was left behind"

    return asyncio.run(main())


def llama(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    from llama_index.core.llms import ChatMessage

    from parallel_adapters.llama_index import ParallelLLM

    llm = ParallelLLM(model="lite", **_options(emulator, options))
    run.close = llm.client.close
    return str(llm.chat([ChatMessage(role="user", content=QUESTION)]).message.content)


def llama_stream(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    from llama_index.core.llms import ChatMessage

    from parallel_adapters.llama_index import ParallelLLM

    llm = ParallelLLM(model="lite", **_options(emulator, options))
    run.close = llm.client.close
    last = None
    for last in llm.stream_chat([ChatMessage(role="user", content=QUESTION)]):
        if last.delta:
            run.received.append(last.delta)
    assert last is not None
    return str(last.message.content)


def dspy_lm(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    from parallel_adapters.dspy import ParallelLM

    lm = ParallelLM("lite", cache=False, **_options(emulator, options))
    run.close = lm.engine.close
    output = lm(QUESTION)[0]
    return str(output["text"] if isinstance(output, dict) else output)


def dspy_stream(emulator: testing.ParallelEmulator, run: Run, options: dict[str, Any]) -> str:
    import dspy
    from dspy.streaming import StreamListener, StreamResponse

    from parallel_adapters.dspy import ParallelLM

    lm = ParallelLM("lite", cache=False, **_options(emulator, options))
    run.close = lm.engine.close
    program = dspy.streamify(
        dspy.Predict("question -> answer"),
        stream_listeners=[StreamListener(signature_field_name="answer")],
        is_async_program=True,
    )

    async def main() -> str:
        prediction = None
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            async for value in program(question=QUESTION):
                if isinstance(value, StreamResponse):
                    run.received.append(value.chunk)
                elif isinstance(value, dspy.Prediction):
                    prediction = value
        assert prediction is not None, "the stream ended without a prediction"
        return str(prediction.answer)

    return asyncio.run(main())


DRIVERS: dict[str, Driver] = {
    "plain": plain,
    "plain-stream": plain_stream,
    "plain-astream": plain_astream,
    "llama_index": llama,
    "llama_index-stream": llama_stream,
    "dspy": dspy_lm,
    "dspy-stream": dspy_stream,
}
STREAMING = {name for name in DRIVERS if name.endswith("stream")}


def _call(
    emulator: testing.ParallelEmulator, driver: str, **options: Any
) -> tuple[Run, str | BaseException]:
    """Run one call; the result or the exception, with the client closed either way."""
    run = Run(received=[], close=lambda: None)
    try:
        outcome: str | BaseException = DRIVERS[driver](emulator, run, options)
    except Exception as exc:
        outcome = exc
    finally:
        run.close()
    return run, outcome


@pytest.fixture(scope="module")
def fd_baseline(reliability_emulator: testing.ParallelEmulator) -> int:
    """Open fds with the emulator up and both frameworks imported (no disk cache)."""
    import dspy

    import parallel_adapters.llama_index  # noqa: F401

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    return settle_fds(open_fds())


@pytest.fixture
def fds_checked(emulator: testing.ParallelEmulator, fd_baseline: int) -> Any:
    """Fails the test if it leaves a descriptor open (after its clients were closed)."""
    yield
    assert settle_fds(fd_baseline) <= fd_baseline, "a connection was left open"


# -- the faults --------------------------------------------------------------------------

# Fail the request, before any answer: a retry can fix them.
TRANSIENT = [
    "429",
    "429-retry-after;retry_after=0.05",
    "500",
    "502",
    "503",
    "disconnect-before-first-byte",
    "malformed-json;after_chunks=0",
]
# A timeout: the server may still finish (and bill) the request, so it is retried only
# with retry_timeouts=True.
TIMEOUTS = ["stall"]
# Answered with an error envelope: the request itself is refused, never retried.
PERMANENT: dict[str, tuple[type[pa.ParallelError], int]] = {
    "envelope-openai;status=400": (pa.BadRequestError, 400),
    "envelope-fastapi": (pa.UnprocessableRequestError, 422),
    "envelope-parallel": (pa.PaymentRequiredError, 402),
}
PERSISTENT: dict[str, tuple[type[pa.ParallelError], int | None]] = {
    "429": (pa.RateLimitError, 429),
    "429-retry-after;retry_after=0.05": (pa.RateLimitError, 429),
    "500": (pa.ServerError, 500),
    "502": (pa.ServerError, 502),
    "503": (pa.ServerError, 503),
    "disconnect-before-first-byte": (pa.APIConnectionError, None),
    "malformed-json;after_chunks=0": (pa.ServerError, None),
    "stall": (pa.APITimeoutError, None),
}
# Break a stream after text has reached the caller.
MID_STREAM = [
    "disconnect-mid-stream;after_chunks=3",
    "error-mid-stream;after_chunks=3",
    "malformed-json;after_chunks=3",
    "stall-mid-stream;after_chunks=3",
]
# Odd but valid streams: the whole answer, unchanged.
TOLERATED = ["keepalive-comments", "no-done"]


def _baseline(emulator: testing.ParallelEmulator, driver: str) -> str:
    _run, outcome = _call(emulator, driver)
    assert isinstance(outcome, str) and outcome, outcome
    emulator.reset()
    return outcome


@pytest.mark.usefixtures("fds_checked")
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("fault", TRANSIENT)
def test_a_transient_fault_is_retried_once_then_answers(
    emulator: testing.ParallelEmulator, driver: str, fault: str
) -> None:
    record("faults_tried")
    expected = _baseline(emulator, driver)
    emulator.inject(fault)
    _run, outcome = _call(emulator, driver)
    assert outcome == expected
    assert chat_requests(emulator) == 2
    assert not emulator.faults.pending()


@pytest.mark.usefixtures("fds_checked")
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("fault", [*PERSISTENT, *PERMANENT])
def test_a_persistent_fault_raises_the_typed_error(
    emulator: testing.ParallelEmulator, driver: str, fault: str
) -> None:
    record("faults_tried")
    error, status = {**PERSISTENT, **PERMANENT}[fault]
    run, outcome = _call(emulator, driver, extra_headers={testing.FAULT_HEADER: fault})
    assert isinstance(outcome, error), repr(outcome)
    assert outcome.status_code == status
    assert outcome.message
    if fault in PERMANENT or fault.startswith("429"):
        # The server's own words from its envelope, not a generic "HTTP 4xx".
        assert not outcome.message.startswith("the server answered"), outcome.message
    if fault.startswith("429-retry-after"):
        assert isinstance(outcome, pa.RateLimitError) and outcome.retry_after == 0.05
    assert not run.received
    attempts = 1 if fault in PERMANENT or fault in TIMEOUTS else MAX_RETRIES + 1
    assert chat_requests(emulator) == attempts


@pytest.mark.usefixtures("fds_checked")
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("fault", TIMEOUTS)
def test_a_timeout_is_retried_only_when_opted_in(
    emulator: testing.ParallelEmulator, driver: str, fault: str
) -> None:
    record("faults_tried")
    expected = _baseline(emulator, driver)
    emulator.inject(fault)
    _run, outcome = _call(emulator, driver)
    assert isinstance(outcome, pa.APITimeoutError), repr(outcome)
    assert chat_requests(emulator) == 1
    emulator.reset()
    emulator.inject(fault)
    _run, outcome = _call(emulator, driver, retry_timeouts=True)
    assert outcome == expected
    assert chat_requests(emulator) == 2


@pytest.mark.usefixtures("fds_checked")
@pytest.mark.parametrize("driver", sorted(STREAMING))
@pytest.mark.parametrize("fault", MID_STREAM)
def test_a_stream_broken_midway_raises_stream_error_with_the_partial_text(
    emulator: testing.ParallelEmulator, driver: str, fault: str
) -> None:
    record("faults_tried")
    whole = _baseline(emulator, driver)
    emulator.inject(fault)
    run, outcome = _call(emulator, driver)
    assert isinstance(outcome, pa.StreamError), repr(outcome)
    assert outcome.partial_text, "text had reached the caller before the break"
    assert run.received, "the caller saw the first pieces"
    if not driver.startswith("dspy"):
        # DSPy's listener shows the answer field; the error holds the raw model text.
        assert outcome.partial_text == "".join(run.received)
        assert whole.startswith(outcome.partial_text)
        assert len(outcome.partial_text) < len(whole)
    assert chat_requests(emulator) == 1, "no retry once text has reached the caller"


@pytest.mark.usefixtures("fds_checked")
@pytest.mark.parametrize("driver", sorted(set(DRIVERS) - STREAMING))
@pytest.mark.parametrize("fault", ["disconnect-mid-stream", "stall-mid-stream"])
def test_a_json_body_cut_halfway_is_retried_once_then_answers(
    emulator: testing.ParallelEmulator, driver: str, fault: str
) -> None:
    record("faults_tried")
    expected = _baseline(emulator, driver)
    emulator.inject(fault)
    # A stalled body is a read timeout: retried only when opted in.
    options = {"retry_timeouts": True} if fault.startswith("stall") else {}
    _run, outcome = _call(emulator, driver, **options)
    assert outcome == expected
    assert chat_requests(emulator) == 2


@pytest.mark.usefixtures("fds_checked")
@pytest.mark.parametrize("driver", sorted(STREAMING))
@pytest.mark.parametrize("fault", TOLERATED)
def test_an_odd_but_valid_stream_gives_the_whole_answer(
    emulator: testing.ParallelEmulator, driver: str, fault: str
) -> None:
    record("faults_tried")
    expected = _baseline(emulator, driver)
    emulator.inject(fault)
    _run, outcome = _call(emulator, driver)
    assert outcome == expected
    assert chat_requests(emulator) == 1
