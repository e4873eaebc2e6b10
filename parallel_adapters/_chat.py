"""The plain callable: `complete(prompt)` and `ParallelChat` for scripts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Literal, overload

from .core import (
    AsyncChatStream,
    ChatStream,
    Completion,
    InputError,
    MessagesInput,
    ParallelClient,
)

__all__ = ["ParallelChat", "acomplete", "astream", "complete", "default_chat", "stream"]


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


def _check_concurrency(concurrency: int) -> None:
    if not isinstance(concurrency, int) or concurrency < 1:
        raise InputError(f"concurrency must be a positive integer, got {concurrency!r}")


class ParallelChat(ParallelClient):
    """A callable chat client: `chat("question")` returns a `Completion`.

    Takes the options of `ParallelConfig` (`model`, `api_key`, `base_url`, `timeout`,
    `max_retries`, `requests_per_minute`, ...); the key defaults to `PARALLEL_API_KEY`.
    """

    def __init__(self, model: str | None = None, **options: Any) -> None:
        super().__init__(model=model, **options)

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
        requests = [self.request(prompt, **params) for prompt in prompts]
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
        requests = [self.request(prompt, **params) for prompt in prompts]
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
    """The process-wide `ParallelChat` behind `complete()` and friends, built from the
    environment (`PARALLEL_API_KEY`, `PARALLEL_BASE_URL`) on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = ParallelChat()
    return _default


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
