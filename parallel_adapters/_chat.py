"""The plain callable: `complete(prompt)` and `ParallelChat` for scripts."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ._batch import BatchItem, BatchRunner, Progress, halt_message
from ._core import (
    AsyncChatStream,
    BatchError,
    ChatOptions,
    ChatRequest,
    ChatStream,
    Completion,
    ConnectionOptions,
    InputError,
    MessagesInput,
    ParallelClient,
    ParallelConfig,
)
from ._core._client import refuse_stream_flag
from ._core._config import DEFAULT_BATCH_CONCURRENCY
from ._journal import Journal, check_id, id_key

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "ParallelChat",
    "acomplete",
    "astream",
    "complete",
    "configure",
    "default_chat",
    "stream",
]


def _prompt_list(prompts: Any, params: dict[str, Any]) -> list[Any]:
    """The prompts as a list; a single prompt or a non-iterable is refused, not split."""
    if prompts is None or isinstance(prompts, (str, bytes, dict)):
        raise InputError(
            f"map() takes an iterable of prompts (a list of strings or message lists), got "
            f"{type(prompts).__name__}; for one prompt call chat(prompt)"
        )
    try:
        items = list(prompts)
    except TypeError:
        raise InputError(
            f"map() takes an iterable of prompts, got {type(prompts).__name__}"
        ) from None
    refuse_stream_flag(params)
    return items


def _check_concurrency(concurrency: int) -> None:
    if not isinstance(concurrency, int) or concurrency < 1:
        raise InputError(f"concurrency must be a positive integer, got {concurrency!r}")


class ParallelChat(ParallelClient):
    """A callable chat client: `chat("question")` returns a `Completion`.

    Takes the options of `ParallelConfig` (`model`, `api_key`, `base_url`, `timeout`,
    `max_retries`, `requests_per_minute`, ...); the key defaults to `PARALLEL_API_KEY`.
    Or a whole `ParallelConfig` as `config=`, with any options given beside it replacing
    its values.

    It is also the client the adapters hold: `ParallelLLM.client` and
    `ParallelEngine.client` are `ParallelChat`s. Its `search`/`extract` methods (and their
    async twins) call the Search and Extract APIs over the same key, pools and retries.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        config: ParallelConfig | None = None,
        **options: Unpack[ConnectionOptions],
    ) -> None:
        if model is None and config is not None:
            super().__init__(config, **options)  # keep the config's own model
        else:
            super().__init__(config, model=model, **options)

    def __call__(self, messages: MessagesInput, **params: Any) -> Completion:
        """`chat(messages, **params)` is `chat.complete(messages, **params)`."""
        return self.complete(messages, **params)

    @overload
    def map(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = ...,
        progress: bool = ...,
        return_exceptions: Literal[False] = ...,
        journal: str | os.PathLike[str] | None = ...,
        ids: Sequence[str | int] | None = ...,
        reask_changed: bool = ...,
        **params: Any,
    ) -> list[Completion]: ...

    @overload
    def map(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = ...,
        progress: bool = ...,
        return_exceptions: Literal[True],
        journal: str | os.PathLike[str] | None = ...,
        ids: Sequence[str | int] | None = ...,
        reask_changed: bool = ...,
        **params: Any,
    ) -> list[Completion | Exception]: ...

    def map(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        progress: bool = False,
        return_exceptions: bool = False,
        journal: str | os.PathLike[str] | None = None,
        ids: Sequence[str | int] | None = None,
        reask_changed: bool = False,
        **params: Any,
    ) -> list[Completion] | list[Completion | Exception]:
        """Complete many prompts on `concurrency` threads; results in input order.

        Every request is validated before the first one is sent. Without a journal, the
        first failure stops sending (requests in flight finish and are kept) and raises
        `BatchError`, whose `results` hold each answer, each exception, and None for what
        was never sent. `return_exceptions=True` tries every prompt and returns the
        exceptions in their slots instead.

        `journal="out.jsonl"` writes each answer to that file as it arrives, skips the
        `ids` (default: positions 0, 1, ...) already answered there and retries the ones
        that failed; every prompt is tried, and `BatchError` is raised at the end if any
        failed. An id answered there for another question (model, effort, messages or
        response format) raises `InputError` before anything is sent, unless
        `reask_changed=True` asks it again. See docs/batch.md.
        """
        runner, opened = self._runner(
            prompts, concurrency, progress, return_exceptions, journal, ids, reask_changed, params
        )
        try:
            runner.run()
        finally:
            _close(runner, opened)
        return _outcome(runner, return_exceptions)

    @overload
    async def amap(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = ...,
        progress: bool = ...,
        return_exceptions: Literal[False] = ...,
        journal: str | os.PathLike[str] | None = ...,
        ids: Sequence[str | int] | None = ...,
        reask_changed: bool = ...,
        **params: Any,
    ) -> list[Completion]: ...

    @overload
    async def amap(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = ...,
        progress: bool = ...,
        return_exceptions: Literal[True],
        journal: str | os.PathLike[str] | None = ...,
        ids: Sequence[str | int] | None = ...,
        reask_changed: bool = ...,
        **params: Any,
    ) -> list[Completion | Exception]: ...

    async def amap(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        progress: bool = False,
        return_exceptions: bool = False,
        journal: str | os.PathLike[str] | None = None,
        ids: Sequence[str | int] | None = None,
        reask_changed: bool = False,
        **params: Any,
    ) -> list[Completion] | list[Completion | Exception]:
        """The async `map`, with the same rules: at most `concurrency` requests in flight,
        results in input order, the first failure stops sending (without a journal)."""
        runner, opened = self._runner(
            prompts, concurrency, progress, return_exceptions, journal, ids, reask_changed, params
        )
        try:
            await runner.arun()
        finally:
            _close(runner, opened)
        return _outcome(runner, return_exceptions)

    def _runner(
        self,
        prompts: Iterable[MessagesInput],
        concurrency: int,
        progress: bool,
        return_exceptions: bool,
        journal: str | os.PathLike[str] | None,
        ids: Sequence[str | int] | None,
        reask_changed: bool,
        params: dict[str, Any],
    ) -> tuple[BatchRunner, Journal | None]:
        _check_concurrency(concurrency)
        requests = [
            _request_at(self, index, prompt, params)
            for index, prompt in enumerate(_prompt_list(prompts, params))
        ]
        item_ids = _check_ids(ids, len(requests))
        items = [BatchItem(i, r) for i, r in zip(item_ids, requests, strict=True)]
        opened = Journal(journal) if journal is not None else None
        try:
            runner = BatchRunner(
                self,
                items,
                concurrency=concurrency,
                journal=opened,
                fail_fast=opened is None and not return_exceptions,
                reask_changed=reask_changed,
            )
            runner.refuse_changed()
            runner.progress = Progress(
                len(items), enabled=progress, initial=len(runner.skipped), required=True
            )
        except BaseException:
            if opened is not None:
                opened.close()
            raise
        return runner, opened


