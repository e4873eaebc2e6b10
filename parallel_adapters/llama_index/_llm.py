"""`ParallelLLM`: the Parallel Chat API as a LlamaIndex LLM.

Only translation lives here: LlamaIndex messages in, core requests out, `Completion`s
back into LlamaIndex responses. Validation, retries, rate limiting, timeouts and
event-loop-safe clients are the core's.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any, Literal

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.llms.structured_llm import StructuredLLM
from llama_index.core.program.utils import process_streaming_objects
from llama_index.core.prompts import BasePromptTemplate, PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode

from .._chat import ParallelChat
from .._core import (
    RESPONSES_MAX_INPUT_CHARS,
    ChatRequest,
    InputError,
    OutputParseError,
    ParallelConfig,
    is_responses_model,
)
from .._core._config import MAX_LINE_BYTES, MAX_RESPONSE_BYTES
from ._messages import to_wire_messages
from ._research import chat_response, final_chunk
from ._structured import ParallelStructuredLLM

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_NUM_OUTPUT",
    "RESPONSES_INPUT_TOKENS",
    "ParallelLLM",
]

dispatcher = get_dispatcher(__name__)

# Parallel publishes no context window for its chat models. LlamaIndex uses these two
# numbers only on the client side: to decide how much retrieved text and chat history
# to pack into a prompt (context_window - num_output - template). Its default (3,900)
# starves a research model of context; 32k is what every current hosted model accepts,
# and a web-research answer with per-field reasoning rarely exceeds 4k tokens.
# `max_tokens` is ignored by the server, so num_output limits nothing there.
DEFAULT_CONTEXT_WINDOW = 32_768
"""Tokens `ParallelLLM.metadata` reports as its context window, for LlamaIndex's prompt fitting."""
DEFAULT_NUM_OUTPUT = 4_096
"""Tokens `ParallelLLM.metadata` reserves for the answer (the server ignores `max_tokens`)."""
# The Responses API refuses input (instructions included) over 20,000 characters, and
# LlamaIndex counts tokens, not characters. English averages about 4 characters a token
# (cl100k), but code, URLs and numbers run longer; 5 keeps a packed prompt under the
# limit in practice, and the core still refuses an oversized one before sending.
RESPONSES_INPUT_TOKENS = RESPONSES_MAX_INPUT_CHARS // 5
"""Prompt tokens `ParallelLLM.metadata` leaves room for on `model="parallel"` (4,000)."""

_PartialModel = Any  # a `Model` or its `FlexibleModel` while the JSON is incomplete


