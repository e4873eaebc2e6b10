"""`ParallelWebQueryEngine`: ask Parallel directly; its citations become source nodes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Generator
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.base.response.schema import (
    AsyncStreamingResponse,
    Response,
    StreamingResponse,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, TextNode

from .._core import Citation, CitedSpan, InputError, Source, insert_markers, mark_spans
from ._llm import ParallelLLM
from ._research import CITED_SPANS_KEY, is_responses_answer, research_of, spans_of

__all__ = ["ParallelWebQueryEngine", "marked_text", "source_nodes_of"]

# Stable node ids: the same page cited for the same field is the same node.
_NODE_NAMESPACE = uuid.UUID("5a1d2c4e-7f0b-4b8e-9a51-3c6f1e2d8b70")


def _node(source: Source) -> NodeWithScore:
    # Unknown values are left out rather than stored as None, which many stores reject.
    metadata: dict[str, Any] = {
        key: value
        for key, value in (
            ("url", source.url),
            ("title", source.title),
            ("field", source.field),
            ("confidence", source.confidence),
        )
        if value is not None
    }
    node = TextNode(
        id_=str(uuid.uuid5(_NODE_NAMESPACE, f"{source.field}\n{source.url}")),
        text="\n\n".join(source.excerpts) or source.title or source.url,
        metadata=metadata,
        # The LLM reading these nodes needs where a passage is from, not our bookkeeping.
        excluded_llm_metadata_keys=["field", "confidence"],
        excluded_embed_metadata_keys=["field", "confidence"],
    )
    # Parallel's confidence is a label (low/medium/high), not a similarity: no score.
    return NodeWithScore(node=node, score=None)


def _answer_text(response: Any) -> str:
    if isinstance(response, ChatResponse):
        return response.message.content or ""
    for name in ("text", "response"):  # CompletionResponse, query engine Response
        value = getattr(response, name, None)
        if isinstance(value, str):
            return value
    return ""


def _span_node(
    citation: Citation, spans: list[CitedSpan], text: str, shown: list[CitedSpan]
) -> NodeWithScore:
    """`spans` index `text`, the answer as sent (the node's passages); `shown` are the
    same spans in the text the user is handed (with `[n]` markers, when asked for)."""
    passages = list(dict.fromkeys(text[s.start : s.end] for s in spans if s.start < s.end))
    passages = [p for p in passages if p.strip()]
    metadata: dict[str, Any] = {"url": citation.url}
    title = citation.title or next((s.title for s in spans if s.title), None)
    if title:
        metadata["title"] = title
    # [start, end) pairs into the text handed out: lists of ints, which stores accept.
    metadata["spans"] = [[s.start, s.end] for s in shown]
    node = TextNode(
        id_=str(uuid.uuid5(_NODE_NAMESPACE, f"responses\n{citation.url}")),
        # The answer's passages this page backs; the page's own excerpts if none is known.
        text="\n\n".join(passages or citation.excerpts) or title or citation.url,
        metadata=metadata,
        excluded_llm_metadata_keys=["spans"],
        excluded_embed_metadata_keys=["spans"],
    )
    return NodeWithScore(node=node, score=None)


def source_nodes_of(response: Any) -> list[NodeWithScore]:
    """Source nodes for a `ParallelLLM` response (or a `ParallelWebQueryEngine` one).

    Chat API models: one node per cited page and output field; text = the excerpts;
    metadata `url`, `title`, `field` and `confidence`. Responses API (`model="parallel"`):
    one node per citation, in citation order; text = the passages of the answer it backs;
    metadata `url`, `title` and `spans` (`[start, end]` pairs into the answer text).
    """
    research = research_of(response)
    if not is_responses_answer(response):
        return [_node(source) for source in research.sources]
    spans = spans_of(response)
    return _span_nodes(research.citations, _answer_text(response), spans, spans)


def _span_nodes(
    citations: list[Citation], text: str, spans: list[CitedSpan], shown: list[CitedSpan]
) -> list[NodeWithScore]:
    nodes = []
    for citation in citations:
        mine = [i for i, s in enumerate(spans) if s.url == citation.url]
        nodes.append(_span_node(citation, [spans[i] for i in mine], text, [shown[i] for i in mine]))
    return nodes


def marked_text(response: Any, template: str = "[{n}]") -> str:
    """The answer text with `template.format(n=...)` markers; `n` numbers `source_nodes_of`.

    Responses API answers get each marker right after the passage its page backs. Chat
    API answers cite per output field, not per passage, so every source's marker follows
    the whole answer (a plain-text answer has one field, `output`, which is all of it).
    """
    text = _answer_text(response)
    research = research_of(response)
    if is_responses_answer(response):
        numbers = {c.url: n for n, c in enumerate(research.citations, 1)}
        return insert_markers(text, spans_of(response), numbers, template)
    count = len(research.sources)
    if not count:
        return text
    return text + " " + "".join(template.format(n=n) for n in range(1, count + 1))


def _metadata(response: ChatResponse) -> dict[str, Any]:
    return dict(response.additional_kwargs)


def _parallel_llm(llm: Any) -> ParallelLLM:
    """`llm`, else `Settings.llm` when it is a `ParallelLLM`; an `InputError` says what to
    pass otherwise (pydantic's would only say the field is missing)."""
    fix = 'pass llm=ParallelLLM(model="base") or set Settings.llm = ParallelLLM(model="base")'
    if llm is not None:
        if isinstance(llm, ParallelLLM):
            return llm
        raise InputError(
            f"ParallelWebQueryEngine needs a ParallelLLM, but llm= is a {type(llm).__name__}; {fix}"
        )
    # `Settings._llm`, not `Settings.llm`: reading the property when nothing is set builds
    # LlamaIndex's default OpenAI LLM (or fails for the want of its package or key).
    from llama_index.core import Settings

    if isinstance(getattr(Settings, "_llm", None), ParallelLLM):
        found = Settings.llm  # the property also attaches Settings.callback_manager
        assert isinstance(found, ParallelLLM)
        return found
    current = getattr(Settings, "_llm", None)
    where = (
        "Settings.llm is not set"
        if current is None
        else (f"Settings.llm is a {type(current).__name__}")
    )
    raise InputError(f"ParallelWebQueryEngine needs a ParallelLLM and {where}; {fix}")


class ParallelWebQueryEngine(CustomQueryEngine):
    """A query engine that answers from the web through Parallel, with its sources.

    `query()` returns a `Response` whose `source_nodes` are the cited pages and whose
    `metadata` holds `basis`, `citations` and `interaction_id`, so it works wherever
    LlamaIndex reads source nodes, including as a `QueryEngineTool` in an agent. Use a
    research model (`lite`, `base`, `core`) or the Responses API (`parallel`, one node per
    citation holding the passages it backs): `speed` answers without a basis.
    `citation_markers=True` numbers the answer's citations `[n]` after `source_nodes`.

    `llm.system_prompt`, when set, is sent as the system message. With
    `streaming=True`, `source_nodes` and `metadata` are filled once the stream ends.
    """

    llm: ParallelLLM
    """The LLM that answers; its `model` should be a research model. When not given,
    `Settings.llm` if it is a `ParallelLLM`; otherwise `InputError` says what to pass."""
    streaming: bool = Field(default=False, description="Return a streaming response.")
    """Return a `StreamingResponse` (default False)."""
    citation_markers: bool = Field(
        default=False, description="Put [n] markers matching source_nodes in the answer."
    )
    """Answer text with `[n]` markers, `n` being the 1-based position in `source_nodes`
    (as LlamaIndex's `CitationQueryEngine`); see `marked_text`. Not with `streaming`."""

    def __init__(self, **data: Any) -> None:
        data["llm"] = _parallel_llm(data.get("llm"))
        super().__init__(**data)
        if self.citation_markers and self.streaming:
            # Markers need the cited spans, which arrive with the end of a stream.
            raise InputError("citation_markers=True needs streaming=False")

    def _answer(self, answer: ChatResponse) -> Response:
        if self.citation_markers and is_responses_answer(answer):
            return self._marked_spans_answer(answer)
        text = marked_text(answer) if self.citation_markers else answer.message.content
        return Response(
            response=text,
            source_nodes=source_nodes_of(answer),
            metadata=_metadata(answer),
        )

    @staticmethod
    def _marked_spans_answer(answer: ChatResponse) -> Response:
        """Markers in a Responses answer shift the text after them: the spans handed out
        (source nodes' `spans`, `metadata["cited_spans"]`) are moved to match."""
        text = _answer_text(answer)
        research = research_of(answer)
        numbers = {c.url: n for n, c in enumerate(research.citations, 1)}
        spans = [s for s in spans_of(answer) if 0 <= s.start <= s.end <= len(text)]
        marked, shown = mark_spans(text, spans, numbers, "[{n}]")
        metadata = _metadata(answer)
        metadata[CITED_SPANS_KEY] = [s.model_dump(mode="json") for s in shown]
        return Response(
            response=marked,
            source_nodes=_span_nodes(research.citations, text, spans, shown),
            metadata=metadata,
        )

    def _messages(self, query_str: str) -> list[ChatMessage]:
        return self.llm._extend_messages([ChatMessage(role=MessageRole.USER, content=query_str)])

    def custom_query(self, query_str: str) -> Response | StreamingResponse:
        """Answer `query_str` (called by `query()`): the cited pages as `source_nodes`."""
        messages = self._messages(query_str)
        if self.streaming:
            return self._streaming(self.llm.stream_chat(messages))
        return self._answer(self.llm.chat(messages))

    async def acustom_query(self, query_str: str) -> Response | AsyncStreamingResponse:
        """The async `custom_query` (called by `aquery()`)."""
        messages = self._messages(query_str)
        if self.streaming:
            return self._astreaming(await self.llm.astream_chat(messages))
        return self._answer(await self.llm.achat(messages))

    @staticmethod
    def _streaming(chunks: Generator[ChatResponse, None, None]) -> StreamingResponse:
        nodes: list[NodeWithScore] = []
        metadata: dict[str, Any] = {}

        def tokens() -> Generator[str, None, None]:
            last: ChatResponse | None = None
            for chunk in chunks:
                last = chunk
                if chunk.delta:
                    yield chunk.delta
            if last is not None:
                nodes.extend(source_nodes_of(last))
                metadata.update(_metadata(last))

        return StreamingResponse(response_gen=tokens(), source_nodes=nodes, metadata=metadata)

    @staticmethod
    def _astreaming(chunks: AsyncGenerator[ChatResponse, None]) -> AsyncStreamingResponse:
        nodes: list[NodeWithScore] = []
        metadata: dict[str, Any] = {}

        async def tokens() -> AsyncGenerator[str, None]:
            last: ChatResponse | None = None
            async for chunk in chunks:
                last = chunk
                if chunk.delta:
                    yield chunk.delta
            if last is not None:
                nodes.extend(source_nodes_of(last))
                metadata.update(_metadata(last))

        return AsyncStreamingResponse(response_gen=tokens(), source_nodes=nodes, metadata=metadata)
