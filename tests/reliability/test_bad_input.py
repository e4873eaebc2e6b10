"""Bad input: a valid wire request or `InputError`, never another exception, never a
request on the wire for input that was refused."""

from __future__ import annotations

import functools
import itertools
import json
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters import testing

from .conftest import SENTINEL_KEY, chat_requests, record

WIRE_ROLES = {"system", "user", "assistant"}
HUGE = "lorem ipsum " * 100_000  # 1.2 MB

# Text as callers really hold it: anything from Unicode including lone surrogates
# (what `surrogateescape` decoding leaves behind), plus a few pathological ones.
any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=())),
    st.sampled_from(["", " ", "\n\t", "\ud800", "ok \udfff ok", "\x00", HUGE, "😀" * 1000]),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), any_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)
    ),
    max_leaves=12,
)
roles = st.one_of(
    st.sampled_from(
        [
            "system",
            "user",
            "assistant",
            "developer",
            "human",
            "ai",
            "model",
            "chatbot",
            "tool",
            "function",
            "USER",
            " Assistant ",
            "wizard",
            "",
            "None",
        ]
    ),
    any_text,
    st.none(),
    st.integers(),
)
content_parts = st.one_of(
    any_text,
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "input_text", "output_text", "image_url", "audio"])},
        optional={"text": st.one_of(any_text, st.none(), st.integers()), "image_url": json_values},
    ),
    st.integers(),
    st.none(),
    st.lists(any_text, max_size=2),
)
contents = st.one_of(
    st.none(), any_text, st.lists(content_parts, max_size=4), st.integers(), json_values
)
one_message = st.one_of(
    st.fixed_dictionaries(
        {"role": roles, "content": contents},
        optional={"name": st.one_of(any_text, st.none()), "tool_call_id": any_text},
    ),
    st.tuples(roles, contents),
    st.tuples(roles, contents, contents),
    st.builds(SimpleNamespace, role=roles, content=contents),
    any_text,
    st.none(),
    st.integers(),
    st.lists(st.tuples(roles, contents), max_size=2),  # nesting
)
# Well-formed conversations too, so that valid bodies are checked as often as refusals.
good_text = st.one_of(st.text(min_size=1), st.sampled_from(["Hi", "What is DSPy?", HUGE]))
good_message = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(sorted({*WIRE_ROLES, "developer", "human", "ai", "tool"})),
            "content": st.one_of(
                good_text,
                st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": good_text})),
            ),
        },
        optional={"name": st.text(min_size=1, max_size=8)},
    ),
    st.tuples(st.sampled_from(["human", "ai", "system", "user"]), good_text),
)
good_conversations = st.lists(good_message, min_size=1, max_size=8)
messages_inputs = st.one_of(
    good_conversations,
    good_conversations,
    st.lists(st.one_of(good_message, one_message), min_size=1, max_size=6),
    any_text,
    st.lists(one_message, max_size=6),
    st.tuples(one_message, one_message),
    st.none(),
    st.integers(),
    st.dictionaries(any_text, json_values, max_size=3),
    st.binary(max_size=8),
)


class Answer(BaseModel):
    answer: str


good_schemas = st.fixed_dictionaries(
    {
        "type": st.just("object"),
        "properties": st.dictionaries(
            st.text(min_size=1, max_size=12),
            st.fixed_dictionaries({"type": st.sampled_from(["string", "number", "boolean"])}),
            min_size=1,
            max_size=4,
        ),
    },
    optional={"title": st.text(max_size=80)},
)
response_formats = st.one_of(
    st.none(),
    st.none(),
    st.just(Answer),
    good_schemas,
    good_schemas.map(lambda schema: {"type": "json_schema", "json_schema": {"schema": schema}}),
    good_schemas.map(lambda schema: {"type": "json_schema", "name": "x", "schema": schema}),
    st.just(int),
    json_values,
    st.fixed_dictionaries({"type": st.sampled_from(["json_object", "text", "json_schema", "xml"])}),
    st.fixed_dictionaries(
        {
            "type": st.just("json_schema"),
            "json_schema": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"name": json_values, "schema": json_values}, optional={"strict": json_values}
                ),
            ),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("json_schema"), "name": json_values, "schema": json_values}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("object"),
            "properties": st.dictionaries(any_text, json_values, max_size=3),
        }
    ),
)


def _assert_valid_wire(request: pa.core.ChatRequest) -> None:
    body = request.body
    # Exactly how the SDK encodes it: must not raise.
    json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    messages = body["messages"]
    assert messages, "an empty conversation is never sent"
    for index, message in enumerate(messages):
        assert message["role"] in WIRE_ROLES
        assert isinstance(message["content"], str) and message["content"].strip()
        if message["role"] == "system":
            assert index == 0, "one leading system message"
    for before, after in itertools.pairwise(messages):
        assert before["role"] != after["role"], "same-role turns are merged"
    fmt = body.get("response_format")
    if fmt is not None:
        assert fmt["type"] in {"json_schema", "json_object", "text"}
        if fmt["type"] == "json_schema":
            assert isinstance(fmt["json_schema"]["schema"], dict)
            assert isinstance(fmt["json_schema"]["name"], str)


