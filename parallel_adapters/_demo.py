"""`parallel-adapters demo`: the plain callable, streaming, LlamaIndex, DSPy and the
Responses API, end to end.

Offline (the embedded emulator, no key) unless `--live` is given; each framework section
is skipped, with the extra to install, when its framework is missing.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["DemoError", "run_demo"]

DEFAULT_MODEL = "base"
_QUESTION = "What does Parallel Web Systems do?"
_STREAM_QUESTION = "How does the Parallel Chat API return its sources?"
_WEB_QUESTION = "What is a LlamaIndex query engine?"
_DSPY_QUESTION = "Who proposed the World Wide Web, and where?"
_RESPONSES_QUESTION = "What is the capital of France?"
# The Responses section runs at the cheapest effort whatever --model says.
_RESPONSES_MODEL = "parallel-low"
# Local notes for the LlamaIndex section: an index over them, queried through ParallelLLM.
_NOTES = (
    "Team handbook. Our research assistant answers questions through Parallel's Chat API. "
    "Its answers come with citations, so every claim can be checked against a source.",
    "Team handbook. Production calls use the base model; quick checks use speed, which "
    "answers fastest but returns no citations.",
)
# Streamed text comes in small pieces; a slight gap per piece makes the streaming visible.
_OFFLINE_CHUNK_INTERVAL = 0.01
_WIDTH = 88
_NO_BASIS = "no citations: the {model} model answers without a basis"


class DemoError(Exception):
    """The demo cannot start (e.g. `--live` without a key); the message is one line."""


@dataclass(frozen=True)
class _Backend:
    options: dict[str, Any]
    description: str


@contextmanager
def _backend(live: bool) -> Iterator[_Backend]:
    if live:
        if not os.environ.get("PARALLEL_API_KEY", "").strip():
            raise DemoError("--live needs an API key: set PARALLEL_API_KEY (or drop --live)")
        from ._core import ParallelConfig

        base_url = ParallelConfig.from_options().base_url
        yield _Backend({}, f"live Parallel API ({base_url})")
        return
    try:
        from .testing import LatencyModel, ParallelEmulator
    except ImportError as exc:
        raise DemoError(
            "the offline demo needs the emulator: pip install 'parallel-adapters[emulator]'"
        ) from exc
    latency = LatencyModel.fixed(chunk_interval=_OFFLINE_CHUNK_INTERVAL)
    with ParallelEmulator(api_key=None, latency=latency) as emulator:
        yield _Backend(
            {"base_url": emulator.base_url, "api_key": "offline-demo"},
            f"local emulator ({emulator.base_url}, no API key used, answers from its "
            "bundled offline corpus)",
        )


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._section = 0

    def section(self, title: str) -> None:
        self._section += 1
        heading = f"{self._section}. {title}"
        print(f"\n{heading}\n{'=' * len(heading)}", file=self.out)

    def line(self, text: str = "", indent: int = 0) -> None:
        prefix = " " * indent
        if not text:
            print(file=self.out)
            return
        # URLs stay whole so that terminals can open them.
        wrapped = textwrap.fill(
            text,
            width=_WIDTH,
            initial_indent=prefix,
            subsequent_indent=prefix,
            break_long_words=False,
            break_on_hyphens=False,
        )
        print(wrapped, file=self.out)

    def raw(self, text: str) -> None:
        print(text, file=self.out)

    def code(self, text: str) -> None:
        print(f">>> {text}", file=self.out)

    def citations(self, citations: Sequence[Any], none: str) -> None:
        if not citations:
            self.line(f"({none})", 2)
            return
        self.line("Citations:")
        for number, citation in enumerate(citations, 1):
            title = citation.title or citation.url
            self.raw(f"  [{number}] {title} - {citation.url}")


def _complete(p: _Printer, options: dict[str, Any], model: str) -> None:
    from ._chat import ParallelChat

    p.section("complete(): an answer with numbered citations")
    p.code(f'chat = ParallelChat(model="{model}"); chat.complete("{_QUESTION}")')
    with ParallelChat(model=model, **options) as chat:
        answer = chat.complete(_QUESTION)
    p.line(answer.text)
    p.citations(answer.citations, _NO_BASIS.format(model=model))


def _stream(p: _Printer, options: dict[str, Any], model: str) -> None:
    from ._chat import ParallelChat

    p.section("stream(): the answer printed as it arrives")
    p.code(f'for part in chat.stream("{_STREAM_QUESTION}"): print(part.delta, end="")')
    with ParallelChat(model=model, **options) as chat:
        stream = chat.stream(_STREAM_QUESTION)
        for part in stream:
            p.out.write(part.delta)
            p.out.flush()
        p.out.write("\n")
        completion = stream.completion
    p.line(f"(streamed; the basis arrived with the end: {len(completion.citations)} citation(s))")
    p.citations(completion.citations, _NO_BASIS.format(model=model))


def _missing(p: _Printer, framework: str, extra: str) -> None:
    p.line(f"skipped: {framework} is not installed: pip install 'parallel-adapters[{extra}]'")


def _llama_index(p: _Printer, options: dict[str, Any], model: str) -> None:
    p.section("LlamaIndex: ParallelLLM over local documents, and ParallelWebQueryEngine")
    try:
        from llama_index.core import Document, SummaryIndex

        from .llama_index import ParallelLLM, ParallelWebQueryEngine, collect_basis
    except ImportError:
        _missing(p, "LlamaIndex", "llama-index")
        return
    llm = ParallelLLM(model=model, **options)
    # A summary index needs no embedding model, so the demo needs no other provider.
    index = SummaryIndex.from_documents([Document(text=note) for note in _NOTES])
    question = "Which model does the team use in production, and why not speed?"
    p.line(f"a SummaryIndex over {len(_NOTES)} local notes, queried with ParallelLLM:")
    p.code(f"index.as_query_engine(llm=llm).query({question!r})")
    with collect_basis() as calls:
        response = index.as_query_engine(llm=llm).query(question)
    p.line(str(response))
    p.citations(calls.citations, "no web citations: the answer came from the local notes")

    p.line()
    p.line("ParallelWebQueryEngine: the web as the index; citations become source nodes:")
    p.code(f"ParallelWebQueryEngine(llm=llm).query({_WEB_QUESTION!r})")
    web = ParallelWebQueryEngine(llm=llm).query(_WEB_QUESTION)
    p.line(str(web))
    p.line("Source nodes:")
    if not web.source_nodes:
        p.line(f"({_NO_BASIS.format(model=model)})", 2)
    for number, node in enumerate(web.source_nodes, 1):
        meta = node.node.metadata
        p.raw(f"  [{number}] {meta.get('title', meta['url'])} - {meta['url']}")
        p.line(f"field {meta.get('field')!r}, confidence {meta.get('confidence', 'unknown')}:", 6)
        excerpt = node.node.get_content()
        p.line(f'"{textwrap.shorten(excerpt, 160)}"', 6)
    llm.client.close()


def _dspy(p: _Printer, options: dict[str, Any], model: str) -> None:
    p.section("DSPy: ChainOfThought with JSON output, and its basis")
    try:
        import dspy  # type: ignore[import-untyped]

        from .dspy import ParallelLM, collect_basis
    except ImportError:
        _missing(p, "DSPy", "dspy")
        return
    # cache=False: the demo shows this backend's answer, never one cached from another run.
    lm = ParallelLM(model, cache=False, **options)
    qa = dspy.ChainOfThought("question -> answer")
    p.code("dspy.configure(lm=ParallelLM(...), adapter=dspy.JSONAdapter())")
    p.code(f'dspy.ChainOfThought("question -> answer")(question={_DSPY_QUESTION!r})')
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), collect_basis() as calls:
        prediction = qa(question=_DSPY_QUESTION)
    p.line(f"reasoning: {prediction.reasoning}")
    p.line(f"answer:    {prediction.answer}")
    p.line("Basis (one entry per output field):")
    last = calls.last
    if last is None or not last.basis:
        p.line(f"({_NO_BASIS.format(model=model)})", 2)
    for entry in last.basis if last is not None else []:
        p.line(f"- {entry.field}: confidence {entry.confidence or 'unknown'}", 2)
        for number, citation in enumerate(entry.citations, 1):
            p.raw(f"      [{number}] {citation.title or citation.url} - {citation.url}")


def _responses(p: _Printer, options: dict[str, Any], model: str) -> None:
    from ._chat import ParallelChat

    p.section("Responses API: the answer with inline [n] markers")
    p.code(
        f'chat = ParallelChat(model="{_RESPONSES_MODEL}"); '
        f'chat("{_RESPONSES_QUESTION}").text_with_markers()'
    )
    with ParallelChat(model=_RESPONSES_MODEL, **options) as chat:
        answer = chat.complete(_RESPONSES_QUESTION)
    p.line(answer.text_with_markers())
    p.line(f"({len(answer.cited_spans)} cited span(s); each [n] follows the text it cites)")
    p.citations(answer.citations, "no citations in this answer")


_SEARCH_OBJECTIVE = "What is the capital of Japan?"


def _search(p: _Printer, options: dict[str, Any], model: str) -> None:
    from ._chat import ParallelChat

    p.section("search() and extract(): ranked web pages with excerpts, for your own LLM")
    p.code(f'chat.search("{_SEARCH_OBJECTIVE}", mode="fast", max_results=3)')
    with ParallelChat(**options) as chat:
        found = chat.search(_SEARCH_OBJECTIVE, mode="fast", max_results=3)
        for number, page in enumerate(found.results, 1):
            p.raw(f"  [{number}] {page.title or page.url} - {page.url}")
            if page.excerpts:
                p.line(f'"{textwrap.shorten(page.excerpts[0], 160)}"', 6)
        cost = "no published price" if found.cost is None else f"${found.cost:.4f}"
        p.line(f"(search_id {found.search_id}; cost at published prices: {cost})")
        if found.results:
            url = found.results[0].url
            p.code(f'chat.extract("{url}", "capital", full_content=True)')
            read = chat.extract(url, "capital", full_content=True)
            for page in read.results:
                text = page.full_content or page.text
                p.line(f"{len(text)} characters of full content; excerpts:")
                for excerpt in page.excerpts:
                    p.line(f'"{textwrap.shorten(excerpt, 160)}"', 6)


def run_demo(out: TextIO, *, live: bool = False, model: str | None = None) -> int:
    """Run every section against the emulator (or the live API); print the backend last."""
    model = model or DEFAULT_MODEL
    p = _Printer(out)
    with _backend(live) as backend:
        if not live and os.environ.get("PARALLEL_API_KEY", "").strip():
            p.line("(PARALLEL_API_KEY is set; this demo still runs offline: add --live to use it)")
        p.line(f"parallel-adapters demo, model {model!r}")
        for section in (_complete, _stream, _llama_index, _dspy, _responses, _search):
            section(p, backend.options, model)
        print(f"\nBackend: {backend.description}", file=out)
    return 0
