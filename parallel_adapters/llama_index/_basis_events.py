"""Collect the basis of every `ParallelLLM` call made while standard engines answer.

Query and chat engines keep only the answer text, so the basis never reaches their
`Response`. LlamaIndex's instrumentation still sees every LLM call: one event handler
on the root dispatcher routes each finished `ParallelLLM` chat call to the
`collect_basis()` blocks that were active when the call *started*.

Scoping by start, not by end, matters: chat engines read streamed answers in a worker
thread that does not inherit the caller's context. The start and end events share a
span id, which is how a call found at its start is recognised at its end.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent, LLMChatStartEvent

from ..core import CallCollector, Research, ResearchFields
from ._research import research_of

__all__ = ["BasisCollector", "LLMCall", "collect_basis"]

# Calls started but not yet finished; bounded so that abandoned streams cannot leak.
_MAX_PENDING = 4096


@dataclass(frozen=True)
class LLMCall(ResearchFields):
    """One finished `ParallelLLM` chat call: what was asked, answered and cited."""

    messages: list[ChatMessage]
    """The messages sent, after LlamaIndex's prompt templates."""
    response: ChatResponse
    """The LLM's response (for a stream: its closing chunk, which holds the whole text)."""
    research: Research
    """The basis, citations and interaction id behind the answer."""

    @property
    def text(self) -> str:
        """The answer's text."""
        return self.response.message.content or ""

    @property
    def model(self) -> str | None:
        """The model that answered, when the response names it."""
        model = self.response.additional_kwargs.get("model")
        return model if isinstance(model, str) else None


class BasisCollector(CallCollector[LLMCall]):
    """The `ParallelLLM` calls started inside a `collect_basis()` block, in finishing order.

    A streamed call is added when its stream has been read to the end, even if that
    happens after the block has closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self._token: Token[tuple[BasisCollector, ...]] | None = None

    def __enter__(self) -> BasisCollector:
        if self._token is not None:
            raise RuntimeError("this BasisCollector is already active")
        _install_router()
        self._token = _active.set((*_active.get(), self))
        return self

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _active.reset(self._token)
            self._token = None


def collect_basis() -> BasisCollector:
    """Record the basis of the `ParallelLLM` calls made inside a `with` block.

    ```python
    with collect_basis() as calls:
        response = index.as_query_engine(llm=llm).query("...")
    calls.citations        # every cited page, one per URL
    calls.last.basis       # the basis of the final answer
    ```

    Scoped to the current context (thread or asyncio task, and the worker threads
    LlamaIndex starts for them), so concurrent requests never see each other's calls.
    Blocks may nest; an inner call is recorded by every enclosing block.
    """
    return BasisCollector()


_active: ContextVar[tuple[BasisCollector, ...]] = ContextVar(
    "parallel_adapters_basis_collectors", default=()
)
_pending: OrderedDict[str, tuple[BasisCollector, ...]] = OrderedDict()
_pending_lock = threading.Lock()


class _BasisRouter(BaseEventHandler):
    """Routes finished `ParallelLLM` chat calls to the collectors active at their start."""

    @classmethod
    def class_name(cls) -> str:
        return "ParallelBasisRouter"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, LLMChatStartEvent):
            collectors = _active.get()
            if collectors and event.span_id:
                with _pending_lock:
                    _pending[event.span_id] = collectors
                    while len(_pending) > _MAX_PENDING:
                        _pending.popitem(last=False)
        elif isinstance(event, LLMChatEndEvent):
            started = self._take(event.span_id)
            if started is not None:
                collectors = started
            elif event.span_id is None:
                # No span to match by: fall back to the context of the end event.
                collectors = _active.get()
            else:
                collectors = ()
            response = event.response
            # Only ParallelLLM responses carry a basis key (possibly an empty list).
            if collectors and response is not None and "basis" in response.additional_kwargs:
                call = LLMCall(
                    messages=list(event.messages),
                    response=response,
                    research=research_of(response),
                )
                for collector in collectors:
                    collector.add(call)
        elif isinstance(event, ExceptionEvent):
            self._take(event.span_id)

    @staticmethod
    def _take(span_id: str | None) -> tuple[BasisCollector, ...] | None:
        if not span_id:
            return None
        with _pending_lock:
            return _pending.pop(span_id, None)


_router: _BasisRouter | None = None
_router_lock = threading.Lock()


def _install_router() -> None:
    global _router
    with _router_lock:
        if _router is None:
            _router = _BasisRouter()
            get_dispatcher().add_event_handler(_router)
