"""`ParallelClient`: shape a request and send it. What every adapter holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ._config import ChatOptions, ParallelConfig
from ._messages import MessagesInput
from ._request import ChatRequest, shape_request
from ._response import Completion
from ._transport import AsyncChatStream, ChatStream, Transport

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ParallelClient"]

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

    @property
    def model(self) -> str:
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
        return self._transport.complete(self.request(messages, **params))

    async def acomplete(self, messages: MessagesInput, **params: Any) -> Completion:
        return await self._transport.acomplete(self.request(messages, **params))

    def stream(self, messages: MessagesInput, **params: Any) -> ChatStream:
        return self._transport.stream(self.request(messages, stream=True, **params))

    def astream(self, messages: MessagesInput, **params: Any) -> AsyncChatStream:
        return self._transport.astream(self.request(messages, stream=True, **params))

    def send(self, request: ChatRequest) -> Completion:
        """Send a request built by `request()`."""
        return self._transport.complete(request)

    async def asend(self, request: ChatRequest) -> Completion:
        return await self._transport.acomplete(request)

    def send_stream(self, request: ChatRequest) -> ChatStream:
        return self._transport.stream(request)

    def asend_stream(self, request: ChatRequest) -> AsyncChatStream:
        return self._transport.astream(request)

    def close(self) -> None:
        self._transport.close()

    async def aclose(self) -> None:
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
