"""`ParallelLLM.as_structured_llm(...)`: LlamaIndex's `StructuredLLM`, keeping the research.

LlamaIndex's `StructuredLLM.chat` asks its LLM for the parsed object only
(`structured_predict`), so the answer's basis and interaction id never reach the
response it builds. Here the object and the response it came from are asked for together,
and the response keeps `raw` = the object, as LlamaIndex documents, plus the research in
`additional_kwargs` like every `ParallelLLM` response. `complete`/`acomplete` go
through these methods, so they carry it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms.structured_llm import StructuredLLM
from llama_index.core.prompts import ChatPromptTemplate, PromptTemplate

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


def _response(output: BaseModel, source: ChatResponse | None) -> ChatResponse:
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=output.model_dump_json()),
        raw=output,
        additional_kwargs=dict(source.additional_kwargs) if source is not None else {},
    )


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
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        prompt = ChatPromptTemplate(message_templates=messages)
        output, source = await self._source().astructured_response(
            self.output_cls,
            prompt,  # type: ignore[arg-type]
            kwargs,
        )
        return _response(output, source)
