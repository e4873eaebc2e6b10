"""A user's script, written as the docs show: it must type-check under `mypy --strict`
and pyright with no casts, and it runs (tests/typecheck/test_user_script.py)."""

from __future__ import annotations

import asyncio
import sys

from pydantic import BaseModel

import parallel_adapters as pa
from parallel_adapters import Completion, ParallelChat, complete, configure


class Country(BaseModel):
    name: str
    capital: str


def main(base_url: str) -> list[str]:
    lines: list[str] = []
    configure(base_url=base_url, api_key="test-key", model="base", requests_per_minute=None)
    answer: Completion = complete("What is the capital of France?")
    lines.append(answer.text)
    lines += [f"{citation.title}: {citation.url}" for citation in answer.citations]

    with ParallelChat("base", base_url=base_url, api_key="test-key", timeout=30.0) as chat:
        reply = chat("What is the capital of Japan?")  # __enter__ keeps the subclass
        lines.append(reply.text)
        country = chat.complete("What is the capital of Japan?", response_format=Country)
        parsed: Country = country.parsed_as(Country)
        lines.append(parsed.capital)
        lines.append("".join(part.delta for part in chat.stream("What is DSPy?")))

    async def ask() -> str:
        async with ParallelChat("base", base_url=base_url, api_key="test-key") as chat:
            return (await chat.acomplete("What is the capital of Canada?")).text

    lines.append(asyncio.run(ask()))
    lines.append(pa.default_chat().model)
    return lines


def typos() -> None:
    """Never called: options are checked by name and type, so these are caught before
    they run (the ignores would be reported as unused otherwise)."""
    ParallelChat("base", timout=30)  # type: ignore[call-arg]
    ParallelChat("base", max_retries="3")  # type: ignore[arg-type]
    configure(colour="blue")  # type: ignore[call-arg]


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1])))
