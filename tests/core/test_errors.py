"""Typed errors with the server's own message, whichever envelope it used (research note §3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters._core._errors import error_from_status, message_from_body, parse_retry_after

OPENAI = {"error": {"message": "Invalid API key", "type": "invalid_request_error"}}
FASTAPI = {"detail": [{"loc": ["body", "messages", 0, "role"], "msg": "bad role", "type": "enum"}]}
PARALLEL = {
    "type": "error",
    "error": {"ref_id": "ref_123", "message": "Too many requests: quota temporarily exceeded"},
}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (OPENAI, "Invalid API key"),
        (FASTAPI, "body.messages.0.role: bad role"),
        (PARALLEL, "Too many requests: quota temporarily exceeded [ref_id ref_123]"),
        ({"detail": "Not Found"}, "Not Found"),
        ("plain text failure", "plain text failure"),
        ({"unexpected": True}, None),
        (None, None),
    ],
)
def test_message_from_each_envelope(body: Any, message: str | None) -> None:
    assert message_from_body(body) == message


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, pa.AuthenticationError),
        (402, pa.PaymentRequiredError),
        (403, pa.PermissionDeniedError),
        (404, pa.NotFoundError),
        (422, pa.UnprocessableRequestError),
        (429, pa.RateLimitError),
        (500, pa.ServerError),
        (502, pa.ServerError),
        (503, pa.ServerError),
    ],
)
def test_status_maps_to_a_typed_error(status: int, cls: type[pa.ParallelError]) -> None:
    error = error_from_status(status, PARALLEL)
    assert type(error) is cls
    assert isinstance(error, pa.ParallelError)
    assert error.status_code == status
    assert "quota temporarily exceeded" in str(error)
    assert f"HTTP {status}" in str(error)


def test_unprocessable_keeps_the_detail_list() -> None:
    error = error_from_status(422, FASTAPI)
    assert isinstance(error, pa.UnprocessableRequestError)
    assert error.detail == FASTAPI["detail"]


def test_unknown_body_still_gets_a_message() -> None:
    assert str(error_from_status(418, None)) == "the server answered HTTP 418 (HTTP 418)"


def test_retry_after_variants() -> None:
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    future = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert (
        25 < (parse_retry_after({"retry-after": format_datetime(future, usegmt=True)}) or 0) <= 30
    )
    error = error_from_status(429, PARALLEL, {"retry-after": "2"})
    assert isinstance(error, pa.RateLimitError) and error.retry_after == 2.0


def test_input_error_is_a_value_error() -> None:
    assert issubclass(pa.InputError, ValueError)
    error = pa.StreamError("broke", partial_text="half an ans")
    assert error.partial_text == "half an ans"
