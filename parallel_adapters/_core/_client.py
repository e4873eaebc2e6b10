"""`ParallelClient`: shape a request and send it. What every adapter holds."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._config import RESPONSES_MODELS, ChatOptions, ParallelConfig
from ._errors import InputError
from ._messages import MessagesInput
from ._request import ChatRequest, shape_request
from ._response import Completion
from ._responses import is_responses_model, shape_responses_request
from ._transport import AsyncChatStream, ChatStream, Transport
from ._web import extract_from_body, search_from_body, shape_extract, shape_search
from ._web_types import ExtractResult, SearchResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ParallelClient", "refuse_stream_flag"]


def refuse_stream_flag(params: dict[str, Any]) -> None:
    """A whole-answer call given `stream=True` would send a stream request and then fail
    reading it as one body: refuse before sending."""
    if params.get("stream"):
        raise InputError(
            "stream=True is not accepted by a call that returns a whole answer; "
            "iterate .stream(...) (or .astream(...)) instead"
        )


def _whole(request: ChatRequest) -> ChatRequest:
    if request.stream:
        raise InputError(
            "this request was built with stream=True; send it with send_stream()/asend_stream()"
        )
    return request


_Client = TypeVar("_Client", bound="ParallelClient")


class ParallelClient:
    """Validated requests in, `Completion`s out; sync, async and streaming.

    Options are those of `ParallelConfig` (`api_key`, `base_url`, `model`, `timeout`,
    `max_retries`, `requests_per_minute`, `auth_header`, `extra_headers`, ...). Invalid
    input raises `InputError` before anything is sent.
    """

    def __init__(
        self, config: ParallelConfig | None = None, **options: Unpack[ChatOptions]
    ) -> None:
        if config is None:
            config = ParallelConfig.from_options(**options)
        elif options:
            config = config.replace(**options)
        self.config = config
        self._transport = Transport(config)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model={self.config.model!r}, base_url={self.config.base_url!r})"
        )

    config: ParallelConfig
    """The validated settings this client was built with."""

    @property
    def model(self) -> str:
        """The default model (`config.model`)."""
        return self.config.model

    @property
    def total_cost(self) -> float:
        """US dollars this client has spent, at published prices: the `cost` of every
        answer, plus calls that failed in a way that may still be billed (see
        docs/errors.md). Calls still in flight are not in it yet."""
        return self._transport.budget.spent

    @property
    def max_cost(self) -> float | None:
        """The spending cap in US dollars (`max_cost=`), or None for none."""
        return self._transport.budget.max_cost

    def request(
        self,
        messages: MessagesInput,
        *,
        model: str | None = None,
        stream: bool = False,
        **params: Any,
    ) -> ChatRequest:
        """The validated request these arguments would send; raises `InputError`.

        `parallel` and `parallel-low|medium|high` go to the Responses API; every other
        model to the Chat API.
        """
        model = model or self.config.model
        if is_responses_model(model):
            if params.get("reasoning_effort") is None and not RESPONSES_MODELS[model.lower()]:
                params["reasoning_effort"] = self.config.reasoning_effort
            return shape_responses_request(messages, model=model, stream=stream, **params)
        return shape_request(messages, model=model, stream=stream, **params)

    def complete(self, messages: MessagesInput, **params: Any) -> Completion:
        """Send one request and wait for the whole answer.

        Args:
            messages: A string (one user message), a list of `{"role", "content"}`
                dicts, or objects with `.role` and `.content`; consecutive messages
                of one role are merged, as the API requires.
            **params: `model` (`speed`, `lite`, `base`, `core` for the Chat API;
                `parallel` or `parallel-low|medium|high` for the Responses API),
                `reasoning_effort`, `response_format` (a pydantic model, a JSON schema
                or `{"type": "json_object"}`), `previous_interaction_id`, `metadata`,
                `extra_body`; OpenAI sampling parameters the API ignores
                (`temperature`, `max_tokens`, ...) are accepted and dropped.

        Returns:
            The answer with its basis and citations.

        Raises:
            InputError: the request cannot be sent as given (nothing was sent).
            ParallelError: a subclass for each failure; transient ones were retried.
        """
        refuse_stream_flag(params)
        return self._transport.complete(self.request(messages, **params))

    async def acomplete(self, messages: MessagesInput, **params: Any) -> Completion:
        """The async `complete`."""
        refuse_stream_flag(params)
        return await self._transport.acomplete(self.request(messages, **params))

    def stream(self, messages: MessagesInput, **params: Any) -> ChatStream:
        """Stream the answer: iterate for `StreamPart`s, then read `.completion`.

        Takes the arguments of `complete`.
        """
        return self._transport.stream(self.request(messages, stream=True, **params))

    def astream(self, messages: MessagesInput, **params: Any) -> AsyncChatStream:
        """The async `stream`: `async for part in client.astream(...)`."""
        return self._transport.astream(self.request(messages, stream=True, **params))

    def send(self, request: ChatRequest) -> Completion:
        """Send a request built by `request()`."""
        return self._transport.complete(_whole(request))

    async def asend(self, request: ChatRequest) -> Completion:
        """The async `send`."""
        return await self._transport.acomplete(_whole(request))

    def send_stream(self, request: ChatRequest) -> ChatStream:
        """Stream a request built by `request(..., stream=True)`."""
        return self._transport.stream(request)

    def asend_stream(self, request: ChatRequest) -> AsyncChatStream:
        """The async `send_stream`."""
        return self._transport.astream(request)

    # -- Search and Extract APIs ---------------------------------------------------------

    def search(
        self,
        objective: str | None = None,
        queries: str | Iterable[str] | None = None,
        *,
        mode: str | None = None,
        max_results: int | None = None,
        include_domains: Iterable[str] | None = None,
        exclude_domains: Iterable[str] | None = None,
        after_date: str | datetime.date | None = None,
        max_chars_total: int | None = None,
        session_id: str | None = None,
        **options: Any,
    ) -> SearchResult:
        """Search the web: ranked pages with excerpts (`POST /v1/search`).

        Takes the arguments of `parallel_adapters.search`; shares this client's key,
        connection pools and retries, with a rate budget of the Search API's own.
        Refused input raises `InputError` before anything is sent.
        """
        request = shape_search(
            objective,
            queries,
            mode=mode,
            max_results=max_results,
            include_domains=include_domains,
            exclude_domains=exclude_domains,
            after_date=after_date,
            max_chars_total=max_chars_total,
            session_id=session_id,
            **options,
        )
        return self._transport.web_call(request, search_from_body)

    async def asearch(
        self,
        objective: str | None = None,
        queries: str | Iterable[str] | None = None,
        *,
        mode: str | None = None,
        max_results: int | None = None,
        include_domains: Iterable[str] | None = None,
        exclude_domains: Iterable[str] | None = None,
        after_date: str | datetime.date | None = None,
        max_chars_total: int | None = None,
        session_id: str | None = None,
        **options: Any,
    ) -> SearchResult:
        """The async `search`."""
        request = shape_search(
            objective,
            queries,
            mode=mode,
            max_results=max_results,
            include_domains=include_domains,
            exclude_domains=exclude_domains,
            after_date=after_date,
            max_chars_total=max_chars_total,
            session_id=session_id,
            **options,
        )
        return await self._transport.aweb_call(request, search_from_body)

    def extract(
        self,
        urls: str | Iterable[str],
        objective: str | None = None,
        *,
        queries: str | Iterable[str] | None = None,
        full_content: bool | Mapping[str, Any] = False,
        **options: Any,
    ) -> ExtractResult:
        """Read pages: excerpts (and, if asked, full content) per URL (`POST /v1/extract`).

        Takes the arguments of `parallel_adapters.extract`; refused input raises
        `InputError` before anything is sent.
        """
        request = shape_extract(
            urls, objective, queries=queries, full_content=full_content, **options
        )
        return self._transport.web_call(request, extract_from_body)

    async def aextract(
        self,
        urls: str | Iterable[str],
        objective: str | None = None,
        *,
        queries: str | Iterable[str] | None = None,
        full_content: bool | Mapping[str, Any] = False,
        **options: Any,
    ) -> ExtractResult:
        """The async `extract`."""
        request = shape_extract(
            urls, objective, queries=queries, full_content=full_content, **options
        )
        return await self._transport.aweb_call(request, extract_from_body)

    def close(self) -> None:
        """Close the HTTP connections; also done by `with client:`."""
        self._transport.close()

    async def aclose(self) -> None:
        """Close the HTTP connections, async ones included; also `async with client:`."""
        await self._transport.aclose()
        self._transport.close()

    # Typed through a TypeVar so `with ParallelChat() as chat:` gives a ParallelChat.
    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
