"""What every peer's test checks the same way."""

from __future__ import annotations

from pydantic import BaseModel

QUESTION = "What is the capital of France?"
PARSE_QUESTION = "France's capital and population?"
FRANCE = "https://corpus.parallel-adapters.example/france"


class Country(BaseModel):
    capital: str
    population: int


EXPECTED = Country(capital="Paris", population=68_000_000)
