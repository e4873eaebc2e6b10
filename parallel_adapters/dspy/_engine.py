"""DSPy engines (`complete(Request) -> Response`, `stream(Request)`) over the core client.

DSPy owns caching, history and usage around an engine; the engine makes one
logical call. That call goes through the core, whose retry layer is the only one
(`ParallelLM` sets DSPy's `num_retries` to 0).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from .._chat import ParallelChat
from .._core import ParallelConfig, ParallelError
from . import _convert
from ._basis import record_live_call
from ._errors import as_dspy_error

__all__ = ["AsyncParallelEngine", "ParallelEngine"]

# DSPy reads these from the engine object (dspy.clients.capabilities): with them,
# JSONAdapter sends a JSON schema built from the signature.
_SUPPORTED_PARAMS = frozenset({"response_format", "stream"})


class ParallelEngine:
    """The synchronous engine: `dspy.LM("parallel/base", engine=ParallelEngine())`.

    Takes the options of `ParallelConfig`; the key defaults to `PARALLEL_API_KEY`.
    Thread-safe: DSPy's Evaluate and Parallel share one engine across threads.
    """

    supports_response_schema = True
    """DSPy may send a JSON schema as `response_format`: the API honours it."""
    supports_function_calling = False
    """The API has no tool calls; DSPy's adapters fall back to prompting."""
    supports_reasoning = False
    """The API has no separate reasoning output (its reasoning is in the basis)."""
    supported_params = _SUPPORTED_PARAMS
    """The request parameters DSPy may pass on."""

    def __init__(self, config: ParallelConfig | None = None, **options: Any) -> None:
        self.client = ParallelChat(config=config, **options)
        """The kit's client, shared by the async engine and by copies of the LM."""

    @property
    def config(self) -> ParallelConfig:
        """The connection settings (the key is a `SecretStr`, never printed)."""
        return self.client.config

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r})"

    def complete(self, request: Any) -> Any:
        """Answer DSPy's request; the basis goes to DSPy's history and `collect_basis`."""
        try:
            completion = self.client.send(_convert.chat_request(self.client, request, stream=False))
        except ParallelError as error:
            raise as_dspy_error(error, model=request.model) from error
        completion = _convert.per_field(completion)
        record_live_call(request.model, completion)
        return _convert.response_from_completion(completion)

    def stream(self, request: Any) -> Iterator[Any]:
        """Answer DSPy's request as stream events, closed by the basis."""
        try:
            chat_request = _convert.chat_request(self.client, request, stream=True)
            chat_stream = self.client.send_stream(chat_request)
            started = False
            try:
                # The core retries only until the first text reaches us; later
                # failures arrive as StreamError with the partial text.
                for part in chat_stream:
                    if not started:
                        started = True
                        yield _convert.start_event(chat_request.model)
                    yield from _convert.text_events(part.delta, chat_request)
                completion = chat_stream.completion
            finally:
                chat_stream.close()
        except ParallelError as error:
            raise as_dspy_error(error, model=request.model) from error
        if not started:
            yield _convert.start_event(completion.model)
        completion = _convert.per_field(completion)
        record_live_call(request.model, completion)
        yield from _convert.closing_events(completion)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def dump_state(self) -> dict[str, Any]:
        """The settings without the key: what a saved DSPy program stores."""
        # Without an address read from PARALLEL_BASE_URL: the loaded copy resolves its own.
        return self.config.saved_options()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> ParallelEngine:
        """Rebuild from `dump_state()`; the key comes from `PARALLEL_API_KEY`."""
        return cls(**state)

    # Copies of an LM share its engine, as DSPy's own LMs share their connection pools
    # (`Module.deepcopy()` in optimizers would otherwise fail on the client's locks).
    def __copy__(self) -> ParallelEngine:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ParallelEngine:
        return self

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # Pickled like saved state: without the key, which comes from the environment.
        return (type(self).load_state, (self.dump_state(),))


class AsyncParallelEngine:
    """The async twin, sharing the sync engine's client (one async client per event loop)."""

    supports_response_schema = True
    """DSPy may send a JSON schema as `response_format`: the API honours it."""
    supports_function_calling = False
    """The API has no tool calls; DSPy's adapters fall back to prompting."""
    supports_reasoning = False
    """The API has no separate reasoning output (its reasoning is in the basis)."""
    supported_params = _SUPPORTED_PARAMS
    """The request parameters DSPy may pass on."""

    def __init__(self, engine: ParallelEngine | None = None, **options: Any) -> None:
        if engine is None:
            engine = ParallelEngine(**options)
        elif options:
            raise TypeError("pass either an engine or options, not both")
        self.engine = engine
        """The synchronous engine whose client and settings this one uses."""

    @property
    def client(self) -> ParallelChat:
        """The client of `engine`."""
        return self.engine.client

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.client.config.base_url!r})"

    async def complete(self, request: Any) -> Any:
        """The async `ParallelEngine.complete`."""
        try:
            completion = await self.client.asend(
                _convert.chat_request(self.client, request, stream=False)
            )
        except ParallelError as error:
            raise as_dspy_error(error, model=request.model) from error
        completion = _convert.per_field(completion)
        record_live_call(request.model, completion)
        return _convert.response_from_completion(completion)

    async def stream(self, request: Any) -> AsyncIterator[Any]:
        """The async `ParallelEngine.stream`."""
        try:
            chat_request = _convert.chat_request(self.client, request, stream=True)
            chat_stream = self.client.asend_stream(chat_request)
            started = False
            try:
                async for part in chat_stream:
                    if not started:
                        started = True
                        yield _convert.start_event(chat_request.model)
                    for event in _convert.text_events(part.delta, chat_request):
                        yield event
                completion = chat_stream.completion
            finally:
                await chat_stream.aclose()
        except ParallelError as error:
            raise as_dspy_error(error, model=request.model) from error
        if not started:
            yield _convert.start_event(completion.model)
        completion = _convert.per_field(completion)
        record_live_call(request.model, completion)
        for event in _convert.closing_events(completion):
            yield event

    async def aclose(self) -> None:
        """Close the HTTP connections, async ones included."""
        await self.client.aclose()

    def dump_state(self) -> dict[str, Any]:
        """The sync engine's `dump_state()`: the settings without the key."""
        return self.engine.dump_state()

    @classmethod
    def load_state(cls, state: dict[str, Any]) -> AsyncParallelEngine:
        """Rebuild from `dump_state()`; the key comes from `PARALLEL_API_KEY`."""
        return cls(ParallelEngine.load_state(state))

    def __copy__(self) -> AsyncParallelEngine:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> AsyncParallelEngine:
        return self

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        return (type(self).load_state, (self.dump_state(),))
