"""`ParallelLM`: a `dspy.LM` on DSPy's engine interface, backed by the core client."""

from __future__ import annotations

import sys
from typing import Any

import dspy  # type: ignore[import-untyped]

from .._core import RESPONSES_MODELS, InputError, ParallelConfig, is_responses_model
from ._basis import record_history_entry
from ._convert import (
    EFFORT_KEY,
    ENDPOINT_KEY,
    METADATA,
    MODEL_PREFIX,
    checked_model,
    endpoint_of,
    uniform_outputs,
    wire_model,
    with_cited_spans,
)
from ._cost import price_entry
from ._engine import AsyncParallelEngine, ParallelEngine
from ._schema import signature_schema

__all__ = ["ParallelLM"]

_CONFIG_OPTIONS = frozenset(ParallelConfig.model_fields) - {"model"}


def _split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(core config options, everything else for dspy.LM)."""
    options = dict(options)
    if "api_base" in options:
        # dspy.LM's spelling of base_url.
        if options.get("base_url") is not None:
            raise InputError("pass base_url or api_base, not both")
        options["base_url"] = options.pop("api_base")
    config = {k: options.pop(k) for k in list(options) if k in _CONFIG_OPTIONS}
    return config, options


class ParallelLM(dspy.LM):  # type: ignore[misc]
    """Parallel's Chat API (`speed|lite|base|core`) or Responses API (`parallel`,
    `parallel-low|medium|high`) as a DSPy language model.

    `ParallelLM("base")` (or `"parallel/base"`) takes the options of `ParallelConfig`
    (`api_key`, `base_url`, `timeout`, `max_retries`, `requests_per_minute`, ...)
    plus `dspy.LM`'s own (`cache`, `callbacks`, `num_retries`, ...). The key defaults
    to `PARALLEL_API_KEY`. The DSPy model name is `parallel/<model>`, so DSPy's cache
    never mixes these answers with another provider's, and the endpoint is in its cache
    key, so never one server's answers with another's; so is `reasoning_effort` for
    `parallel`. `lm(...)` returns `[{"text", "citations"}]` for every model; history
    entries of Responses answers also carry `cited_spans`.

    Retries: the core's retry layer is the only one. `num_retries=N` sets the core's
    `max_retries`; DSPy's own retry loop stays at 0.
    """

    def __init__(
        self,
        model: str = "speed",
        *,
        num_retries: int | None = None,
        engine: ParallelEngine | None = None,
        async_engine: AsyncParallelEngine | None = None,
        **options: Any,
    ) -> None:
        name = checked_model(model)
        config_options, lm_options = _split_options(options)
        if num_retries is not None:
            if config_options.get("max_retries") is not None:
                raise InputError("pass num_retries or max_retries, not both")
            config_options["max_retries"] = num_retries
        if engine is None:
            engine = ParallelEngine(model=name, **config_options)
        elif config_options:
            # e.g. num_retries in a state saved by another version: it configures the engine.
            engine = ParallelEngine(engine.config.replace(**config_options))
            async_engine = None
        if async_engine is None:
            async_engine = AsyncParallelEngine(engine)
        if lm_options.get("model_type", "chat") != "chat":
            raise InputError("the Parallel Chat API serves model_type='chat' only")
        super().__init__(
            MODEL_PREFIX + name,
            num_retries=0,
            engine=engine,
            async_engine=async_engine,
            **lm_options,
        )
        self._key_cache_on_endpoint()

    def _key_cache_on_endpoint(self) -> None:
        # See _convert.ENDPOINT_KEY: the endpoint in DSPy's cache key, never on the wire.
        metadata = self.kwargs.get(METADATA)
        metadata = dict(metadata) if isinstance(metadata, dict) else {}
        metadata.pop(EFFORT_KEY, None)
        metadata[ENDPOINT_KEY] = endpoint_of(self.config.base_url)
        effort = self.config.reasoning_effort
        name = wire_model(self.model).lower()
        if effort is not None and name in RESPONSES_MODELS and RESPONSES_MODELS[name] is None:
            # The engine's effort decides the answer, yet is not among DSPy's kwargs.
            metadata[EFFORT_KEY] = effort
        self.kwargs[METADATA] = metadata

    # DSPy retries a retryable engine error `num_retries` times; the core already
    # retried it (honouring Retry-After and the rate limiter), so DSPy's loop stays off.
    @property
    def num_retries(self) -> int:
        """Always 0: DSPy's retry loop stays off, the core retries (see `max_retries`)."""
        return 0

    @num_retries.setter
    def num_retries(self, value: int) -> None:
        if value:
            raise InputError(
                "ParallelLM retries in the core: use ParallelLM(..., num_retries=N) or "
                "lm.copy(num_retries=N)"
            )

    @property
    def config(self) -> ParallelConfig:
        """The connection settings (the key is a `SecretStr`, never printed)."""
        config: ParallelConfig = self.engine.config
        return config

    @property
    def max_retries(self) -> int:
        """The core's retries after a transient failure (`num_retries=` at construction)."""
        return self.config.max_retries

    def __repr__(self) -> str:
        return f"ParallelLM(model={self.model!r}, base_url={self.config.base_url!r})"

    def copy(self, **kwargs: Any) -> ParallelLM:
        """A copy; connection options (`timeout`, `num_retries`, ...) get their own engine."""
        config_options, lm_options = _split_options(kwargs)
        retries = lm_options.pop("num_retries", None)
        if retries is not None:
            config_options["max_retries"] = retries
        if config_options:
            if "engine" in lm_options:
                raise InputError("pass connection options or engine=, not both")
            engine = ParallelEngine(self.config.replace(**config_options))
            lm_options["engine"] = engine
            lm_options["async_engine"] = AsyncParallelEngine(engine)
        if "model" in lm_options:
            lm_options["model"] = MODEL_PREFIX + checked_model(lm_options["model"])
        copied: ParallelLM = super().copy(**lm_options)
        copied._key_cache_on_endpoint()
        return copied

    # One output shape for every model: DSPy's engines give `[str]` when an answer has
    # nothing but text (`speed`, or a research answer that cites nothing) and
    # `[{"text", "citations"}]` otherwise. Callers would have to test which; both shapes
    # are DSPy's contract, and only the dict keeps the citations, so it is always a dict.

    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        """Call the model as DSPy does (`lm("question")` or `lm(messages=[...])`).

        Returns a list of outputs, each a dict `{"text", "citations", ...}` whatever the
        model (citations empty when none). Keyword arguments are request options
        (`response_format`, `previous_interaction_id`, ...); bad input raises
        `InputError` before any request.
        """
        outputs = super().__call__(prompt, messages=messages, **self._call_kwargs(kwargs))
        return uniform_outputs(outputs)

    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        """The async call: same arguments and outputs as calling the LM.

        Returns a list of outputs, each a dict `{"text", "citations", ...}` (citations
        empty when none).
        """
        outputs = await super().acall(prompt, messages=messages, **self._call_kwargs(kwargs))
        return uniform_outputs(outputs)

    def _call_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if kwargs.get("response_format") == {"type": "json_object"} and is_responses_model(
            wire_model(self.model)
        ):
            # The Responses API answers json_object with plain text; a schema built from
            # the signature's output fields enforces the JSON instead.
            schema = signature_schema(sys._getframe(1))
            if schema is not None:
                kwargs = {**kwargs, "response_format": schema}
        metadata = kwargs.get(METADATA)
        if isinstance(metadata, dict):
            # A call's own metadata replaces the LM's: keep the endpoint in the cache key.
            kwargs = {**kwargs, METADATA: {**metadata, **self.kwargs[METADATA]}}
        return kwargs

    def update_history(self, entry: dict[str, Any]) -> None:
        """DSPy's history, plus the entry's basis for the open `collect_basis()` blocks.

        Each entry's `cost` is the answer's published price in US dollars (DSPy's own
        token-based figure is always None for Parallel); a cache hit has `cache_hit: True`
        and costs 0.
        """
        price_entry(entry)
        entry["outputs"] = with_cited_spans(uniform_outputs(entry.get("outputs")), entry)
        super().update_history(entry)
        record_history_entry(entry)

    def dump_state(self) -> dict[str, Any]:
        """What a saved DSPy program stores: the settings, never the key."""
        state: dict[str, Any] = super().dump_state()
        # The engine's state holds max_retries; the async engine is rebuilt from it.
        state.pop("num_retries", None)
        state.pop("async_engine", None)
        # Rebuilt from the engine's base URL where the state is loaded.
        metadata = state.get(METADATA)
        if isinstance(metadata, dict):
            metadata = {k: v for k, v in metadata.items() if k not in (ENDPOINT_KEY, EFFORT_KEY)}
            if metadata:
                state[METADATA] = metadata
            else:
                del state[METADATA]
        return state
