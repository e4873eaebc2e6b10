"""Read answers, whole or streamed, into a `Completion`.

Parsing is lenient by design: the API documents `id`, `object`, `model`,
`finish_reason` and `usage` as "always empty" without saying whether that means
missing, null or "", so any of those shapes is accepted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ._basis import Citation, FieldBasis, Source, parse_basis, sources_from_basis, unique_citations
from ._errors import OutputParseError, ServerError
from ._request import ChatRequest
from ._spans import CitedSpan, WebSearchCall, insert_markers

__all__ = ["Completion", "StreamAccumulator", "StreamPart", "completion_from_body"]

_Model = TypeVar("_Model", bound=BaseModel)
logger = logging.getLogger("parallel_adapters")

# Models that answer without a basis: their streams have no last-chunk evidence.
BASISLESS_MODELS = frozenset({"speed"})


@dataclass(frozen=True)
class Completion:
    """One answer, with the research basis behind it.

    `str(completion)` is the answer text.
    """

    text: str
    """The answer's text (a JSON document when structured output was asked for)."""
    model: str
    """The model that answered (the requested one when the API leaves it blank)."""
    basis: list[FieldBasis] = field(default_factory=list)
    """Per output field: citations, reasoning and confidence. Empty for `speed`."""
    citations: list[Citation] = field(default_factory=list)
    """Every cited source once, in first-seen order, excerpts merged across fields."""
    interaction_id: str | None = None
    """Pass as `previous_interaction_id=` to ask a follow-up with this answer's context."""
    id: str | None = None
    """The completion id, when the API sends one (it documents it as empty)."""
    created: int | None = None
    """Unix time of the answer, when the API sends it."""
    finish_reason: str | None = None
    """Why the answer ended (e.g. `"stop"`), when the API sends it."""
    usage: dict[str, Any] | None = None
    """Token counts, when the API sends them (it documents them as empty)."""
    parsed: BaseModel | None = None
    """The answer validated into the pydantic model given as `response_format`, else None."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    """The decoded response body (a stream's chunks are merged into the same shape), for
    what is not typed."""
    incomplete: bool = False
    """True when the text may be cut short: the Responses API said `status: "incomplete"`
    (see `incomplete_reason`), or a stream closed cleanly without its end (no
    `response.completed`; on the Chat API no `[DONE]`, finish reason or basis). A batch
    journals such an answer as a failure, to be asked again."""
    incomplete_reason: str | None = None
    """Why the Responses API stopped short (`incomplete_details.reason`, e.g.
    `"max_output_tokens"`), when `incomplete` comes from the server; else None."""
    # Responses API only (empty for Chat API answers): the cited spans of `text`, one per
    # `url_citation` annotation in order, and the searches and page reads behind them.
    cited_spans: list[CitedSpan] = field(default_factory=list)
    """Responses API only: the passages of `text` each source supports, one per
    `url_citation` annotation, in the server's order. Empty for Chat API answers."""
    web_search_calls: list[WebSearchCall] = field(default_factory=list)
    """Responses API only: the searches and page reads the research made, in order.
    Empty for Chat API answers."""
    cost: float | None = None
    """What this answer cost in US dollars, at the published price of the model and
    reasoning effort it was billed for (see docs/cost-and-tracing.md); None where no
    price is published, and for an answer not read from the API."""

    def __str__(self) -> str:
        return self.text

    @property
    def sources(self) -> list[Source]:
        """One `Source` per (output field, cited page), in first-seen order: `citations`
        with each field's confidence and reasoning. A page cited for two fields appears
        twice, since a source is only as strong as the field it supports."""
        return sources_from_basis(self.basis)

    def parsed_as(self, model: type[_Model]) -> _Model:
        """The answer as an instance of `model`, typed for checkers: `parsed` when it is
        one (`response_format=model`), else the answer's JSON validated against `model`.

        Raises `OutputParseError` if the answer does not fit `model`.
        """
        if isinstance(self.parsed, model):
            return self.parsed
        parsed = _parse_output(self.text, model)
        if not isinstance(parsed, model):  # pragma: no cover - _parse_output returns one
            raise OutputParseError(f"the answer is not a {model.__name__}", text=self.text)
        return parsed

    def text_with_markers(self, template: str = "[{n}]") -> str:
        """The text with `template.format(n=...)` right after each cited span.

        `n` is the 1-based position of the span's URL in `citations`. Answers without
        cited spans (every Chat API answer) come back unchanged.
        """
        numbers = {c.url: n for n, c in enumerate(self.citations, 1)}
        return insert_markers(self.text, self.cited_spans, numbers, template)

    def json(self) -> Any:
        """The answer decoded as JSON; `OutputParseError` if it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise OutputParseError(f"the answer is not valid JSON: {exc}", text=self.text) from exc


@dataclass(frozen=True)
class StreamPart:
    """One piece of a streamed answer."""

    delta: str
    """The text that arrived in this piece."""


def _blank_to_none(value: Any) -> Any:
    return None if value in ("", None) else value


def _parse_output(text: str, output_model: type[BaseModel] | None) -> BaseModel | None:
    if output_model is None:
        return None
    try:
        return output_model.model_validate_json(text)
    except ValidationError as exc:
        raise OutputParseError(
            f"the answer does not match {output_model.__name__}: "
            f"{exc.errors(include_url=False, include_input=False)}",
            text=text,
        ) from exc


def _created(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _build(
    request: ChatRequest,
    *,
    text: str,
    raw: dict[str, Any],
    basis_raw: Any,
    interaction_id: Any,
    model: Any,
    finish_reason: Any,
    usage: Any,
    incomplete: bool = False,
) -> Completion:
    basis = parse_basis(basis_raw)
    return Completion(
        text=text,
        model=_blank_to_none(model) or request.model,
        basis=basis,
        citations=unique_citations(basis),
        interaction_id=_blank_to_none(interaction_id),
        id=_blank_to_none(raw.get("id")),
        created=_created(raw.get("created")),
        finish_reason=_blank_to_none(finish_reason),
        usage=usage if isinstance(usage, dict) and usage else None,
        parsed=_parse_output(text, request.output_model),
        raw=raw,
        incomplete=incomplete,
    )


def completion_from_body(body: Any, request: ChatRequest) -> Completion:
    """A `Completion` from a non-streaming JSON body."""
    if not isinstance(body, dict):
        raise ServerError(
            f"the server sent a {type(body).__name__} instead of a JSON object",
            status_code=None,
            retryable=False,
        )
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    if not isinstance(choice, dict):
        choice = {}
    # The spec's own example puts the text in `delta`; every real client reads `message`.
    message = choice.get("message") or choice.get("delta") or {}
    content = message.get("content") if isinstance(message, dict) else None
    if content is None and not choices:
        raise ServerError(
            "the server's answer has no choices", status_code=None, body=body, retryable=False
        )
    return _build(
        request,
        text=content if isinstance(content, str) else "",
        raw=body,
        basis_raw=body.get("basis"),
        interaction_id=body.get("interaction_id"),
        model=body.get("model"),
        finish_reason=choice.get("finish_reason"),
        usage=body.get("usage"),
    )


class StreamAccumulator:
    """Collects streamed chunks into the final `Completion`.

    Basis and `interaction_id` are taken from the last chunk that carries a
    non-empty value, wherever in the stream that is.
    """

    def __init__(self, request: ChatRequest) -> None:
        self.request = request
        self._parts: list[str] = []
        self._basis: Any = None
        self._interaction_id: Any = None
        self._model: Any = None
        self._finish_reason: Any = None
        self._usage: Any = None
        self._last: dict[str, Any] = {}
        # Set by whoever reads the events when `data: [DONE]` arrives.
        self.saw_done = False

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, chunk: Any) -> str:
        """Take one chunk; returns its text delta ("" when it has none)."""
        if not isinstance(chunk, dict):
            return ""
        self._last = chunk
        if chunk.get("basis"):
            self._basis = chunk["basis"]
        if chunk.get("interaction_id"):
            self._interaction_id = chunk["interaction_id"]
        if chunk.get("model"):
            self._model = chunk["model"]
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        delta = ""
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
            piece = choice.get("delta") or choice.get("message") or {}
            content = piece.get("content") if isinstance(piece, dict) else None
            if isinstance(content, str) and content:
                delta = content
                self._parts.append(content)
        return delta

    def finish(self) -> Completion:
        # Shaped like a non-streaming body, so code reading `raw` needs no second path.
        raw = {k: v for k, v in self._last.items() if k not in ("choices", "type", "usage")}
        raw["object"] = "chat.completion"
        raw["choices"] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": self.text},
                "finish_reason": self._finish_reason,
            }
        ]
        raw["basis"] = self._basis or []
        raw["interaction_id"] = self._interaction_id
        raw["usage"] = self._usage
        incomplete = self._looks_cut_short()
        if incomplete:
            logger.warning(
                "the %s stream ended with no [DONE], no finish_reason and no basis; "
                "the answer (%d characters) may be cut short (Completion.incomplete)",
                self.request.model,
                len(self.text),
            )
        return _build(
            self.request,
            text=self.text,
            raw=raw,
            basis_raw=self._basis,
            interaction_id=self._interaction_id,
            model=self._model,
            finish_reason=self._finish_reason,
            usage=self._usage,
            incomplete=incomplete,
        )

    def _looks_cut_short(self) -> bool:
        """Research models send their basis on the last chunk; `[DONE]` and finish_reason
        are not promised. Only a stream with none of the three is suspect: for `speed`,
        which has no basis, nothing tells a cut stream from a whole one."""
        if self.saw_done or self._finish_reason or self._basis:
            return False
        return self.request.model not in BASISLESS_MODELS
