"""The API key never shows: reprs, saved state, DEBUG logs, errors and tracebacks,
cassettes, CLI output. Every surface is scanned for a recognisable sentinel key (and for
any Bearer token, with `testing.find_secrets`)."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import parallel_adapters as pa
from parallel_adapters import testing
from parallel_adapters._cli import main as cli_main

from .conftest import FAST, QUESTION, SENTINEL_KEY, record

WRONG_KEY = "sk-SENTINEL-WRONG-0xBADC0DE-never-print-me"
SECRETS = (SENTINEL_KEY, WRONG_KEY)
REPO_ROOT = Path(__file__).resolve().parents[2]


class Scanner:
    def __init__(self) -> None:
        self.leaks: list[str] = []

    def __call__(self, surface: str, text: Any) -> None:
        record("secret_surfaces_scanned")
        found = testing.find_secrets(str(text), SECRETS)
        if found:
            record("keys_leaked", len(found))
            self.leaks.append(f"{surface}: {found}")


@pytest.fixture
def scan() -> Iterator[Scanner]:
    scanner = Scanner()
    yield scanner
    assert scanner.leaks == [], "the key leaked"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("parallel_adapters", "openai", "httpx", "httpcore", "dspy", "llama_index"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _both(obj: Any) -> str:
    return f"{obj!r}\n{obj!s}"


def _traceback(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def _options(emulator: testing.ParallelEmulator, **extra: Any) -> dict[str, Any]:
    return {"api_key": SENTINEL_KEY, "base_url": emulator.base_url, **FAST, **extra}


@pytest.mark.parametrize("auth_header", ["bearer", "x-api-key"])
def test_core_objects_calls_logs_and_errors(
    emulator: testing.ParallelEmulator,
    scan: Scanner,
    debug_logs: pytest.LogCaptureFixture,
    auth_header: str,
) -> None:
    options = _options(emulator, auth_header=auth_header, model="lite")
    config = pa.ParallelConfig.from_options(**options)
    scan("ParallelConfig", _both(config))
    scan("ParallelConfig.model_dump", config.model_dump())
    scan("ParallelConfig.model_dump_json", config.model_dump_json())
    scan("ParallelConfig.public_dict", config.public_dict())
    client = pa.ParallelChat(config=config)
    chat = pa.ParallelChat(**options)
    scan("ParallelChat", _both(client))
    scan("ParallelChat", _both(chat))
    scan("Transport", _both(client._transport))
    scan("ChatRequest", _both(chat.request(QUESTION)))

    completion = chat(QUESTION)
    scan("Completion", _both(completion))
    scan("Completion.raw", json.dumps(completion.raw))
    stream = chat.stream(QUESTION)
    scan("ChatStream", _both(stream))
    scan("ChatStream.completion", _both(stream.collect()))

    async def async_calls() -> None:
        astream = chat.astream(QUESTION)
        scan("AsyncChatStream", _both(astream))
        await astream.collect()
        await chat.acomplete(QUESTION)

    asyncio.run(async_calls())

    errors: list[BaseException] = []
    for fault in ("401", "503", "disconnect-mid-stream;after_chunks=3", "stall"):
        failing = pa.ParallelChat(
            **{**options, "timeout": 0.3, "max_retries": 1},
            extra_headers={testing.FAULT_HEADER: fault},
        )
        try:
            failing.stream(QUESTION).collect() if "mid-stream" in fault else failing(QUESTION)
        except pa.ParallelError as error:
            errors.append(error)
        failing.close()
    wrong = pa.ParallelChat(**{**options, "api_key": WRONG_KEY})
    with pytest.raises(pa.AuthenticationError) as caught:
        wrong(QUESTION)
    errors.append(caught.value)
    with pytest.raises(pa.InputError) as bad_option:
        pa.ParallelChat(**{**options, "timeout": -1})
    errors.append(bad_option.value)
    with pytest.raises(pa.InputError) as bad_key_type:
        pa.ParallelConfig.from_options(api_key=SENTINEL_KEY, base_url="ftp://nowhere")
    errors.append(bad_key_type.value)
    assert len(errors) == 7
    for error in errors:
        scan(f"{type(error).__name__}", _both(error))
        scan(f"{type(error).__name__} traceback", _traceback(error))
        scan(f"{type(error).__name__} args", repr(error.args))

    scan("DEBUG log", "\n".join(r.getMessage() for r in debug_logs.records))
    scan("DEBUG log (formatted)", debug_logs.text)
    assert debug_logs.records, "DEBUG logging was captured"
    chat.close()
    wrong.close()
    client.close()


def test_llama_index_state_logs_and_errors(
    emulator: testing.ParallelEmulator, scan: Scanner, debug_logs: pytest.LogCaptureFixture
) -> None:
    from llama_index.core.llms import ChatMessage

    from parallel_adapters.llama_index import ParallelLLM

    llm = ParallelLLM(model="lite", **_options(emulator))
    scan("ParallelLLM", _both(llm))
    scan("ParallelLLM.to_dict", llm.to_dict())
    scan("ParallelLLM.to_json", llm.to_json())
    scan("ParallelLLM.model_dump", llm.model_dump())
    scan("ParallelLLM.model_dump_json", llm.model_dump_json())
    scan("ParallelLLM pickle", pickle.dumps(llm))
    scan("ParallelLLM.client", _both(llm.client))
    response = llm.chat([ChatMessage(role="user", content=QUESTION)])
    scan("ChatResponse", _both(response))
    scan("ChatResponse.raw", json.dumps(response.raw, default=str))
    chunks = list(llm.stream_chat([ChatMessage(role="user", content=QUESTION)]))
    scan("stream chunks", [_both(c) for c in chunks])
    wrong = ParallelLLM(model="lite", **{**_options(emulator), "api_key": WRONG_KEY})
    with pytest.raises(pa.AuthenticationError) as caught:
        wrong.complete(QUESTION)
    scan("AuthenticationError", _both(caught.value))
    scan("AuthenticationError traceback", _traceback(caught.value))
    with pytest.raises(pa.InputError) as bad:
        ParallelLLM(model="lite", **{**_options(emulator), "timeout": -1})
    scan("InputError", _both(bad.value))
    scan("InputError traceback", _traceback(bad.value))
    scan("DEBUG log", debug_logs.text)
    llm.client.close()
    wrong.client.close()


def test_dspy_state_saved_programs_logs_and_errors(
    emulator: testing.ParallelEmulator,
    scan: Scanner,
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    import dspy

    from parallel_adapters.dspy import AsyncParallelEngine, ParallelEngine, ParallelLM

    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    lm = ParallelLM("lite", cache=False, **_options(emulator))
    engine = ParallelEngine(**_options(emulator))
    scan("ParallelLM", _both(lm))
    scan("ParallelEngine", _both(engine))
    scan("AsyncParallelEngine", _both(AsyncParallelEngine(engine)))
    scan("ParallelLM.dump_state", json.dumps(lm.dump_state(), default=str))
    scan("ParallelLM pickle", pickle.dumps(lm))
    scan("ParallelEngine pickle", pickle.dumps(engine))

    program = dspy.Predict("question -> answer")
    program.lm = lm
    with dspy.context(adapter=dspy.JSONAdapter()):
        prediction = program(question=QUESTION)
    scan("Prediction", _both(prediction))
    scan("lm.history", repr(lm.history))
    saved = tmp_path / "program.json"
    program.save(str(saved))
    scan("program.save (json)", saved.read_text())
    whole = tmp_path / "whole"
    program.save(str(whole), save_program=True)
    for path in whole.rglob("*"):
        if path.is_file():
            scan(f"program.save(save_program=True) {path.name}", path.read_bytes())

    wrong = ParallelLM("lite", cache=False, **{**_options(emulator), "api_key": WRONG_KEY})
    with pytest.raises(pa.AuthenticationError) as caught:
        wrong(QUESTION)
    scan("AuthenticationError", _both(caught.value))
    scan("AuthenticationError traceback", _traceback(caught.value))
    scan("DEBUG log", debug_logs.text)
    engine.close()
    lm.engine.close()
    wrong.engine.close()


def test_recorded_cassettes_hold_no_key(
    emulator: testing.ParallelEmulator, scan: Scanner, tmp_path: Path
) -> None:
    import vcr  # type: ignore[import-untyped]

    recorder = vcr.VCR(**testing.vcr_config("emulator/reliability"))
    testing.register_matchers(recorder)
    for auth_header in ("bearer", "x-api-key"):
        cassette = tmp_path / f"{auth_header}.yaml"
        with (
            recorder.use_cassette(str(cassette), record_mode="all"),
            pa.ParallelChat(**_options(emulator, auth_header=auth_header)) as chat,
        ):
            chat(QUESTION)
            chat.stream(QUESTION).collect()
        text = cassette.read_text()
        assert "chat/completions" in text, "the cassette recorded the calls"
        scan(f"fresh cassette ({auth_header})", text)
    committed = sorted((REPO_ROOT / "cassettes").rglob("*.yaml"))
    assert committed
    for path in committed:
        scan(f"cassettes/{path.relative_to(REPO_ROOT / 'cassettes')}", path.read_text())


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = cli_main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cli_output_including_errors(
    emulator: testing.ParallelEmulator,
    scan: Scanner,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    base = ["--base-url", emulator.base_url]
    monkeypatch.setenv("PARALLEL_API_KEY", SENTINEL_KEY)
    runs: list[tuple[str, list[str], int]] = [
        ("ask", ["ask", QUESTION, "--model", "lite", *base], 0),
        ("ask --stream", ["ask", QUESTION, "--stream", *base], 0),
        ("ask --json", ["ask", QUESTION, "--json", "--model", "base", *base], 0),
        ("unknown model", ["ask", QUESTION, "--model", "ultra", *base], 2),
        ("bad timeout", ["ask", QUESTION, "--timeout", "-1", *base], 2),
        ("missing schema", ["ask", QUESTION, "--schema", "/nonexistent.json", *base], 2),
        ("bad argument", ["ask", "--no-such-flag"], 2),
    ]
    for label, argv, expected in runs:
        code, output = _cli(argv, capsys)
        assert code == expected, (label, output)
        scan(f"CLI {label}", output)
    emulator.inject("503", times=3)
    code, output = _cli(["ask", QUESTION, *base], capsys)
    assert code == 1 and "ServerError" in output
    scan("CLI server error", output)
    monkeypatch.setenv("PARALLEL_API_KEY", WRONG_KEY)
    code, output = _cli(["ask", QUESTION, *base], capsys)
    assert code == 1 and "AuthenticationError" in output
    scan("CLI wrong key", output)
    monkeypatch.delenv("PARALLEL_API_KEY")
    code, output = _cli(["ask", QUESTION, *base], capsys)
    assert code == 2 and "PARALLEL_API_KEY" in output
    scan("CLI DEBUG log", debug_logs.text)


def test_the_scanner_finds_a_leak() -> None:
    # The check above can fail: a key in any of these forms is caught.
    for text in (SENTINEL_KEY, f"Authorization: Bearer {WRONG_KEY}", f"b'{SENTINEL_KEY}'"):
        assert testing.find_secrets(text, SECRETS)
