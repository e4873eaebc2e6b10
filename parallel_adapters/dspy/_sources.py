"""`WebSources`: an output field filled from the basis, never written by the model.

It uses DSPy's public custom-type hooks: an adapter that lists `WebSources` in its
`native_response_types` calls `adapt_to_native_lm_feature` (which removes the field
from the prompt and from a JSON schema) and `parse_lm_response` (which fills it from
the citations the engine put on the answer). Adapters do not consult these hooks for
types they do not list, so the adapter must be set up with `with_web_sources()`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import dspy  # type: ignore[import-untyped]
import pydantic

__all__ = ["WebSource", "WebSources", "with_web_sources"]


class WebSource(pydantic.BaseModel):
    """One cited web page and the excerpts the answer relies on."""

    url: str | None = None
    """The page's web address."""
    title: str | None = None
    """The page title, when the API gave one."""
    excerpts: list[str] = pydantic.Field(default_factory=list)
    """Passages of the page the answer relies on."""


def _is_parallel(lm: Any) -> bool:
    from ._engine import ParallelEngine
    from ._lm import ParallelLM

    return isinstance(lm, ParallelLM) or isinstance(getattr(lm, "engine", None), ParallelEngine)


# The instructions DSPy writes for a signature without a docstring name every field.
_GENERATED = re.compile(r"^(Given the fields .*, produce the fields )(.*)\.$", re.DOTALL)


def _drop_field(signature: Any, name: str) -> Any:
    reduced = signature.delete(name)
    match = _GENERATED.match(signature.instructions or "")
    if match:
        # Otherwise the generated instructions would still ask the model for the field.
        outputs = [part for part in match.group(2).split(", ") if part != f"`{name}`"]
        reduced = reduced.with_instructions(f"{match.group(1)}{', '.join(outputs)}.")
    return reduced


def _prune_defs(schema: dict[str, Any]) -> None:
    """Drop `$defs` entries nothing refers to any more."""
    defs = schema.get("$defs")
    while isinstance(defs, dict) and defs:
        text = json.dumps({k: v for k, v in schema.items() if k != "$defs"}) + json.dumps(defs)
        unused = [name for name in defs if f'"#/$defs/{name}"' not in text]
        if not unused:
            break
        for name in unused:
            del defs[name]
    if isinstance(defs, dict) and not defs:
        del schema["$defs"]


def _without_field(model: type[pydantic.BaseModel], name: str) -> type[pydantic.BaseModel]:
    """JSONAdapter's structured-output model minus one field, keeping its strict schema."""
    schema = copy.deepcopy(model.model_json_schema())
    schema.get("properties", {}).pop(name, None)
    if isinstance(schema.get("required"), list):
        schema["required"] = [field for field in schema["required"] if field != name]
    _prune_defs(schema)
    fields: dict[str, Any] = {
        key: (info.annotation, info) for key, info in model.model_fields.items() if key != name
    }
    reduced: type[pydantic.BaseModel] = pydantic.create_model(
        model.__name__, __config__=pydantic.ConfigDict(extra="forbid"), **fields
    )

    def model_json_schema(*_: Any, **__: Any) -> dict[str, Any]:
        return schema

    # DSPy overrides the schema of its generated model the same way.
    setattr(reduced, "model_json_schema", model_json_schema)  # noqa: B010
    return reduced


class WebSources(dspy.Type):  # type: ignore[misc]
    """The web pages behind an answer, from Parallel's basis.

    Declare `sources: WebSources = dspy.OutputField()` and configure the adapter with
    `with_web_sources()`: the model is not asked for this field; it is filled from the
    citations of the call (None when the answer cites nothing, e.g. the `speed` model).
    """

    sources: list[WebSource] = pydantic.Field(default_factory=list)
    """The cited pages, in first-cited order; the value also iterates over them."""

    def __iter__(self) -> Iterator[WebSource]:
        return iter(self.sources)

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> WebSource:
        return self.sources[index]

    @property
    def urls(self) -> list[str]:
        """The pages' web addresses."""
        return [source.url for source in self.sources if source.url]

    def format(self) -> str:
        """How a value reads when shown to a model (in demos or as an input)."""
        lines = []
        for source in self.sources:
            head = " - ".join(part for part in (source.title, source.url) if part)
            lines.append(head + "".join(f"\n  > {excerpt}" for excerpt in source.excerpts))
        return "\n".join(lines)

    @classmethod
    def from_citations(cls, citations: Any) -> WebSources:
        """Group DSPy's `{url, title, text}` citations (one per excerpt) by page."""
        by_page: dict[tuple[str | None, str | None], WebSource] = {}
        # The excerpts already kept per page, as a set: linear however often a page recurs.
        kept: dict[tuple[str | None, str | None], set[str]] = {}
        for item in citations or []:
            if not isinstance(item, dict):
                continue
            url, title, text = item.get("url"), item.get("title"), item.get("text")
            key = (url, None) if url else (None, title)
            source = by_page.get(key)
            if source is None:
                source = by_page[key] = WebSource(url=url, title=title)
                kept[key] = set()
            if source.title is None and title:
                source.title = title
            if isinstance(text, str) and text and text not in kept[key]:
                kept[key].add(text)
                source.excerpts.append(text)
        return cls(sources=list(by_page.values()))

    @classmethod
    def adapt_to_native_lm_feature(
        cls, signature: Any, field_name: str, lm: Any, lm_kwargs: dict[str, Any]
    ) -> Any:
        """DSPy hook: with a `ParallelLM`, drop the field from what the model is asked for."""
        if not _is_parallel(lm):
            return signature  # another LM has no basis: it writes the field itself
        response_format = lm_kwargs.get("response_format")
        if (
            isinstance(response_format, type)
            and issubclass(response_format, pydantic.BaseModel)
            and field_name in response_format.model_fields
        ):
            # JSONAdapter built its schema from the whole signature before this hook ran.
            lm_kwargs["response_format"] = _without_field(response_format, field_name)
        return _drop_field(signature, field_name)

    @classmethod
    def parse_lm_response(cls, response: str | dict[str, Any]) -> WebSources | None:
        """DSPy hook: the field's value from the call's citations (None without any)."""
        if isinstance(response, dict) and response.get("citations"):
            return cls.from_citations(response["citations"])
        return None


def with_web_sources(adapter: Any = None) -> Any:
    """`adapter` (default: a new `dspy.ChatAdapter()`) set up to fill `WebSources` fields.

    Limitation: ChatAdapter's JSON fallback (a second call DSPy makes only when the first
    answer cannot be parsed) builds a fresh JSONAdapter that does not know `WebSources`;
    in that call the model is asked for the field. Pass `use_json_adapter_fallback=False`
    to ChatAdapter, or use `with_web_sources(dspy.JSONAdapter())`, to rule that out.
    """
    if adapter is None:
        adapter = dspy.ChatAdapter()
    if WebSources not in adapter.native_response_types:
        adapter.native_response_types = [*adapter.native_response_types, WebSources]
    return adapter
