"""Fixtures for the clients that run in environments of their own (see tests/peers).

Self-contained on purpose: `.ci/run` runs each `isolated/<client>/` directory with
`--confcutdir` here, in a venv holding only the client, pytest and this project with its
emulator extra, so nothing above this file is imported.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from parallel_adapters.testing import ParallelEmulator

API_KEY = "test-key"
QUESTION = "What is the capital of France?"
PARSE_QUESTION = "France's capital and population?"
FRANCE = "https://corpus.parallel-adapters.example/france"


class Country(BaseModel):
    capital: str
    population: int


EXPECTED = Country(capital="Paris", population=68_000_000)


@pytest.fixture(scope="session")
def emulator() -> Iterator[ParallelEmulator]:
    """The emulator with its default (research simulator) responder."""
    with ParallelEmulator(api_key=API_KEY) as emu:
        yield emu
