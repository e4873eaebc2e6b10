"""Collect the basis of every `ParallelLLM` call made while standard engines answer.

Query and chat engines keep only the answer text, so the basis never reaches their
`Response`. LlamaIndex's instrumentation still sees every LLM call: one event handler
on the root dispatcher routes each finished `ParallelLLM` chat call to the
`collect_basis()` blocks that were active when the call *started*.

Scoping by start, not by end, matters: chat engines read streamed answers in a worker
thread that does not inherit the caller's context. The start and end events share a
span id, which is how a call found at its start is recognised at its end.

Streaming query engines go further: they return before the LLM is called, and the call
starts only when `response_gen` is read, often after the block. So a query that ends
inside a block hands that block on to its token stream: whoever reads it, and whenever,
the call it makes is recorded by the blocks that were active at the query.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
)
from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatStartEvent,
    LLMCompletionEndEvent,
    LLMCompletionStartEvent,
)
from llama_index.core.instrumentation.events.query import QueryEndEvent

from .._core import CallCollector, Research, ResearchFields
from ._research import research_of
from ._structured import ParallelStructuredLLM

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


# LLMs that pass on the response of a ParallelLLM call (found by the class name in their
# start events' `model_dict`): that call is recorded already, so theirs is not.
_WRAPPER_CLASS_NAMES = frozenset({ParallelStructuredLLM.class_name()})


def _with(collectors: tuple[BasisCollector, ...]) -> Token[tuple[BasisCollector, ...]]:
    active = _active.get()
    return _active.set((*active, *(c for c in collectors if c not in active)))


def _scoped_tokens(
    tokens: Iterator[str], collectors: tuple[BasisCollector, ...]
) -> Generator[str, None, None]:
    """A query's token stream, read with the query's collectors active.

    The collectors are active only while the underlying stream runs (the LLM call
    starts and ends inside it), never while the reader's own code runs between tokens.
    """
    while True:
        token = _with(collectors)
        try:
            text = next(tokens)
        except StopIteration:
            return
        finally:
            _active.reset(token)
        yield text


async def _ascoped_tokens(
    tokens: AsyncIterator[str], collectors: tuple[BasisCollector, ...]
) -> AsyncGenerator[str, None]:
    """The async twin of `_scoped_tokens`."""
    while True:
        token = _with(collectors)
        try:
            text = await tokens.__anext__()
        except StopAsyncIteration:
            return
        finally:
            _active.reset(token)
        yield text


_scoped_streams: weakref.WeakSet[Any] = weakref.WeakSet()


def _scope_stream(response: Any, collectors: tuple[BasisCollector, ...]) -> None:
    gen = getattr(response, "response_gen", None)
    try:
        if gen is None or gen in _scoped_streams:
            return  # not a stream, or already scoped by an inner query engine
    except TypeError:  # not weak-referenceable, so not a generator we could scope
        return
    if isinstance(response, StreamingResponse):
        response.response_gen = _scoped_tokens(iter(gen), collectors)
    elif isinstance(response, AsyncStreamingResponse):
        response.response_gen = _ascoped_tokens(aiter(gen), collectors)
    else:
        return
    _scoped_streams.add(response.response_gen)


def _completion_call(
    prompt: str, response: CompletionResponse
) -> tuple[list[ChatMessage], ChatResponse]:
    # `complete()` sends the prompt as one user message; record it as that chat call.
    chat = ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=response.text),
        raw=response.raw,
        delta=response.delta,
        additional_kwargs=response.additional_kwargs,
    )
    return [ChatMessage(role=MessageRole.USER, content=prompt)], chat


class _BasisRouter(BaseEventHandler):
    """Routes finished `ParallelLLM` calls to the collectors active at their start."""

    @classmethod
    def class_name(cls) -> str:
        return "ParallelBasisRouter"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, (LLMChatStartEvent, LLMCompletionStartEvent)):
            collectors = _active.get()
            if (
                collectors
                and event.span_id
                and event.model_dict.get("class_name") not in _WRAPPER_CLASS_NAMES
            ):
                with _pending_lock:
                    _pending[event.span_id] = collectors
                    while len(_pending) > _MAX_PENDING:
                        _pending.popitem(last=False)
        elif isinstance(event, LLMChatEndEvent):
            if event.response is not None:
                self._finish(event.span_id, list(event.messages), event.response)
        elif isinstance(event, LLMCompletionEndEvent):
            self._finish(event.span_id, *_completion_call(event.prompt, event.response))
        elif isinstance(event, QueryEndEvent):
            collectors = _active.get()
            if collectors:
                _scope_stream(event.response, collectors)
        elif isinstance(event, ExceptionEvent):
            self._take(event.span_id)

    def _finish(
        self, span_id: str | None, messages: list[ChatMessage], response: ChatResponse
    ) -> None:
        started = self._take(span_id)
        if started is not None:
            collectors = started
        elif span_id is None:
            # No span to match by: fall back to the context of the end event.
            collectors = _active.get()
        else:
            collectors = ()
        # Only ParallelLLM responses carry a basis key (possibly an empty list).
        if collectors and "basis" in response.additional_kwargs:
            call = LLMCall(messages=messages, response=response, research=research_of(response))
            for collector in collectors:
                collector.add(call)

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
