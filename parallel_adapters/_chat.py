"""The plain callable: `complete(prompt)` and `ParallelChat` for scripts."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Literal, overload

from .core import (
    AsyncChatStream,
    ChatOptions,
    ChatStream,
    Completion,
    ConnectionOptions,
    InputError,
    MessagesInput,
    ParallelClient,
)
from .core._client import refuse_stream_flag

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


class _Progress:
    """A tqdm bar when asked for; tqdm is an optional extra."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError as exc:
                raise ImportError(
                    "progress=True needs tqdm: pip install 'parallel-adapters[progress]'"
                ) from exc
            self._bar = tqdm(total=total, unit="call")
        self._lock = threading.Lock()

    def step(self) -> None:
        if self._bar is not None:
            with self._lock:
                self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


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
    """

    def __init__(self, model: str | None = None, **options: Unpack[ConnectionOptions]) -> None:
        super().__init__(model=model, **options)

    def __call__(self, messages: MessagesInput, **params: Any) -> Completion:
        return self.complete(messages, **params)

    @overload
    def map(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = ...,
        progress: bool = ...,
        return_exceptions: Literal[False] = ...,
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
        **params: Any,
    ) -> list[Completion | Exception]: ...

    def map(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = 8,
        progress: bool = False,
        return_exceptions: bool = False,
        **params: Any,
    ) -> list[Completion] | list[Completion | Exception]:
        """Complete many prompts on `concurrency` threads; results in input order.

        With `return_exceptions=False` the first error cancels what has not started
        and is raised; with `True` each failed prompt's slot holds its exception.
        Every request is validated before the first one is sent.
        """
        _check_concurrency(concurrency)
        requests = [self.request(prompt, **params) for prompt in _prompt_list(prompts, params)]
        bar = _Progress(len(requests), progress)
        results: list[Completion | Exception | None] = [None] * len(requests)

        def run(index: int) -> None:
            try:
                results[index] = self.send(requests[index])
            except Exception as exc:
                if not return_exceptions:
                    raise
                results[index] = exc
            finally:
                bar.step()

        try:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                futures: list[Future[None]] = [pool.submit(run, i) for i in range(len(requests))]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failure = next(
                    (f.exception() for f in futures if f in done and f.exception()), None
                )
                if failure is not None:
                    pool.shutdown(cancel_futures=True)
                    raise failure
        finally:
            bar.close()
        if any(result is None for result in results):  # pragma: no cover - guarded above
            raise RuntimeError("a result went missing")
        return results  # type: ignore[return-value]

    async def amap(
        self,
        prompts: Iterable[MessagesInput],
        *,
        concurrency: int = 8,
        progress: bool = False,
        return_exceptions: bool = False,
        **params: Any,
    ) -> list[Any]:
        """The async `map`: at most `concurrency` requests in flight, results in input order."""
        _check_concurrency(concurrency)
        requests = [self.request(prompt, **params) for prompt in _prompt_list(prompts, params)]
        bar = _Progress(len(requests), progress)
        gate = asyncio.Semaphore(concurrency)

        async def run(index: int) -> Completion:
            async with gate:
                try:
                    return await self.asend(requests[index])
                finally:
                    bar.step()

        try:
            return await asyncio.gather(
                *(run(i) for i in range(len(requests))), return_exceptions=return_exceptions
            )
        finally:
            bar.close()


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
    """Ask Parallel once: `complete("question", model="base")`."""
    return default_chat().complete(messages, **params)


async def acomplete(messages: MessagesInput, **params: Any) -> Completion:
    return await default_chat().acomplete(messages, **params)


def stream(messages: MessagesInput, **params: Any) -> ChatStream:
    return default_chat().stream(messages, **params)


def astream(messages: MessagesInput, **params: Any) -> AsyncChatStream:
    return default_chat().astream(messages, **params)
