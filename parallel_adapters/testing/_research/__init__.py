"""The research simulator: the emulator's default responder.

It answers from a bundled offline corpus (BM25 over sentences), reads the question without
its instructions (`_question`), follows the prompt templates of the frameworks this kit
adapts (`_prompts`) and control prompts generically (`_control`), fills JSON schemas with
the values sentences give (`_schema`, `_values`), resolves follow-ups against earlier user
turns, and cites, per output field, the sentences each answer came from.
The server knows nothing of this: it hands the responder an `EmulatorRequest` and renders
the `EmulatorAnswer` it gets back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .._responder import Citation, EmulatorAnswer, EmulatorRequest, FieldBasis, WebAction
from ._answers import AnswerEngine
from ._corpus import CorpusPage, coerce_pages, load_default_corpus
from ._prompts import parse_prompt
from ._question import key_terms, refers_back

# The Responses API's tiers, answered as deeply as the Chat API's research models.
_EFFORT_MODELS = {"low": "lite", "medium": "base", "high": "core"}

__all__ = ["CorpusPage", "ResearchResponder", "load_default_corpus"]


class ResearchResponder:
    """Answers any request from `corpus` (default: the bundled pages), deterministically."""

    def __init__(self, corpus: Sequence[CorpusPage | dict[str, str]] | None = None) -> None:
        pages = coerce_pages(corpus) if corpus is not None else load_default_corpus()
        self._engine = AnswerEngine(pages)

    def __call__(self, request: EmulatorRequest) -> EmulatorAnswer:
        model = request.model
        if request.api == "responses":
            model = _EFFORT_MODELS[request.effort or "medium"]
        prompt = parse_prompt(request.messages)
        # A follow-up is researched together with the questions of the turns it links to.
        questions = [parse_prompt(turn.messages).query for turn in request.history]
        query = " ".join([*questions, prompt.query])
        topic: tuple[str, ...] = ()
        if refers_back(prompt.query) and not prompt.rephrase:
            # "What is it that makes DSPy different?" names its own subject; "its" then
            # needs no earlier turn.
            own = self._engine.topic_of(prompt.query, model)
            if not set(own) & set(key_terms(prompt.query)):
                topic = self._earlier_topic(request, model)
        answer = self._engine.answer(
            model, dataclasses.replace(prompt, query=query), request.response_format, topic
        )
        basis = tuple(_field_basis(entry) for entry in answer.basis)
        pages = dict.fromkeys(c.url for entry in basis for c in entry.citations)
        actions: tuple[WebAction, ...] = ()
        if not prompt.rephrase:
            actions = (
                WebAction("search", query=prompt.query),
                *(WebAction("open_page", url=url) for url in pages),
            )
        return EmulatorAnswer(answer.content, basis=basis, web_actions=actions)

    def _earlier_topic(self, request: EmulatorRequest, model: str) -> tuple[str, ...]:
        """What "its" refers to: the page that answered the latest earlier user turn."""
        users = [m for m in request.messages if m.role == "user"][:-1]
        earlier = [*(m for turn in request.history for m in turn.messages if m.role == "user")]
        for message in reversed([*earlier, *users]):
            question = parse_prompt([message]).query
            topic = self._engine.topic_of(question, model)
            if topic:
                return topic
        return ()


def _field_basis(entry: dict[str, Any]) -> FieldBasis:
    citations = tuple(
        Citation(c["url"], c["title"], tuple(c["excerpts"])) for c in entry["citations"]
    )
    return FieldBasis(entry["field"], citations, entry["reasoning"], entry["confidence"])
