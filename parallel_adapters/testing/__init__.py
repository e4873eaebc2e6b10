"""A local emulator of the Parallel Chat API, and helpers for recorded-cassette tests.

Needs the `emulator` extra (`pip install "parallel-adapters[emulator]"`).
"""

from ._cassettes import (
    PROVENANCE_HEADER,
    RecordingBackend,
    backend_kind,
    emulator_provenance,
    find_secrets,
    json_body_matcher,
    provenance_for,
    recording_backend,
    register_matchers,
    vcr_config,
)
from ._corpus import CorpusPage, load_default_corpus
from ._emulator import DEFAULT_API_KEY, DEFAULT_STALL_SECONDS, ParallelEmulator, build_app, serve
from ._faults import FAULT_HEADER, FAULTS, Fault, FaultQueue
from ._latency import LatencyModel
from ._log import RequestLogEntry
from ._ratelimit import RateLimit
from ._wire import PROFILES, Profile

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_STALL_SECONDS",
    "FAULTS",
    "FAULT_HEADER",
    "PROFILES",
    "PROVENANCE_HEADER",
    "CorpusPage",
    "Fault",
    "FaultQueue",
    "LatencyModel",
    "ParallelEmulator",
    "Profile",
    "RateLimit",
    "RecordingBackend",
    "RequestLogEntry",
    "backend_kind",
    "build_app",
    "emulator_provenance",
    "find_secrets",
    "json_body_matcher",
    "load_default_corpus",
    "provenance_for",
    "recording_backend",
    "register_matchers",
    "serve",
    "vcr_config",
]
