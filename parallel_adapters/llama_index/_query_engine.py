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

from ..core import Source
from ._llm import ParallelLLM
from ._research import research_of

__all__ = ["ParallelWebQueryEngine", "source_nodes_of"]

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


def source_nodes_of(response: Any) -> list[NodeWithScore]:
    """Source nodes (one per cited page and output field) for a `ParallelLLM` response.

    Node text is the excerpts; metadata holds `url`, `title`, `field` and `confidence`.
    """
    return [_node(source) for source in research_of(response).sources]


def _metadata(response: ChatResponse) -> dict[str, Any]:
    return dict(response.additional_kwargs)


class ParallelWebQueryEngine(CustomQueryEngine):
    """A query engine that answers from the web through Parallel, with its sources.

    `query()` returns a `Response` whose `source_nodes` are the cited pages and whose
    `metadata` holds `basis`, `citations` and `interaction_id`, so it works wherever
    LlamaIndex reads source nodes, including as a `QueryEngineTool` in an agent. Use a
    research model (`lite`, `base`, `core`): `speed` answers without a basis.

    `llm.system_prompt`, when set, is sent as the system message. With
    `streaming=True`, `source_nodes` and `metadata` are filled once the stream ends.
    """

    llm: ParallelLLM
    """The LLM that answers; its `model` should be a research model."""
    streaming: bool = Field(default=False, description="Return a streaming response.")
    """Return a `StreamingResponse` (default False)."""

    def _messages(self, query_str: str) -> list[ChatMessage]:
        return self.llm._extend_messages([ChatMessage(role=MessageRole.USER, content=query_str)])

    def custom_query(self, query_str: str) -> Response | StreamingResponse:
        """Answer `query_str` (called by `query()`): the cited pages as `source_nodes`."""
        messages = self._messages(query_str)
        if self.streaming:
            return self._streaming(self.llm.stream_chat(messages))
        answer = self.llm.chat(messages)
        return Response(
            response=answer.message.content,
            source_nodes=source_nodes_of(answer),
            metadata=_metadata(answer),
        )

    async def acustom_query(self, query_str: str) -> Response | AsyncStreamingResponse:
        """The async `custom_query` (called by `aquery()`)."""
        messages = self._messages(query_str)
        if self.streaming:
            return self._astreaming(await self.llm.astream_chat(messages))
        answer = await self.llm.achat(messages)
        return Response(
            response=answer.message.content,
            source_nodes=source_nodes_of(answer),
            metadata=_metadata(answer),
        )

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
