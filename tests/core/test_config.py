"""ParallelConfig: defaults, environment, validation, and a key that never shows."""

from __future__ import annotations

import pickle

import pytest

from parallel_adapters import InputError, MissingAPIKeyError, ParallelChat, ParallelConfig
from parallel_adapters._core import ParallelClient

SENTINEL = "sk-SENTINEL-4c1d-never-print-me"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    monkeypatch.delenv("PARALLEL_BASE_URL", raising=False)
    monkeypatch.delenv("PARALLEL_REQUESTS_PER_MINUTE", raising=False)


def test_defaults() -> None:
    config = ParallelConfig.from_options()
    assert config.base_url == "https://api.parallel.ai"
    assert config.model == "speed"
    assert config.max_retries == 2
    assert config.requests_per_minute == 300
    assert config.auth_header == "bearer"
    assert [config.timeout_for(m) for m in ("speed", "lite", "base", "core", "other")] == [
        60.0,
        180.0,
        300.0,
        600.0,
        600.0,
    ]
    assert ParallelConfig.from_options(timeout=5).timeout_for("core") == 5.0


def test_environment_supplies_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARALLEL_API_KEY", SENTINEL)
    monkeypatch.setenv("PARALLEL_BASE_URL", "http://127.0.0.1:9/")
    config = ParallelConfig.from_options()
    assert config.require_key() == SENTINEL
    assert config.base_url == "http://127.0.0.1:9"
    assert ParallelConfig.from_options(api_key="explicit").require_key() == "explicit"


def test_missing_key_is_raised_at_the_first_request_not_at_construction() -> None:
    chat = ParallelChat()  # no error here
    with pytest.raises(MissingAPIKeyError) as caught:
        chat("hello")
    message = str(caught.value)
    assert "PARALLEL_API_KEY" in message and "api_key=" in message


def test_auth_header_styles() -> None:
    assert ParallelConfig.from_options(api_key="k").auth_headers() == {"Authorization": "Bearer k"}
    assert ParallelConfig.from_options(api_key="k", auth_header="x-api-key").auth_headers() == {
        "x-api-key": "k"
    }


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": -1},
        {"max_retries": -1},
        {"requests_per_minute": 0},
        {"auth_header": "cookie"},
        {"base_url": "api.parallel.ai"},
        {"model": " "},
        {"extra_headers": {"Authorization": "Bearer x"}},
        {"unknown_option": 1},
    ],
)
def test_invalid_options_raise_input_error(options: dict[str, object]) -> None:
    with pytest.raises(InputError):
        ParallelConfig.from_options(**options)


def test_rate_limit_can_be_disabled_with_none() -> None:
    assert ParallelConfig.from_options(requests_per_minute=None).requests_per_minute is None


def test_the_key_never_appears_in_repr_str_dump_or_errors() -> None:
    config = ParallelConfig.from_options(api_key=SENTINEL)
    client = ParallelClient(config)
    chat = ParallelChat(api_key=SENTINEL, model="base")
    shown = [
        repr(config),
        str(config),
        repr(client),
        repr(chat),
        str(config.model_dump()),
        config.model_dump_json(),
        str(config.public_dict()),
        repr(client._transport),
    ]
    for text in shown:
        assert SENTINEL not in text
    assert config.public_dict()["api_key_set"] is True
    with pytest.raises(InputError) as caught:
        ParallelConfig.from_options(api_key=SENTINEL, timeout="soon")
    assert SENTINEL not in str(caught.value)
    # pickling keeps the secret (it must, to work) but its repr stays masked
    assert SENTINEL not in repr(pickle.loads(pickle.dumps(config)))


def test_replace_keeps_the_key_and_changes_the_rest() -> None:
    config = ParallelConfig.from_options(api_key=SENTINEL, model="lite")
    changed = config.replace(model="core", timeout=9)
    assert changed.model == "core" and changed.timeout == 9
    assert changed.require_key() == SENTINEL


@pytest.mark.parametrize(("value", "expected"), [("120", 120), (" 60 ", 60), ("off", None)])
def test_environment_sets_the_request_rate(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    monkeypatch.setenv("PARALLEL_REQUESTS_PER_MINUTE", value)
    assert ParallelConfig.from_options().requests_per_minute == expected
    # An explicit option wins, including None (no limiter).
    assert ParallelConfig.from_options(requests_per_minute=5).requests_per_minute == 5
    assert ParallelConfig.from_options(requests_per_minute=None).requests_per_minute is None


@pytest.mark.parametrize("value", ["lots", "0", "-3", "1.5"])
def test_a_bad_request_rate_in_the_environment_is_named(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PARALLEL_REQUESTS_PER_MINUTE", value)
    with pytest.raises(InputError, match="PARALLEL_REQUESTS_PER_MINUTE"):
        ParallelConfig.from_options()


def test_the_typed_options_name_every_config_field() -> None:
    from parallel_adapters._core import ChatOptions, ConnectionOptions

    assert set(ChatOptions.__annotations__) | set(ConnectionOptions.__annotations__) == set(
        ParallelConfig.model_fields
    )
    assert "model" not in ConnectionOptions.__annotations__


def test_a_missing_key_with_another_base_url_says_an_emulator_needs_one_too() -> None:
    chat = ParallelChat(base_url="http://127.0.0.1:8787")
    with pytest.raises(MissingAPIKeyError, match="emulator needs a key too"):
        chat("hello")
    with pytest.raises(MissingAPIKeyError) as caught:
        ParallelChat()("hello")
    assert "emulator" not in str(caught.value)