def _request_at(
    chat: ParallelChat, index: int, prompt: MessagesInput, params: dict[str, Any]
) -> ChatRequest:
    try:
        return chat.request(prompt, **params)
    except InputError as exc:
        try:
            chat.request("a question", **params)
        except InputError:
            raise exc from None  # the parameters are wrong, whatever the prompt
        # One bad prompt in thousands: say which (0-based, as Python counts).
        raise InputError(f"prompts[{index}]: {exc.message}") from None


def _check_ids(ids: Sequence[str | int] | None, count: int) -> list[str | int]:
    if ids is None:
        return list(range(count))
    if isinstance(ids, (str, bytes)) or len(ids) != count:
        raise InputError(f"ids must be a sequence of {count} ids, one per prompt")
    checked = [check_id(item_id, f"ids[{n}]") for n, item_id in enumerate(ids)]
    if len({id_key(i) for i in checked}) != count:
        raise InputError("ids must be unique")
    return checked


def _close(runner: BatchRunner, journal: Journal | None) -> None:
    if runner.progress is not None:
        runner.progress.close()
    if journal is not None:
        journal.close()


def _outcome(
    runner: BatchRunner, return_exceptions: bool
) -> list[Completion] | list[Completion | Exception]:
    results = runner.results
    failed, not_started = runner.failed(), runner.not_started()
    if not_started or (failed and not return_exceptions) or runner.halted is not None:
        first = results[failed[0]] if failed else runner.halted
        assert first is None or isinstance(first, BaseException)
        message = f"{len(failed)} of {len(results)} items failed"
        if failed and first is not None:
            message += f" (the first: {type(first).__name__}: {first})"
        if runner.halted is not None:
            message += f"; {halt_message(runner.halted, runner.client.config.max_retry_after)}"
        if not_started:
            message += f"; {len(not_started)} were not sent"
        raise BatchError(message, results=list(results)) from first
    return results  # type: ignore[return-value]


_default: ParallelChat | None = None
_default_lock = threading.Lock()


def default_chat() -> ParallelChat:
    """The process-wide `ParallelChat` behind `complete()` and friends: the one set by
    `configure()`, else built from the environment (`PARALLEL_API_KEY`,
    `PARALLEL_BASE_URL`, `PARALLEL_REQUESTS_PER_MINUTE`) on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = ParallelChat()
    return _default


def configure(**options: Unpack[ChatOptions]) -> ParallelChat:
    """Replace the default client behind `complete()`, `acomplete()`, `stream()` and
    `astream()`, and return it.

    Takes the options of `ParallelChat`; those not given come from the environment as
    it is now, so `configure()` alone re-reads it. Invalid options raise `InputError`
    and leave the current default in place. Calls already running finish on the old one.
    """
    global _default
    chat = ParallelChat(**options)
    with _default_lock:
        _default = chat
    return chat


def _forget_lock_in_child() -> None:
    # A lock held by another thread at a fork would stay held in the child forever.
    global _default_lock
    _default_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_lock_in_child)


def complete(messages: MessagesInput, **params: Any) -> Completion:
    """Ask Parallel once: `complete("question", model="base")`.

    Uses the process-wide client of `default_chat()`, configured from the environment.

    Args:
        messages: A string (one user message), a list of `{"role", "content"}` dicts,
            or objects with `.role` and `.content`.
        **params: `model` (default `speed`), `response_format` (a pydantic model, a
            JSON schema or `{"type": "json_object"}`), `previous_interaction_id`,
            `extra_body`. OpenAI sampling parameters the API ignores are accepted.

    Returns:
        The answer, with `basis` and `citations`.

    Raises:
        InputError: the request cannot be sent as given (raised before any request).
        ParallelError: a subclass for each failure (see the error tree).
    """
    return default_chat().complete(messages, **params)


async def acomplete(messages: MessagesInput, **params: Any) -> Completion:
    """The async `complete`: `await acomplete("question", model="base")`."""
    return await default_chat().acomplete(messages, **params)


def stream(messages: MessagesInput, **params: Any) -> ChatStream:
    """Stream an answer: `for part in stream("question"): print(part.delta, end="")`.

    After the loop, the stream's `.completion` holds the whole answer and its basis.
    Takes the arguments of `complete`.
    """
    return default_chat().stream(messages, **params)


def astream(messages: MessagesInput, **params: Any) -> AsyncChatStream:
    """The async `stream`: `async for part in astream("question")`, then `.completion`."""
    return default_chat().astream(messages, **params)
