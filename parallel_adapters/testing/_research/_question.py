"""A question as a user means it: the topic, without the instructions around it.

- "Answer briefly: what is ...?" and "... Answer in one sentence." are instructions about the
  answer's form, not its topic: a sentence (or a clause before a colon) that starts with an
  instruction verb and names a form word is dropped when something else is left.
- Form words ("json", "briefly", "sentence", ...) left inside the topic are not key terms
  either, unless they are all there is ("What is JSON Schema?").
- A follow-up ("What is its population?") refers back with a pronoun; `refers_back` says so,
  and the responder adds the last topic of the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._retrieval import tokenize

_INSTRUCTION_VERBS = frozenset(
    [
        "answer",
        "return",
        "respond",
        "reply",
        "output",
        "format",
        "use",
        "give",
        "provide",
        "write",
        "keep",
        "be",
        "please",
        "only",
        "include",
        "limit",
        "express",
        "state",
        "make",
        "put",
        "do",
        "don't",
    ]
)
_FORM_WORDS = frozenset(
    [
        "json",
        "briefly",
        "brief",
        "concise",
        "concisely",
        "sentence",
        "sentences",
        "word",
        "words",
        "short",
        "shortly",
        "format",
        "formatted",
        "key",
        "keys",
        "field",
        "fields",
        "object",
        "markdown",
        "bullet",
        "bullets",
        "list",
        "plain",
        "valid",
        "schema",
        "exactly",
        "only",
        "one",
        "two",
        "three",
        "few",
        "single",
        "paragraph",
        "line",
        "lines",
        "yaml",
        "csv",
    ]
)
_FORM_TERMS = frozenset(
    tokenize(
        " ".join(sorted(_FORM_WORDS))
        + " answer answers return respond reply output provide using use"
    )
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_PRONOUN = re.compile(
    r"\b(its|it|their|theirs|they|them|there|his|her|he|she|this|that|these|those)\b", re.I
)


def topic(question: str) -> str:
    """The question without the sentences and clauses that only instruct the answer's form."""
    sentences = [s.strip() for s in _SENTENCE.split(question) if s.strip()]
    kept: list[str] = []
    for sentence in sentences:
        head, colon, tail = sentence.partition(":")
        if colon and tail.strip() and _instructs(head):
            sentence = tail.strip()
        kept.append(sentence)
    content = [s for s in kept if not _instructs(s)]
    return " ".join(content or kept)


def _instructs(text: str) -> bool:
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and words[0] in _INSTRUCTION_VERBS and bool(set(words) & _FORM_WORDS)


def key_terms(question: str) -> list[str]:
    """The retrieval terms of a question: its topic's terms, form words only if nothing else."""
    terms = tokenize(topic(question))
    content = [t for t in terms if t not in _FORM_TERMS]
    return content or terms


def refers_back(question: str) -> bool:
    """True if the question leans on an earlier turn ("its", "they", "there", ...)."""
    return bool(_PRONOUN.search(topic(question)))


def proper_nouns(text: str) -> list[str]:
    """Runs of capitalised words that do not open a sentence ("France", "Omar Khattab")."""
    found: list[str] = []
    for sentence in _SENTENCE.split(text):
        words = re.findall(r"[\w'’-]+", sentence)
        run: list[str] = []
        for position, word in enumerate([*words, ""]):
            if word[:1].isupper() and position > 0:
                run.append(re.sub(r"['’]s$", "", word))
                continue
            if run:
                found.append(" ".join(run))
                run = []
    return found


def quoted(text: str) -> Sequence[str]:
    """Quoted spans of three or more words, in order."""
    spans = re.findall(r"'([^'\n]{3,}?)'(?!\w)|\"([^\"\n]{3,}?)\"|‘([^’\n]{3,}?)’", text)
    return [next(part for part in span if part) for span in spans]
