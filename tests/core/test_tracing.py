"""OpenTelemetry spans with the real SDK and its in-memory exporter.

The SDK's `TracerProvider` is handed to the kit for one test by the `exporter` fixture
(tests/conftest.py); the docs' console-exporter example sets a provider for real, with
`set_tracer_provider`, in a fresh interpreter (tests/docs).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import parallel_adapters as pa
from parallel_adapters._core import _tracing
from parallel_adapters.testing import ParallelEmulator

CAPTURE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PROMPT = "What does Parallel Web Systems do?"


def _chat(emulator: ParallelEmulator, **options: Any) -> pa.ParallelChat:
    options = {"retry_initial_delay": 0.01, "retry_max_delay": 0.02, **options}
    return pa.ParallelChat(
        base_url=emulator.base_url, api_key="test-key", requests_per_minute=None, **options
    )


def _ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]


def _everything_recorded(span: ReadableSpan) -> str:
    values = [str(v) for v in (span.attributes or {}).values()]
    for event in span.events:
        values.append(event.name)
        values.extend(str(v) for v in (event.attributes or {}).values())
    values.append(str(span.status.description))
    return " ".join(values)


def test_one_client_span_per_call_with_the_retry_as_an_event(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    emulator.inject("503")
    completion = _chat(emulator, model="base", max_retries=2)(PROMPT)
    assert len(emulator.requests) == 2
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat base"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "parallel"
    assert attributes["gen_ai.request.model"] == "base"
    assert attributes["gen_ai.response.model"] == completion.model
    assert attributes["gen_ai.request.stream"] is False
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == emulator.port
    assert attributes["parallel.citation_count"] == len(completion.citations) > 0
    assert attributes["parallel.cost_usd"] == pytest.approx(0.01)
    assert attributes["parallel.retries"] == 1
    (event,) = span.events
    assert event.name == "parallel.retry"
    assert dict(event.attributes or {}) == {
        "parallel.retry.attempt": 1,
        "parallel.retry.delay_s": pytest.approx(event.attributes["parallel.retry.delay_s"]),
        "error.type": "ServerError",
        "http.response.status_code": 503,
    }


def test_usage_and_response_id_when_the_server_sends_them(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    emulator.profile = "openai"
    completion = _chat(emulator, model="lite")(PROMPT)
    (span,) = _ours(exporter)
    attributes = dict(span.attributes or {})
    assert completion.usage and completion.id
    assert attributes["gen_ai.response.id"] == completion.id
    assert attributes["gen_ai.usage.input_tokens"] == completion.usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == completion.usage["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_a_failed_call_is_an_error_span(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    emulator.inject("401")
    with pytest.raises(pa.AuthenticationError):
        _chat(emulator, model="core")(PROMPT)
    (span,) = _ours(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "AuthenticationError"
    assert "parallel.cost_usd" not in span.attributes  # a refused call costs nothing


def test_no_prompt_answer_or_key_is_recorded_by_default(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    completion = _chat(emulator, model="base")(PROMPT)
    emulator.inject("422")
    with pytest.raises(pa.UnprocessableRequestError):
        _chat(emulator, model="base")(PROMPT)
    spans = _ours(exporter)
    assert len(spans) == 2
    for span in spans:
        recorded = _everything_recorded(span)
        assert PROMPT not in recorded
        assert completion.text[:40] not in recorded
        assert "test-key" not in recorded
        assert "gen_ai.input.messages" not in (span.attributes or {})


def test_content_is_recorded_only_when_asked(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CAPTURE, "true")
    completion = _chat(emulator, model="base")(
        [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": PROMPT},
        ]
    )
    (span,) = _ours(exporter)
    attributes = dict(span.attributes or {})
    inputs = json.loads(str(attributes["gen_ai.input.messages"]))
    assert inputs == [
        {"role": "system", "parts": [{"type": "text", "content": "Answer briefly."}]},
        {"role": "user", "parts": [{"type": "text", "content": PROMPT}]},
    ]
    outputs = json.loads(str(attributes["gen_ai.output.messages"]))
    assert outputs[0]["parts"] == [{"type": "text", "content": completion.text}]
    assert "test-key" not in _everything_recorded(span)


def test_the_span_nests_under_the_current_span(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    tracer = trace.get_tracer_provider().get_tracer("the-application")
    with tracer.start_as_current_span("handle request") as parent:
        _chat(emulator)(PROMPT)
    (span,) = _ours(exporter)
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id


def test_a_stream_is_one_span_with_its_time_to_first_chunk(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    chat = _chat(emulator, model="parallel-low")
    pieces = list(chat.stream(PROMPT))
    assert len(pieces) >= 1
    (span,) = _ours(exporter)
    attributes = dict(span.attributes or {})
    assert span.name == "chat parallel-low"
    assert attributes["gen_ai.request.model"] == "parallel-low"
    assert attributes["parallel.reasoning.effort"] == "low"
    assert attributes["gen_ai.request.stream"] is True
    first_chunk = attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first_chunk, float)
    assert first_chunk > 0
    assert attributes["parallel.cost_usd"] == pytest.approx(0.01)


def test_async_calls_and_streams_get_spans(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    chat = _chat(emulator, model="speed")

    async def main() -> None:
        await chat.acomplete(PROMPT)
        await chat.astream(PROMPT).collect()

    asyncio.run(main())
    spans = _ours(exporter)
    assert [s.attributes["gen_ai.request.stream"] for s in spans if s.attributes] == [False, True]


def test_a_broken_stream_is_an_error_span(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    emulator.inject("disconnect-mid-stream;after_chunks=3")
    with pytest.raises(pa.StreamError):
        _chat(emulator, model="lite").stream(PROMPT).collect()
    (span,) = _ours(exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "StreamError"
    assert span.attributes["parallel.cost_usd"] == pytest.approx(0.005)


def test_a_refused_budget_sends_nothing_and_records_no_span(
    exporter: InMemorySpanExporter, emulator: ParallelEmulator
) -> None:
    with pytest.raises(pa.BudgetExceededError):
        _chat(emulator, model="core", max_cost=0.01)(PROMPT)
    assert emulator.requests == []
    assert _ours(exporter) == []


def test_no_provider_no_span(emulator: ParallelEmulator) -> None:
    # No provider set in this process: the API's proxy provider, which records nothing.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert _tracing._recording_tracer() is None
    assert _chat(emulator)(PROMPT).text