@pytest.fixture(scope="module")
def chat(reliability_emulator: testing.ParallelEmulator) -> Any:
    with pa.ParallelChat(
        base_url=reliability_emulator.base_url,
        api_key=SENTINEL_KEY,
        requests_per_minute=None,
        max_retries=0,
    ) as chat:
        yield chat


def _refused_without_traffic(
    chat: pa.ParallelChat, emulator: testing.ParallelEmulator, messages: Any, fmt: Any
) -> None:
    before = chat_requests(emulator)
    with pytest.raises(pa.InputError, match=r"\w"):
        chat(messages, response_format=fmt)
    with pytest.raises(pa.InputError, match=r"\w"):
        chat.stream(messages, response_format=fmt)
    assert chat_requests(emulator) == before, "refused input reached the wire"


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(messages=messages_inputs, fmt=response_formats)
def test_any_input_is_a_valid_request_or_an_input_error(
    chat: pa.ParallelChat,
    reliability_emulator: testing.ParallelEmulator,
    messages: Any,
    fmt: Any,
) -> None:
    record("bad_inputs_tried")
    try:
        request = chat.request(messages, response_format=fmt)
    except pa.InputError:
        record("bad_inputs_rejected")
        _refused_without_traffic(chat, reliability_emulator, messages, fmt)
        return
    _assert_valid_wire(request)


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ("caf\udce9", "messages[0].content"),
        ([("system", "be brief \ud83d"), ("user", "hi")], "messages[0].content"),
        ([{"role": "user", "content": [{"type": "text", "text": "\udfff"}]}], "messages[0]"),
    ],
)
def test_a_lone_surrogate_is_an_input_error_naming_the_field(
    emulator: testing.ParallelEmulator,
    make_chat: Any,
    messages: Any,
    where: str,
) -> None:
    record("bad_inputs_tried")
    record("bad_inputs_rejected")
    with pytest.raises(pa.InputError, match="surrogate") as caught:
        make_chat()(messages)
    assert where in str(caught.value)
    assert chat_requests(emulator) == 0


def test_a_10_mb_message_goes_through(emulator: testing.ParallelEmulator, make_chat: Any) -> None:
    sentence = "The quick brown fox jumps over the lazy dog while HTTP keeps connections open. "
    big = sentence * (10 * 1024 * 1024 // len(sentence) + 1)
    big = big[: 10 * 1024 * 1024]
    completion = make_chat()(big)
    assert completion.text
    (entry,) = emulator.requests
    assert entry.json["messages"][0]["content"] == big


@pytest.mark.parametrize("model", ["ultra", "gpt-4o", "SPEED", "speed-2", "core\u00a0"])
@pytest.mark.parametrize("adapter", ["plain", "llama_index", "dspy"])
def test_an_unknown_model_is_refused_before_sending_naming_the_models(
    emulator: testing.ParallelEmulator, model: str, adapter: str
) -> None:
    options = {
        "api_key": SENTINEL_KEY,
        "base_url": emulator.base_url,
        "requests_per_minute": None,
        "max_retries": 0,
    }
    build: Any
    if adapter == "plain":
        build = pa.ParallelChat
    elif adapter == "llama_index":
        from parallel_adapters.llama_index import ParallelLLM

        build = ParallelLLM
    else:
        from parallel_adapters.dspy import ParallelLM

        build = functools.partial(ParallelLM, cache=False)
    # Refused when the object is built, as the docs promise for every invalid option.
    with pytest.raises(pa.InputError) as caught:
        build(model=model, **options)
    assert "speed, lite, base, core" in str(caught.value)
    assert "parallel, parallel-low, parallel-medium, parallel-high" in str(caught.value)
    assert chat_requests(emulator) == 0


def test_a_model_the_server_refuses_gets_its_typed_error(
    emulator: testing.ParallelEmulator, make_chat: Any
) -> None:
    # A request built by hand skips the check; the server has the last word.
    from parallel_adapters._core import ChatRequest

    unknown = ChatRequest(body={"model": "ultra", "messages": [{"role": "user", "content": "Hi"}]})
    with pytest.raises(pa.PermissionDeniedError) as caught:
        make_chat().send(unknown)
    assert caught.value.status_code == 403
    assert "model" in caught.value.message  # the server's words, with its ref_id
    assert chat_requests(emulator) == 1


@pytest.mark.parametrize("model", ["", "   "])
def test_an_empty_model_is_refused_before_sending(
    emulator: testing.ParallelEmulator, make_chat: Any, model: str
) -> None:
    with pytest.raises(pa.InputError):
        make_chat()("What is DSPy?", model=model or " ")
    with pytest.raises(pa.InputError):
        pa.ParallelChat(model=model, api_key=SENTINEL_KEY, base_url=emulator.base_url)
    assert chat_requests(emulator) == 0
