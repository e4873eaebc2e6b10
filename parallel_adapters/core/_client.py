"""`ParallelClient`: shape a request and send it. What every adapter holds."""

from __future__ import annotations

from typing import Any

from ._config import ParallelConfig
from ._messages import MessagesInput
from ._request import ChatRequest, shape_request
from ._response import Completion
from ._transport import AsyncChatStream, ChatStream, Transport

__all__ = ["ParallelClient"]


class ParallelClient:
    """Validated requests in, `Completion`s out; sync, async and streaming.

    Options are those of `ParallelConfig` (`api_key`, `base_url`, `model`, `timeout`,
    `max_retries`, `requests_per_minute`, `auth_header`, `extra_headers`, ...). Invalid
    input raises `InputError` before anything is sent.
    """

    def __init__(self, config: ParallelConfig | None = None, **options: Any) -> None:
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

    def request(
        self,
        messages: MessagesInput,
        *,
        model: str | None = None,
        stream: bool = False,
        **params: Any,
    ) -> ChatRequest:
        """The validated request these arguments would send; raises `InputError`."""
        return shape_request(messages, model=model or self.config.model, stream=stream, **params)

    def complete(self, messages: MessagesInput, **params: Any) -> Completion:
        """Send one request and wait for the whole answer.

        Args:
            messages: A string (one user message), a list of `{"role", "content"}`
                dicts, or objects with `.role` and `.content`; consecutive messages
                of one role are merged, as the API requires.
            **params: `model`, `response_format` (a pydantic model, a JSON schema
                or `{"type": "json_object"}`), `previous_interaction_id`,
                `extra_body`; OpenAI sampling parameters the API ignores
                (`temperature`, `max_tokens`, ...) are accepted and dropped.

        Returns:
            The answer with its basis and citations.

        Raises:
            InputError: the request cannot be sent as given (nothing was sent).
            ParallelError: a subclass for each failure; transient ones were retried.
        """
        return self._transport.complete(self.request(messages, **params))

    async def acomplete(self, messages: MessagesInput, **params: Any) -> Completion:
        """The async `complete`."""
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
        return self._transport.complete(request)

    async def asend(self, request: ChatRequest) -> Completion:
        """The async `send`."""
        return await self._transport.acomplete(request)

    def send_stream(self, request: ChatRequest) -> ChatStream:
        """Stream a request built by `request(..., stream=True)`."""
        return self._transport.stream(request)

    def asend_stream(self, request: ChatRequest) -> AsyncChatStream:
        """The async `send_stream`."""
        return self._transport.astream(request)

    def close(self) -> None:
        """Close the HTTP connections; also done by `with client:`."""
        self._transport.close()

    async def aclose(self) -> None:
        """Close the HTTP connections, async ones included; also `async with client:`."""
        await self._transport.aclose()
        self._transport.close()

    def __enter__(self) -> ParallelClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    async def __aenter__(self) -> ParallelClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
