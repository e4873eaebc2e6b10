"""Helpers for vcrpy/pytest-recording cassettes of Parallel Chat API traffic.

- `vcr_config(provenance)`: the cassette settings: credentials filtered, requests matched
  on method + path + JSON body (so a cassette replays whatever host and port recorded it),
  and a provenance header (`x-recorded-from: live` or `emulator/<version>`) on every
  recorded response.
- `register_matchers(vcr)`: registers the "json_body" matcher that config refers to; call
  it from pytest-recording's `pytest_recording_configure(config, vcr)` hook.
- `recording_backend(record_mode)`: where tests should send requests: nowhere real when
  replaying, the live API when recording with PARALLEL_API_KEY set, the emulator otherwise
  (started for the duration of the `with` block).
- `live_recording_skip(...)`: why a test must keep its emulator recording when the others
  are re-recorded live (it injects faults, or asks for a quirk profile), else None.
- `find_secrets(text, secrets)`: what a committed cassette must never contain.

vcrpy itself is not imported here: these are plain functions and dicts it accepts.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from .._version import __version__

PROVENANCE_HEADER = "x-recorded-from"
"""Response header stamped into every recorded interaction: the backend it came from."""
LIVE_BASE_URL = "https://api.parallel.ai"
# Replays never reach it (vcrpy answers), but the client still needs some URL and key.
REPLAY_BASE_URL = "http://127.0.0.1:8787"
REPLAY_API_KEY = "test-key"
API_KEY_ENV = "PARALLEL_API_KEY"
BASE_URL_ENV = "PARALLEL_BASE_URL"

_SECRET_REQUEST_HEADERS = ("authorization", "x-api-key", "proxy-authorization", "cookie")
_BEARER = re.compile(r"bearer\s+[^\s'\"]+", re.IGNORECASE)

BackendKind = Literal["replay", "live", "emulator"]

EMULATOR_ONLY_MARKER = "emulator_only"
"""pytest marker of a cassette test that only the emulator can record (faults it injects)."""
# The emulator's quirk profile that describes the real API; the others exist only locally.
_LIVE_PROFILE = "documented"


def emulator_provenance() -> str:
    """`emulator/<parallel-adapters version>`, the provenance of emulator recordings."""
    return f"emulator/{__version__}"


def vcr_config(provenance: str = "unknown") -> dict[str, Any]:
    """Keyword arguments for `vcr.use_cassette` (the `vcr_config` fixture's value)."""
    return {
        "filter_headers": [(name, None) for name in _SECRET_REQUEST_HEADERS],
        "match_on": ("method", "path", "json_body"),
        "decode_compressed_response": True,
        "before_record_response": provenance_stamp(provenance),
    }


def provenance_stamp(provenance: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A `before_record_response` hook: add the provenance header, drop cookies.

    vcrpy also runs this hook on responses it loads from a cassette, so a header that is
    already there is kept: a replayed response still says where it was recorded.
    """

    def stamp(response: dict[str, Any]) -> dict[str, Any]:
        headers = response.setdefault("headers", {})
        for name in [n for n in headers if n.lower() == "set-cookie"]:
            del headers[name]
        if not any(n.lower() == PROVENANCE_HEADER for n in headers):
            headers[PROVENANCE_HEADER] = [provenance]
        return response

    return stamp


class _RecordedRequest(Protocol):
    @property
    def body(self) -> bytes | str | None: ...


class _MatcherRegistry(Protocol):
    def register_matcher(self, name: str, matcher: Callable[..., Any]) -> None: ...


def json_body_matcher(r1: _RecordedRequest, r2: _RecordedRequest) -> None:
    """vcrpy matcher: equal JSON bodies (key order and whitespace ignored), else equal bytes.

    Raises AssertionError on a mismatch, which vcrpy shows when no cassette entry matches.
    """
    first, second = _parsed_body(r1.body), _parsed_body(r2.body)
    if first != second:
        raise AssertionError(f"request bodies differ: {first!r} != {second!r}")


def register_matchers(vcr: _MatcherRegistry) -> None:
    """Register `json_body_matcher` on a vcrpy `VCR` as `"json_body"`, for `match_on`."""
    vcr.register_matcher("json_body", json_body_matcher)


def _parsed_body(body: bytes | str | None) -> object:
    if body is None or body in (b"", ""):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.encode() if isinstance(body, str) else body


@dataclass(frozen=True)
class RecordingBackend:
    """Where a cassette test's client should point."""

    kind: BackendKind
    """`"replay"` (vcrpy answers from the cassette), `"live"` or `"emulator"`."""
    base_url: str
    """The client's `base_url`."""
    api_key: str
    """The client's key: the real one when live, a fixed test key otherwise."""

    @property
    def provenance(self) -> str:
        """The value recordings made against this backend get in `PROVENANCE_HEADER`."""
        return provenance_for(self.kind)


def provenance_for(kind: BackendKind) -> str:
    """The provenance header value of recordings made against this kind of backend."""
    return {"live": "live", "emulator": emulator_provenance()}.get(kind, "replay")


def backend_kind(record_mode: str, environ: Mapping[str, str] = os.environ) -> BackendKind:
    """ "replay" in record mode "none"; otherwise "live" if PARALLEL_API_KEY is set, else
    "emulator"."""
    if record_mode == "none":
        return "replay"
    return "live" if environ.get(API_KEY_ENV) else "emulator"


@contextmanager
def recording_backend(
    record_mode: str, environ: Mapping[str, str] = os.environ
) -> Iterator[RecordingBackend]:
    """The backend for this record mode, with an emulator running while it is needed."""
    kind = backend_kind(record_mode, environ)
    if kind == "replay":
        yield RecordingBackend("replay", REPLAY_BASE_URL, REPLAY_API_KEY)
    elif kind == "live":
        base_url = environ.get(BASE_URL_ENV) or LIVE_BASE_URL
        yield RecordingBackend("live", base_url, environ[API_KEY_ENV])
    else:
        from ._emulator import ParallelEmulator  # only recording needs a server

        with ParallelEmulator(api_key=REPLAY_API_KEY) as emulator:
            yield RecordingBackend("emulator", emulator.base_url, REPLAY_API_KEY)


def live_recording_skip(
    record_mode: str,
    markers: Iterable[str],
    params: Mapping[str, object],
    environ: Mapping[str, str] = os.environ,
) -> str | None:
    """Why this test is not re-recorded live, or None when it is (or nothing is live).

    The live API cannot be told to fail on cue or to answer in another quirk profile, so a
    test marked `emulator_only`, or parametrized with a `profile` other than the documented
    one, keeps its emulator cassette: skipping it before the `vcr` fixture runs leaves the
    file untouched even in record mode "rewrite".
    """
    if backend_kind(record_mode, environ) != "live":
        return None
    if EMULATOR_ONLY_MARKER in set(markers):
        return "recorded against the emulator only (it injects faults); cassette kept"
    profile = params.get("profile", _LIVE_PROFILE)
    if profile != _LIVE_PROFILE:
        return f"the {profile!r} quirk profile exists only in the emulator; cassette kept"
    return None


def find_secrets(text: str, secrets: Iterable[str]) -> list[str]:
    """Every way `text` leaks a credential: a listed secret, or any Bearer token."""
    found = [f"the secret {s[:4]}..." for s in secrets if s and s in text]
    found += [f"a bearer token ({m.group(0)[:12]}...)" for m in _BEARER.finditer(text)]
    return found
