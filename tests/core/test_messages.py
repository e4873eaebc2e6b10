"""merge_messages: what reaches the wire is always valid and loses no text."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parallel_adapters import InputError
from parallel_adapters._core import merge_messages


def test_a_string_is_one_user_message() -> None:
    assert merge_messages("Hi") == [{"role": "user", "content": "Hi"}]


def test_langchain_tuples_and_aliases() -> None:
    wire = merge_messages(
        [("system", "Be brief."), ("human", "Hi"), ("ai", "Hello"), ("human", "?")]
    )
    assert wire == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "?"},
    ]


def test_developer_becomes_system_and_all_system_messages_lead() -> None:
    wire = merge_messages(
        [
            {"role": "user", "content": "Q1"},
            {"role": "developer", "content": "Rule A"},
            {"role": "assistant", "content": "A1"},
            {"role": "system", "content": "Rule B"},
            {"role": "user", "content": "Q2"},
        ]
    )
    assert wire[0] == {"role": "system", "content": "Rule A\n\nRule B"}
    assert [m["role"] for m in wire] == ["system", "user", "assistant", "user"]


def test_same_role_runs_merge_with_a_blank_line() -> None:
    wire = merge_messages([("user", "a"), ("user", "b"), ("assistant", "c"), ("assistant", "d")])
    assert wire == [
        {"role": "user", "content": "a\n\nb"},
        {"role": "assistant", "content": "c\n\nd"},
    ]


def test_tool_results_become_labelled_user_messages() -> None:
    wire = merge_messages(
        [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "calling"},
            {"role": "tool", "name": "get_weather", "content": "sunny"},
            {"role": "function", "content": "42"},
        ]
    )
    assert wire[-1]["role"] == "user"
    assert wire[-1]["content"] == "[tool result from get_weather]\nsunny\n\n[function result]\n42"


def test_text_parts_are_joined_and_other_parts_refused() -> None:
    wire = merge_messages(
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "one"}, "two", {"type": "text", "text": "3"}],
            }
        ]
    )
    assert wire == [{"role": "user", "content": "one\ntwo\n3"}]
    for part_type in ("image_url", "input_audio", "file"):
        with pytest.raises(InputError, match=part_type):
            merge_messages([{"role": "user", "content": [{"type": part_type, part_type: {}}]}])


def test_empty_contents_are_dropped_and_nothing_left_is_an_error() -> None:
    assert merge_messages([("user", ""), ("assistant", None), ("user", "x")]) == [
        {"role": "user", "content": "x"}
    ]
    with pytest.raises(InputError, match="no message"):
        merge_messages([("user", "  "), ("system", "")])
    with pytest.raises(InputError):
        merge_messages([])


def test_names_survive_when_unambiguous_and_label_text_otherwise() -> None:
    assert merge_messages([{"role": "user", "content": "hi", "name": "ann"}]) == [
        {"role": "user", "content": "hi", "name": "ann"}
    ]
    wire = merge_messages(
        [
            {"role": "user", "content": "hi", "name": "ann"},
            {"role": "user", "content": "yo", "name": "bob"},
        ]
    )
    assert wire == [{"role": "user", "content": "ann: hi\n\nbob: yo"}]


@pytest.mark.parametrize(
    "bad",
    [
        [{"role": "wizard", "content": "x"}],
        [{"content": "no role"}],
        [("user", "x", "extra")],
        ["bare string in a list"],
        [{"role": "user", "content": 42}],
        [{"role": "user", "content": [{"type": "text"}]}],
        [object()],
        {"role": "user", "content": "a dict, not a list"},
        42,
    ],
)
def test_bad_messages_raise_input_error(bad: Any) -> None:
    with pytest.raises(InputError):
        merge_messages(bad)


class _Role(Enum):
    USER = "user"
    ASSISTANT = "assistant"


@dataclass
class _FrameworkMessage:
    role: _Role
    content: str


def test_objects_with_role_and_content_are_read() -> None:
    wire = merge_messages(
        [_FrameworkMessage(_Role.USER, "q"), _FrameworkMessage(_Role.ASSISTANT, "a")]
    )
    assert wire == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


# -- property: the output always satisfies the API and keeps every text, in order ----------

_ROLES = ["system", "developer", "user", "human", "assistant", "ai", "tool", "function"]
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_content = st.one_of(
    st.none(),
    _text,
    st.lists(st.one_of(_text, st.builds(lambda t: {"type": "text", "text": t}, _text)), max_size=3),
)
_message = st.one_of(
    st.builds(lambda r, c: {"role": r, "content": c}, st.sampled_from(_ROLES), _content),
    st.tuples(st.sampled_from(_ROLES), _text),
)


def _texts_of(message: Any) -> list[str]:
    content = message[1] if isinstance(message, tuple) else message["content"]
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content.strip() else []
    joined = "\n".join(p if isinstance(p, str) else p["text"] for p in content)
    return [joined] if joined.strip() else []


def _role_of(message: Any) -> str:
    return message[0] if isinstance(message, tuple) else message["role"]


@settings(max_examples=300, deadline=None)
@given(st.lists(_message, max_size=12))
def test_merged_messages_always_satisfy_the_api(messages: list[Any]) -> None:
    expected_any = any(_texts_of(m) for m in messages)
    if not expected_any:
        with pytest.raises(InputError):
            merge_messages(messages)
        return
    wire = merge_messages(messages)

    roles = [m["role"] for m in wire]
    assert set(roles) <= {"system", "user", "assistant"}
    assert all(isinstance(m["content"], str) and m["content"].strip() for m in wire)
    assert "system" not in roles[1:]
    assert all(a != b for a, b in itertools.pairwise(roles))

    # No text is lost or reordered: system texts in order in the first message, the
    # others in order through the rest.
    system_in = [
        t for m in messages if _role_of(m) in ("system", "developer") for t in _texts_of(m)
    ]
    other_in = [
        t for m in messages if _role_of(m) not in ("system", "developer") for t in _texts_of(m)
    ]
    rest = wire[1:] if roles[0] == "system" else wire
    if system_in:
        assert wire[0]["content"] == "\n\n".join(system_in)
    cursor = "\n\n".join(m["content"] for m in rest)
    position = 0
    for text in other_in:
        found = cursor.find(text, position)
        assert found >= 0, (text, cursor)
        position = found + len(text)


@dataclass
class _PlainMessage:
    """A message object whose role is a plain string (DSPy, hand-made classes), not an Enum."""

    role: Any
    content: Any
    name: Any = None


def test_objects_with_string_roles_and_names_are_read() -> None:
    wire = merge_messages(
        [
            _PlainMessage("System", "be brief"),
            _PlainMessage(" user ", "q", name="ann"),
            _PlainMessage("tool", "sunny", name="get_weather"),
            _PlainMessage("ai", [{"type": "output_text", "text": "a"}]),
        ]
    )
    assert wire == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "ann: q\n\n[tool result from get_weather]\nsunny"},
        {"role": "assistant", "content": "a"},
    ]


def test_an_object_name_that_is_not_a_string_is_ignored() -> None:
    assert merge_messages([_PlainMessage("user", "q", name=7)]) == [
        {"role": "user", "content": "q"}
    ]
    assert merge_messages([_PlainMessage("user", "q", name="ann")]) == [
        {"role": "user", "content": "q", "name": "ann"}
    ]


def test_a_tool_call_id_names_a_tool_result_and_a_dict_name_must_be_a_string() -> None:
    wire = merge_messages([{"role": "tool", "tool_call_id": "call_1", "content": "42"}])
    assert wire == [{"role": "user", "content": "[tool result from call_1]\n42"}]
    assert merge_messages([{"role": "user", "content": "q", "name": ["x"]}]) == [
        {"role": "user", "content": "q"}
    ]


def test_one_named_and_one_unnamed_speaker_keep_who_said_what() -> None:
    wire = merge_messages(
        [{"role": "user", "content": "hi", "name": "ann"}, {"role": "user", "content": "yo"}]
    )
    assert wire == [{"role": "user", "content": "ann: hi\n\nyo"}]
    same = merge_messages(
        [
            {"role": "assistant", "content": "a", "name": "bot"},
            {"role": "assistant", "content": "b", "name": "bot"},
        ]
    )
    assert same == [{"role": "assistant", "content": "a\n\nb", "name": "bot"}]


def test_a_part_without_a_type_is_text() -> None:
    assert merge_messages([{"role": "user", "content": [{"text": "x"}, "y"]}]) == [
        {"role": "user", "content": "x\ny"}
    ]


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (
            [{"role": "wizard", "content": "x"}],
            r"^unknown message role 'wizard'; use system, user, assistant \(or developer, "
            r"human, ai, tool\)$",
        ),
        (
            [{"content": "no role", "name": "n"}],
            r"^a message has no 'role': \['content', 'name'\]$",
        ),
        ([("user", "x", "extra")], r"^a message tuple must be \(role, content\), got 3 items$"),
        (["bare"], r"^a message list holds a bare string; use \('user', text\) or a dict$"),
        (
            [{"role": "user", "content": 42}],
            r"^a 'user' message has content of type int; expected a string or a list of text "
            r"parts$",
        ),
        (
            [{"role": "developer", "content": [{"type": "text"}]}],
            r"^a text part of a 'system' message has no string 'text'$",
        ),
        (
            [{"role": "user", "content": [3]}],
            r"^a 'user' message has a content part of type int; only text parts are supported$",
        ),
        (
            [{"role": "tool", "content": [{"type": "image_url"}]}],
            r"^a 'tool' message has a 'image_url' content part; Parallel accepts text only "
            r"\(the Chat API would silently ignore it, the Responses API refuses it\)$",
        ),
        ([object()], r"^cannot read a message from object$"),
        ({"role": "user"}, r"^messages must be a string or a list of messages, got dict$"),
        (42, r"^messages must be a string or a list of messages, got int$"),
        ([], r"^no message has any text to send$"),
    ],
)
def test_bad_messages_say_what_is_wrong(bad: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        merge_messages(bad)


class _RoleOnly:
    role = "user"


def test_an_object_without_content_is_an_empty_message_not_an_attribute_error() -> None:
    assert merge_messages([_RoleOnly(), ("user", "q")]) == [{"role": "user", "content": "q"}]
    with pytest.raises(InputError, match=r"^no message has any text to send$"):
        merge_messages([_RoleOnly()])
