"""One retry layer, typed errors through DSPy, input checks, and program save/load."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path

import dspy
import pytest

import parallel_adapters
from parallel_adapters.dspy import ParallelLM

from .conftest import Backend
from .questions import DEV_QUESTIONS, QUESTION

pytestmark = [pytest.mark.vcr, pytest.mark.filterwarnings("error::DeprecationWarning")]

SENTINEL_KEY = "sk-parallel-SENTINEL-4242"


@pytest.mark.emulator_only
def test_429_then_200_makes_exactly_two_requests(
    make_lm: Callable[..., ParallelLM], backend: Backend, http_requests: Callable[[], int]
) -> None:
    backend.inject("429-retry-after;retry_after=0", times=1)
    lm = make_lm("base", num_retries=3)
    outputs = lm(QUESTION)
    assert outputs[0]["text"]
    assert http_requests() == 2, "the core retried once; DSPy did not add its own retries"


@pytest.mark.emulator_only
def test_rate_limit_error_is_the_core_type_and_dspy_type(
    make_lm: Callable[..., ParallelLM], backend: Backend, http_requests: Callable[[], int]
) -> None:
    backend.inject("429-retry-after;retry_after=0", times=2)
    lm = make_lm("base", num_retries=1)
    with (
        dspy.context(lm=lm, adapter=dspy.JSONAdapter()),
        pytest.raises(parallel_adapters.RateLimitError) as caught,
    ):
        dspy.Predict("question -> answer")(question=DEV_QUESTIONS[13])
    error = caught.value
    assert isinstance(error, dspy.LMRateLimitError)
    assert error.status_code == 429 and error.status == 429
    assert error.retry_after is not None and error.retry_after < 1
    assert http_requests() == 2, "one try and one retry (num_retries=1), nothing more"


@pytest.mark.emulator_only
@pytest.mark.parametrize(
    ("fault", "core_error", "dspy_error"),
    [
        ("500", parallel_adapters.ServerError, dspy.LMServerError),
        (
            "envelope-fastapi",
            parallel_adapters.UnprocessableRequestError,
            dspy.LMInvalidRequestError,
        ),
    ],
)
def test_server_errors_keep_their_type_and_message(
    make_lm: Callable[..., ParallelLM],
    fault: str,
    core_error: type[Exception],
    dspy_error: type[Exception],
) -> None:
    lm = make_lm("base", max_retries=0, extra_headers={"x-emulator-fault": fault})
    with pytest.raises(core_error) as caught:
        lm(QUESTION)
    assert isinstance(caught.value, dspy_error)
    assert isinstance(caught.value, dspy.LMError)
    assert str(caught.value.message)


def test_bad_key_is_an_authentication_error(make_lm: Callable[..., ParallelLM]) -> None:
    lm = make_lm("base", api_key="wrong-key")
    with pytest.raises(parallel_adapters.AuthenticationError) as caught:
        lm(QUESTION)
    assert isinstance(caught.value, dspy.LMAuthError)
    assert "wrong-key" not in str(caught.value)


def test_non_text_input_is_refused_before_any_request(
    make_lm: Callable[..., ParallelLM], http_requests: Callable[[], int]
) -> None:
    lm = make_lm("base")
    request = dspy.lm15.Request(
        model=lm.model,
        messages=(
            dspy.lm15.Message.user(
                [
                    dspy.lm15.TextPart("what is in this picture?"),
                    dspy.lm15.ImagePart(media_type="image/png", url="https://example.com/a.png"),
                ]
            ),
        ),
    )
    with pytest.raises(parallel_adapters.InputError) as caught:
        lm(request)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, dspy.LMError)
    assert "image" in str(caught.value)
    assert http_requests() == 0


def test_missing_key_is_reported_at_the_first_call(
    monkeypatch: pytest.MonkeyPatch, http_requests: Callable[[], int]
) -> None:
    monkeypatch.delenv("PARALLEL_API_KEY", raising=False)
    lm = ParallelLM("base", base_url="http://127.0.0.1:9")
    with pytest.raises(parallel_adapters.MissingAPIKeyError) as caught:
        lm(QUESTION)
    assert isinstance(caught.value, dspy.LMNotConfiguredError)
    assert http_requests() == 0


def test_save_load_round_trip_keeps_no_key(
    make_lm: Callable[..., ParallelLM],
    backend: Backend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    program = dspy.Predict("question -> answer")
    program.lm = make_lm("base", api_key=SENTINEL_KEY, num_retries=4, timeout=42.0)
    path = tmp_path / "program.json"
    program.save(str(path))

    saved = path.read_text()
    assert SENTINEL_KEY not in saved
    assert "SENTINEL" not in saved
    state = json.loads(saved)["lm"]
    assert state["model"] == "parallel/base"
    assert state["engine"]["state"]["max_retries"] == 4
    assert state["engine"]["state"]["timeout"] == 42.0

    # Loading reads the key from the environment, never from the file.
    monkeypatch.setenv("PARALLEL_API_KEY", backend.api_key)
    loaded = dspy.Predict("question -> answer")
    loaded.load(str(path), allow_unsafe_lm_state=True)
    lm = loaded.lm
    assert isinstance(lm, ParallelLM)
    assert lm.config.api_key is not None
    assert lm.config.api_key.get_secret_value() == backend.api_key
    assert (lm.max_retries, lm.config.timeout, lm.num_retries) == (4, 42.0, 0)
    with dspy.context(adapter=dspy.JSONAdapter()):
        prediction = loaded(question=DEV_QUESTIONS[14])
    assert prediction.answer.rstrip(".") == DEV_QUESTIONS[14].rstrip("?")


def test_loading_without_permission_is_refused(
    make_lm: Callable[..., ParallelLM], tmp_path: Path
) -> None:
    program = dspy.Predict("question -> answer")
    program.lm = make_lm("base")
    path = tmp_path / "program.json"
    program.save(str(path))
    with pytest.raises(ValueError, match="allow_unsafe_lm_state"):
        dspy.Predict("question -> answer").load(str(path))


def test_program_deepcopy_shares_the_engine_and_pickle_keeps_no_key(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lm = ParallelLM("base", api_key=SENTINEL_KEY, max_retries=4)
    program = dspy.ChainOfThought("question -> answer")
    program.set_lm(lm)
    copied = program.deepcopy()  # what optimizers do with a student program
    assert "Failed to deep copy" not in caplog.text
    assert copied.predict.lm is not lm
    assert copied.predict.lm.engine is lm.engine

    data = pickle.dumps(lm)
    assert SENTINEL_KEY.encode() not in data
    monkeypatch.setenv("PARALLEL_API_KEY", "from-env")
    restored = pickle.loads(data)
    assert restored.config.api_key.get_secret_value() == "from-env"
    assert restored.max_retries == 4