class _ClientSlot:
    """Holds the core client. Copies (deepcopy, pickle) start empty and build their own:
    clients hold locks and sockets, which must not be shared with or sent to a copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: ParallelChat | None = None

    def get(self, config: ParallelConfig) -> ParallelChat:
        with self._lock:
            # The model goes with each request: copies that differ only in their model
            # (`llm.model_copy(update={"model": "core"})`) share one client and its pools.
            client = self._client
            if client is None or client.config.model_copy(update={"model": config.model}) != config:
                client = self._client = ParallelChat(config=config)
            return client

    def __deepcopy__(self, memo: dict[int, Any]) -> _ClientSlot:
        return _ClientSlot()

    def __reduce__(self) -> tuple[type[_ClientSlot], tuple[()]]:
        return (_ClientSlot, ())


def _known_options(cls: type[CustomLLM]) -> set[str]:
    names = set(cls.model_fields)
    names.update(f.alias for f in cls.model_fields.values() if f.alias)
    return names


class ParallelLLM(CustomLLM):
    """The Parallel Chat API (web research with a basis of citations) as a LlamaIndex LLM.

    Takes the options of the core `ParallelConfig` (`model`, `api_key`, `base_url`,
    `timeout`, `max_retries`, `requests_per_minute`, ...); the key defaults to the
    `PARALLEL_API_KEY` environment variable and is never serialized.

    Every response carries `basis`, `citations` and `interaction_id` in its
    `additional_kwargs` (streams: on the last chunk); `raw` is the JSON body.
    """

    model: str = Field(
        default="speed",
        description="speed, lite, base, core (Chat API) or parallel[-low|-medium|-high].",
    )
    """`speed`, `lite`, `base`, `core` (Chat API; default `speed`), or `parallel` and
    `parallel-low|medium|high` (Responses API)."""
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False)
    """The API key; `PARALLEL_API_KEY` when not given. Never serialized or pickled."""
    base_url: str | None = Field(
        default=None, description="Defaults to PARALLEL_BASE_URL, else https://api.parallel.ai."
    )
    """Where the API is; `PARALLEL_BASE_URL` when not given, else the real API."""
    timeout: float | None = Field(
        default=None, description="Seconds; None picks the model's own (60 s to 600 s)."
    )
    """Seconds to wait for an answer; None picks the model's own (60 s to 600 s)."""
    # The core's defaults, written out so the API reference shows each value (a helper
    # call would show as the call); a test keeps each equal to ParallelConfig's.
    max_retries: int = 2
    """Same as `ParallelConfig.max_retries`."""
    requests_per_minute: int | None = 300
    """Same as `ParallelConfig.requests_per_minute`."""
    rate_limit_window: float = 60.0
    """Same as `ParallelConfig.rate_limit_window`."""
    rate_limit_store: str | None = Field(
        default=None,
        description="memory, sqlite:///path or redis://host:port/db (a budget shared by "
        "processes); defaults to PARALLEL_RATE_LIMIT_STORE, else memory.",
    )
    """Same as `ParallelConfig.rate_limit_store`; None reads the environment."""
    auth_header: Literal["bearer", "x-api-key"] = "bearer"
    """Same as `ParallelConfig.auth_header`."""
    extra_headers: dict[str, str] = Field(default_factory=dict)
    """Same as `ParallelConfig.extra_headers`."""
    retry_initial_delay: float = 0.5
    """Same as `ParallelConfig.retry_initial_delay`."""
    retry_max_delay: float = 8.0
    """Same as `ParallelConfig.retry_max_delay`."""
    max_retry_after: float = 60.0
    """Same as `ParallelConfig.max_retry_after`."""
    max_response_bytes: int = MAX_RESPONSE_BYTES
    """Same as `ParallelConfig.max_response_bytes` (64 MiB)."""
    max_line_bytes: int = MAX_LINE_BYTES
    """Same as `ParallelConfig.max_line_bytes` (16 MiB)."""
    retry_timeouts: bool = False
    """Same as `ParallelConfig.retry_timeouts`."""
    max_cost: float | None = None
    """Same as `ParallelConfig.max_cost`: a spending cap in US dollars for `client`
    (`BudgetExceededError` before sending); `client.total_cost` is what it spent."""
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    """Same as `ParallelConfig.reasoning_effort` (Responses API models only)."""
    context_window: int = Field(default=DEFAULT_CONTEXT_WINDOW, gt=0)
    """Tokens LlamaIndex may fill with prompt and context (default 32,768)."""
    num_output: int = Field(default=DEFAULT_NUM_OUTPUT, gt=0)
    """Tokens LlamaIndex reserves for the answer (default 4,096)."""

    _slot: _ClientSlot = PrivateAttr(default_factory=lambda: _ClientSlot())
    # The address read from PARALLEL_BASE_URL (or the default) when base_url was not
    # given: saved state leaves it out, so a loaded copy resolves it where it is loaded.
    _env_base_url: str | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        if data.get("rate_limiter") is not None:
            # The core already limits every attempt (retries included) with one budget per
            # key and process; a second limiter on top would only add unexplained waits.
            raise InputError(
                "ParallelLLM does not take rate_limiter=: requests are already limited by the "
                "core; set requests_per_minute= (and rate_limit_window=) instead"
            )
        unknown = set(data) - _known_options(type(self))
        if unknown:
            # The core refuses unknown options; LlamaIndex's base model would drop them.
            raise InputError(
                f"unknown ParallelLLM option(s) {sorted(unknown)}; accepted: "
                f"{sorted(_known_options(type(self)))}"
            )
        try:
            super().__init__(**data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            raise InputError(f"invalid ParallelLLM option(s): {errors}") from None
        # Fails fast on a bad option (an unknown model, an effort on a Chat model) and
        # reads the environment as the client will; `base_url` stays None when not given
        # (see `_saved`).
        config = self._config()
        if self.base_url is None:
            self.base_url = self._env_base_url = config.base_url

    @classmethod
    def class_name(cls) -> str:
        """`"ParallelLLM"`: the name LlamaIndex serializes this class under."""
        return "ParallelLLM"

    def _address_was_read(self) -> bool:
        return self._env_base_url is not None and self.base_url == self._env_base_url

    @model_serializer(mode="wrap")
    def custom_model_dump(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        """`to_dict()`, `to_json()` and `model_dump()`: `base_url` only when it was given.

        An address read from `PARALLEL_BASE_URL` is saved as None, so `from_dict` resolves
        it where it is loaded (a saved emulator address would otherwise get the real key).
        """
        data: dict[str, Any] = super().custom_model_dump(handler, info)
        if self._address_was_read() and "base_url" in data:
            data["base_url"] = None
        return data

    def __getstate__(self) -> dict[str, Any]:
        # A pickle is saved state too: the copy reads PARALLEL_API_KEY (and the address,
        # unless it was given) where it is loaded.
        state = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "api_key": None}
        if self._address_was_read():
            state["__dict__"]["base_url"] = None
            private = state.get("__pydantic_private__")
            if isinstance(private, dict):
                state["__pydantic_private__"] = {**private, "_env_base_url": None}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if self.base_url is None:
            self.base_url = self._env_base_url = ParallelConfig.from_options().base_url

    def _context_window(self) -> int:
        if "context_window" in self.model_fields_set or not is_responses_model(self.model):
            return self.context_window
        # LlamaIndex packs prompts into context_window - num_output; the answer does not
        # count against the input limit, so the window is the input budget plus num_output.
        return RESPONSES_INPUT_TOKENS + self.num_output

    @property
    def metadata(self) -> LLMMetadata:
        """A chat model with `context_window` and `num_output`, for LlamaIndex.

        On the Responses API (`parallel`, `parallel-low|medium|high`) the default window
        leaves `RESPONSES_INPUT_TOKENS` for the prompt: its input limit is 20,000 characters.
        """
        return LLMMetadata(
            context_window=self._context_window(),
            num_output=self.num_output,
            is_chat_model=True,
            is_function_calling_model=False,
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )

    # -- the core client -------------------------------------------------------------------

    def _config(self) -> ParallelConfig:
        return ParallelConfig.from_options(
            model=self.model,
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
            requests_per_minute=self.requests_per_minute,
            rate_limit_window=self.rate_limit_window,
            rate_limit_store=self.rate_limit_store,
            auth_header=self.auth_header,
            extra_headers=self.extra_headers,
            retry_initial_delay=self.retry_initial_delay,
            retry_max_delay=self.retry_max_delay,
            max_retry_after=self.max_retry_after,
            max_response_bytes=self.max_response_bytes,
            max_line_bytes=self.max_line_bytes,
            retry_timeouts=self.retry_timeouts,
            reasoning_effort=self.reasoning_effort,
            max_cost=self.max_cost,
        )

    @property
    def client(self) -> ParallelChat:
        """The kit's client for this LLM's connection settings, rebuilt if one was changed
        after construction. It shares the LLM's key, pools and rate limit, but not its
        model (copies that differ only in `model` share one client): batch with
        `llm.client.map(prompts, model=llm.model)`."""
        return self._slot.get(self._config())

    def _request(
        self, messages: Sequence[ChatMessage], stream: bool, kwargs: dict[str, Any]
    ) -> tuple[ParallelChat, ChatRequest]:
        """Validated before any I/O: bad input raises `InputError` at call time."""
        client = self.client
        params = {"model": self.model, **kwargs}
        return client, client.request(to_wire_messages(messages), stream=stream, **params)

    # -- chat ------------------------------------------------------------------------------
    # The public methods are the only ones decorated: each fires LlamaIndex's callback and
    # instrumentation events once. `complete*` go through the undecorated `_chat*` methods,
    # as OpenAI's integration does, so a callback handler (TokenCountingHandler) sees one
    # LLM event per request, not a completion event wrapped around a chat event.

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        client, request = self._request(messages, False, kwargs)
        return chat_response(client.send(request))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        client, request = self._request(messages, True, kwargs)

        def gen() -> ChatResponseGen:
            text = ""
            with client.send_stream(request) as stream:
                for part in stream:
                    text += part.delta
                    yield ChatResponse(
                        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=part.delta,
                    )
            # The basis arrives with the end of the stream: one closing chunk carries it.
            yield final_chunk(stream.completion)

        return gen()

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        client, request = self._request(messages, False, kwargs)
        return chat_response(await client.asend(request))

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """The async `stream_chat`."""
        # Returns the generator rather than being one: the callback decorator needs that.
        client, request = self._request(messages, True, kwargs)

        async def gen() -> ChatResponseAsyncGen:
            text = ""
            async with client.asend_stream(request) as stream:
                async for part in stream:
                    text += part.delta
                    yield ChatResponse(
                        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=part.delta,
                    )
            yield final_chunk(stream.completion)

        return gen()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Send `messages` and wait for the whole answer.

        The response's `additional_kwargs` hold `basis`, `citations` and
        `interaction_id` (and `cited_spans` on the Responses API); `raw` is the
        decoded body.

        Keyword arguments are request options, as for `ParallelChat.complete`
        (`model`, `response_format`, `previous_interaction_id`, ...). Raises
        `InputError` before any request for bad input, else a `ParallelError`.
        """
        return self._chat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the answer to `messages`: each chunk has the text so far and its `delta`.

        A last chunk with an empty `delta` carries the basis, citations and
        `interaction_id` in its `additional_kwargs`.

        Keyword arguments are request options, as for `ParallelChat.complete`
        (`model`, `response_format`, `previous_interaction_id`, ...). Raises
        `InputError` before any request for bad input, else a `ParallelError`.
        """
        return self._stream_chat(messages, **kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """The async `chat`."""
        return await self._achat(messages, **kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """The async `stream_chat`."""
        return await self._astream_chat(messages, **kwargs)

    # -- completion: one user message through the undecorated chat methods --------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Send `prompt` as one user message and wait for the whole answer.

        `formatted` is LlamaIndex's flag and changes nothing here. The response's
        `additional_kwargs` hold `basis`, `citations` and `interaction_id` (and
        `cited_spans` on the Responses API).

        Keyword arguments are request options, as for `ParallelChat.complete`
        (`model`, `response_format`, `previous_interaction_id`, ...). Raises
        `InputError` before any request for bad input, else a `ParallelError`.
        """
        return chat_to_completion_decorator(self._chat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream the answer to `prompt` (one user message), as `stream_chat` does."""
        return stream_chat_to_completion_decorator(self._stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """The async `complete`."""
        return await achat_to_completion_decorator(self._achat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """The async `stream_complete`."""
        return await astream_chat_to_completion_decorator(self._astream_chat)(prompt, **kwargs)

    # -- structured output: the schema goes as response_format, not as prompt prose ----------

    def _native_structured(self) -> bool:
        return self.pydantic_program_mode == PydanticProgramMode.DEFAULT

    def _structured_messages(
        self, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        return self._extend_messages(prompt.format_messages(llm=self, **prompt_args))

    @staticmethod
    def _structured_kwargs(
        output_cls: type[BaseModel], llm_kwargs: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {**(llm_kwargs or {}), "response_format": output_cls}

    @staticmethod
    def _parsed(output_cls: type[Model], response: ChatResponse) -> Model:
        # The core has already validated this text against output_cls (OutputParseError).
        text = response.message.content or ""
        try:
            return output_cls.model_validate_json(text)
        except ValidationError as exc:  # pragma: no cover - the core raises first
            raise OutputParseError(f"the answer is not a {output_cls.__name__}", text=text) from exc

    def structured_response(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> tuple[Model, ChatResponse | None]:
        """`structured_predict`, with the response the object was parsed from.

        The response carries the basis; it is None with a `pydantic_program_mode` other
        than DEFAULT, where LlamaIndex's own programs make the call.
        """
        if not self._native_structured():
            fallback: Model = super().structured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return fallback, None
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        response = self.chat(
            self._structured_messages(prompt, prompt_args),
            **self._structured_kwargs(output_cls, llm_kwargs),
        )
        result = self._parsed(output_cls, response)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result, response

    async def astructured_response(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> tuple[Model, ChatResponse | None]:
        """The async `structured_response`."""
        if not self._native_structured():
            afallback: Model = await super().astructured_predict(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
            return afallback, None
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        response = await self.achat(
            self._structured_messages(prompt, prompt_args),
            **self._structured_kwargs(output_cls, llm_kwargs),
        )
        result = self._parsed(output_cls, response)
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result, response

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Ask for `output_cls` through `response_format` (a JSON schema) and parse it.

        Raises the core's `OutputParseError` when the answer does not validate. With a
        `pydantic_program_mode` other than DEFAULT, LlamaIndex's own programs are used.
        """
        return self.structured_response(output_cls, prompt, llm_kwargs, **prompt_args)[0]

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """The async `structured_predict`."""
        result = await self.astructured_response(output_cls, prompt, llm_kwargs, **prompt_args)
        return result[0]

    def as_structured_llm(self, output_cls: type[BaseModel], **kwargs: Any) -> StructuredLLM:
        """LlamaIndex's `StructuredLLM`, whose responses also carry the basis."""
        return ParallelStructuredLLM(llm=self, output_cls=output_cls, **kwargs)

    def structured_stream(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[tuple[_PartialModel, ChatResponse], None, None]:
        """(partial object, chunk) while the JSON streams in, then (object, closing chunk).

        The closing chunk carries the basis; its object is the validated `output_cls` (or
        the core raises `OutputParseError`). DEFAULT `pydantic_program_mode` only.
        """
        chunks = self.stream_chat(
            self._structured_messages(prompt, prompt_args),
            **self._structured_kwargs(output_cls, llm_kwargs),
        )
        current: list[Any] | None = None
        for chunk in chunks:
            partial = process_streaming_objects(chunk, output_cls, cur_objects=current)
            yield partial, chunk
            current = [partial]

    async def astructured_stream(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[tuple[_PartialModel, ChatResponse], None]:
        """The async `structured_stream`."""
        chunks = await self.astream_chat(
            self._structured_messages(prompt, prompt_args),
            **self._structured_kwargs(output_cls, llm_kwargs),
        )
        current: list[Any] | None = None
        async for chunk in chunks:
            partial = process_streaming_objects(chunk, output_cls, cur_objects=current)
            yield partial, chunk
            current = [partial]

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[_PartialModel, None, None]:
        # Backs stream_structured_predict: partial objects while the JSON streams in; the
        # last one is a validated `output_cls` (or the core raises OutputParseError).
        if not self._native_structured():
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)
        pairs = self.structured_stream(output_cls, prompt, llm_kwargs, **prompt_args)

        def gen() -> Generator[_PartialModel, None, None]:
            previous: Any = None
            for partial, _ in pairs:
                # The closing chunk repeats the whole text; yield it only if it adds anything.
                if previous is None or partial != previous:
                    yield partial
                previous = partial

        return gen()

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[_PartialModel, None]:
        if not self._native_structured():
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )
        pairs = self.astructured_stream(output_cls, prompt, llm_kwargs, **prompt_args)

        async def gen() -> AsyncGenerator[_PartialModel, None]:
            previous: Any = None
            async for partial, _ in pairs:
                # The closing chunk repeats the whole text; yield it only if it adds anything.
                if previous is None or partial != previous:
                    yield partial
                previous = partial

        return gen()
