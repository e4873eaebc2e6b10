"""`ParallelLLM.as_structured_llm(...)`: LlamaIndex's `StructuredLLM`, keeping the research.

LlamaIndex's `StructuredLLM.chat` asks its LLM for the parsed object only
(`structured_predict`), so the answer's basis and interaction id never reach the
response it builds. Here the object and the response it came from are asked for together,
and the response keeps `raw` = the object, as LlamaIndex documents, plus the research in
`additional_kwargs` like every `ParallelLLM` response. `complete`/`acomplete` go
through these methods, so they carry it too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Protocol

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    MessageRole,
)
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms.structured_llm import StructuredLLM
from llama_index.core.prompts import ChatPromptTemplate, PromptTemplate

from ._research import is_responses_answer

__all__ = ["ParallelStructuredLLM"]


class _StructuredSource(Protocol):
    """What `ParallelLLM` offers: the parsed object with the response it came from."""

    def structured_response(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
    ) -> tuple[BaseModel, ChatResponse | None]: ...

    async def astructured_response(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
    ) -> tuple[BaseModel, ChatResponse | None]: ...

    def structured_stream(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
    ) -> Iterator[tuple[Any, ChatResponse]]: ...

    def astructured_stream(
        self,
        output_cls: type[BaseModel],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
    ) -> AsyncIterator[tuple[Any, ChatResponse]]: ...

    def _native_structured(self) -> bool: ...


def _content(output: BaseModel, source: ChatResponse | None) -> str:
    """The object's JSON; on the Responses API the server's own text, which its cited
    spans index (re-serialising it would shift every span)."""
    if source is not None and is_responses_answer(source) and source.message.content:
        return source.message.content
    return output.model_dump_json()


def _response(output: BaseModel, source: ChatResponse | None) -> ChatResponse:
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=_content(output, source)),
        raw=output,
        additional_kwargs=dict(source.additional_kwargs) if source is not None else {},
    )


def _chunk(output: BaseModel, source: ChatResponse) -> ChatResponse:
    # Only ParallelLLM's closing chunk has research in additional_kwargs (a partial
    # chunk's may hold nothing else of interest), so the stream ends with the basis.
    return _response(output, source if "basis" in source.additional_kwargs else None)


def _is_news(partial: Any, previous: Any, chunk: ChatResponse) -> bool:
    """Worth a chunk: the first partial object, one that changed, or the closing chunk
    (the one carrying the basis), even when its object equals the last."""
    return previous is None or partial != previous or "basis" in chunk.additional_kwargs


class ParallelStructuredLLM(StructuredLLM):
    """A `StructuredLLM` over `ParallelLLM` whose responses carry the basis."""

    @classmethod
    def class_name(cls) -> str:
        return "parallel_structured_llm"

    def _source(self) -> _StructuredSource:
        llm: _StructuredSource = self.llm  # type: ignore[assignment]
        return llm

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        # As StructuredLLM: the messages, already formatted, wrapped as a template.
        prompt = ChatPromptTemplate(message_templates=messages)
        output, source = self._source().structured_response(
            self.output_cls,
            prompt,  # type: ignore[arg-type]
            kwargs,
        )
        return _response(output, source)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        # Partial objects as the JSON arrives; the closing chunk carries the basis. (A
        # generator function, as StructuredLLM's own: the decorator wraps its result.)
        prompt = ChatPromptTemplate(message_templates=messages)
        source = self._source()
        if not source._native_structured():
            for partial in self.llm.stream_structured_predict(self.output_cls, prompt, kwargs):
                yield _response(partial, None)
            return
        previous: Any = None
        for partial, chunk in source.structured_stream(
            self.output_cls,
            prompt,  # type: ignore[arg-type]
            kwargs,
        ):
            if _is_news(partial, previous, chunk):
                yield _chunk(partial, chunk)
            previous = partial

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        prompt = ChatPromptTemplate(message_templates=messages)
        source = self._source()

        async def gen() -> ChatResponseAsyncGen:
            if not source._native_structured():
                partials = await self.llm.astream_structured_predict(
                    self.output_cls, prompt, kwargs
                )
                async for partial in partials:
                    yield _response(partial, None)
                return
            previous: Any = None
            async for partial, chunk in source.astructured_stream(
                self.output_cls,
                prompt,  # type: ignore[arg-type]
                kwargs,
            ):
                if _is_news(partial, previous, chunk):
                    yield _chunk(partial, chunk)
                previous = partial

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        prompt = ChatPromptTemplate(message_templates=messages)
        output, source = await self._source().astructured_response(
            self.output_cls,
            prompt,  # type: ignore[arg-type]
            kwargs,
        )
        return _response(output, source)
