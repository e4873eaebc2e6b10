"""The recorded-cassette harness, end to end.

The `vcr`-marked tests replay cassettes under cassettes/tests/testing/test_cassette_harness/
(recorded against the emulator; `pytest -m vcr --record-mode=rewrite` re-records them, live
when PARALLEL_API_KEY is set), so their assertions hold for the real API as well. The other
tests drive vcrpy directly in a temporary directory to prove the configuration: credentials
filtered, provenance stamped, and matching on method + path + JSON body only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import vcr
import vcr.errors
import yaml

from parallel_adapters import testing
from parallel_adapters.testing import ParallelEmulator, RecordingBackend

from .support import QUESTION, ask


def _sdk(backend: RecordingBackend) -> openai.OpenAI:
    return openai.OpenAI(base_url=backend.base_url, api_key=backend.api_key, max_retries=0)


@pytest.mark.vcr
def test_plain_completion(parallel_backend: RecordingBackend) -> None:
    with _sdk(parallel_backend) as sdk:
        completion = sdk.chat.completions.create(model="base", messages=ask(QUESTION))
    assert "Paris" in (completion.choices[0].message.content or "")
    basis = (completion.model_extra or {})["basis"]
    assert basis
    assert basis[0]["citations"]


@pytest.mark.vcr
def test_streamed_completion(parallel_backend: RecordingBackend) -> None:
    with _sdk(parallel_backend) as sdk:
        chunks = list(
            sdk.chat.completions.create(model="speed", messages=ask(QUESTION), stream=True)
        )
    assert "Paris" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.vcr
def test_structured_completion(parallel_backend: RecordingBackend) -> None:
    schema = {
        "type": "object",
        "properties": {"capital": {"type": "string"}},
        "required": ["capital"],
        "additionalProperties": False,
    }
    with _sdk(parallel_backend) as sdk:
        completion = sdk.chat.completions.create(
            model="lite",
            messages=ask(QUESTION),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "capital", "schema": schema},
            },
        )
    answer = json.loads(completion.choices[0].message.content or "{}")
    assert "Paris" in answer["capital"]
    assert [b["field"] for b in (completion.model_extra or {})["basis"]] == ["capital"]


# -- the configuration itself, with vcrpy driven directly ----------------------------------


def _cassette(tmp_path: Path, mode: str, provenance: str = "emulator/test") -> Any:
    recorder = vcr.VCR(record_mode=mode)
    testing.register_matchers(recorder)
    return recorder.use_cassette(str(tmp_path / "c.yaml"), **testing.vcr_config(provenance))


def _post(base_url: str, content: bytes, key: str = "test-key") -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1beta/chat/completions",
        headers={
            "authorization": f"Bearer {key}",
            "x-api-key": key,
            "content-type": "application/json",
        },
        content=content,
    )


def test_recording_filters_credentials_and_stamps_provenance(
    tmp_path: Path, emulator: ParallelEmulator
) -> None:
    request = json.dumps({"model": "base", "messages": ask()}).encode()
    with _cassette(tmp_path, "all"):
        recorded = _post(emulator.base_url, request)
    text = (tmp_path / "c.yaml").read_text()
    [interaction] = yaml.safe_load(text)["interactions"]

    assert recorded.status_code == 200
    assert "test-key" not in text
    assert testing.find_secrets(text, ["test-key"]) == []
    assert not {"authorization", "x-api-key"} & {
        h.lower() for h in interaction["request"]["headers"]
    }
    assert interaction["response"]["headers"][testing.PROVENANCE_HEADER] == ["emulator/test"]


def test_replay_ignores_host_port_and_json_formatting(
    tmp_path: Path, emulator: ParallelEmulator
) -> None:
    with _cassette(tmp_path, "all"):
        recorded = _post(
            emulator.base_url,
            b'{"model": "base", "messages": [{"role": "user", "content": "What is DSPy?"}]}',
        )
    reordered = b'{"messages":[{"content":"What is DSPy?","role":"user"}],"model":"base"}'
    with _cassette(tmp_path, "none") as cassette:
        replayed = _post("https://api.parallel.ai", reordered, key="another-key")

    assert cassette.play_count == 1
    assert replayed.json() == recorded.json()
    assert replayed.headers[testing.PROVENANCE_HEADER] == "emulator/test"  # kept on replay
    assert emulator.requests[-1].json == json.loads(reordered)  # only the recording hit it


def test_replay_refuses_a_request_it_has_not_recorded(
    tmp_path: Path, emulator: ParallelEmulator
) -> None:
    with _cassette(tmp_path, "all"):
        _post(emulator.base_url, json.dumps({"model": "base", "messages": ask()}).encode())
    other = json.dumps({"model": "core", "messages": ask()}).encode()
    with (
        _cassette(tmp_path, "none"),
        pytest.raises(vcr.errors.CannotOverwriteExistingCassetteException),
    ):
        _post(emulator.base_url, other)
    assert len(emulator.requests) == 1


def test_json_body_matcher() -> None:
    class Recorded:
        def __init__(self, body: bytes | str | None) -> None:
            self.body = body

    testing.json_body_matcher(Recorded(b'{"a": 1, "b": [2]}'), Recorded('{"b":[2],"a":1}'))
    testing.json_body_matcher(Recorded(None), Recorded(b""))
    testing.json_body_matcher(Recorded(b"not json"), Recorded("not json"))
    with pytest.raises(AssertionError, match="bodies differ"):
        testing.json_body_matcher(Recorded(b'{"a": 1}'), Recorded(b'{"a": 2}'))


def test_backend_choice_follows_record_mode_and_key() -> None:
    assert testing.backend_kind("none", {"PARALLEL_API_KEY": "k"}) == "replay"
    assert testing.backend_kind("rewrite", {"PARALLEL_API_KEY": "k"}) == "live"
    assert testing.backend_kind("once", {}) == "emulator"
    with testing.recording_backend("all", {"PARALLEL_API_KEY": "k"}) as live:
        assert (live.base_url, live.api_key, live.provenance) == (
            "https://api.parallel.ai",
            "k",
            "live",
        )
    with testing.recording_backend("new_episodes", {}) as local:
        assert local.base_url.startswith("http://127.0.0.1:")
        assert local.provenance == testing.emulator_provenance()
        assert httpx.post(f"{local.base_url}/chat/completions").status_code == 401


def test_find_secrets() -> None:
    assert testing.find_secrets("authorization: Bearer sk-123", []) == [
        "a bearer token (Bearer sk-12...)"
    ]
    assert testing.find_secrets("x-api-key: abcd1234", ["abcd1234"]) == ["the secret abcd..."]
    assert testing.find_secrets("bearer tokens are filtered", []) == [
        "a bearer token (bearer token...)"
    ]
    assert testing.find_secrets("nothing here", ["", "abcd1234"]) == []


def test_live_recording_keeps_emulator_only_cassettes() -> None:
    live = {"PARALLEL_API_KEY": "k"}
    skip = testing.live_recording_skip
    assert skip("rewrite", [testing.EMULATOR_ONLY_MARKER, "vcr"], {}, live)
    assert skip("rewrite", ["vcr"], {"profile": "openai"}, live)
    assert skip("rewrite", ["vcr"], {"profile": "documented"}, live) is None
    assert skip("rewrite", ["vcr"], {}, live) is None
    # Replaying, or recording against the emulator, runs every test.
    assert skip("none", [testing.EMULATOR_ONLY_MARKER], {"profile": "openai"}, live) is None
    assert skip("rewrite", [testing.EMULATOR_ONLY_MARKER], {"profile": "openai"}, {}) is None
