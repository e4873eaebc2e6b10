"""The short value a sentence gives for a field: a name, a number, a date or a phrase.

"Its capital and largest city is Paris, which lies on the river Seine." gives `capital` the
value "Paris": the words after the field's cue ("capital") up to a linking word ("is", "of",
"by", ":"), then a run of capitalised words, a number with its scale, or a short phrase up to
the clause's end. "Paris is the capital of France." is read the other way round. Nothing is
invented: the value is always a span of the sentence, so a citation can anchor on it.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ._retrieval import tokenize

_TOKEN = re.compile(r"[\w'’.-]*\w|[,;:()]")
_LINKS = frozenset(
    ["is", "are", "was", "were", "of", "by", "from", "named", "called", "as", "at", "in", "to"]
)
_FILLERS = frozenset(
    [
        "about",
        "around",
        "roughly",
        "approximately",
        "some",
        "nearly",
        "almost",
        "over",
        "the",
        "a",
        "an",
    ]
)
_CLAUSE_END = frozenset(
    ["which", "who", "whose", "where", "that", "and", "while", "with", ",", ";", ":", "(", ")"]
)
_SCALES = frozenset(["hundred", "thousand", "million", "billion", "trillion"])
_NUMBER = re.compile(r"^-?\d[\d,]*(?:\.\d+)?$")
_MAX_GAP = 6  # words between the cue and its linking word ("capital and largest city is")
_MAX_PHRASE = 6


def value_in(sentence: str, cues: Collection[str]) -> str | None:
    """The value `sentence` gives for a field whose (stemmed) cue terms are `cues`."""
    tokens = _TOKEN.findall(sentence)
    stems = [(tokenize(t) or [""])[0] for t in tokens]
    for at, stem in enumerate(stems):
        if stem not in cues:
            continue
        after = _after(tokens, at)
        if after:
            return after
        before = _before(tokens, at)
        if before:
            return before
    return None


def _after(tokens: list[str], at: int) -> str | None:
    for link in range(at + 1, min(at + 1 + _MAX_GAP, len(tokens))):
        if tokens[link] in (",", ";", "(", ")"):
            return None
        if tokens[link].lower() in _LINKS or tokens[link] == ":":
            return _value_from(tokens, link + 1)
    return None


def _before(tokens: list[str], at: int) -> str | None:
    # "Paris is the capital of France": a capitalised run, "is", optional article, the cue.
    position = at - 1
    while position >= 0 and tokens[position].lower() in ("the", "a", "an", "its", "their"):
        position -= 1
    if position < 1 or tokens[position].lower() not in ("is", "was", "are", "were"):
        return None
    run: list[str] = []
    position -= 1
    while position >= 0 and tokens[position][:1].isupper():
        run.insert(0, tokens[position])
        position -= 1
    return " ".join(run) or None


def _value_from(tokens: list[str], start: int) -> str | None:
    position = start
    while position < len(tokens) and tokens[position].lower() in _FILLERS:
        position += 1
    if position >= len(tokens):
        return None
    first = tokens[position]
    if _NUMBER.match(first):
        value = [first]
        if position + 1 < len(tokens) and tokens[position + 1].lower() in _SCALES:
            value.append(tokens[position + 1])
        return " ".join(value)
    if first[:1].isupper():
        run = [first]
        for token in tokens[position + 1 :]:
            if not token[:1].isupper() and token.lower() not in ("of", "de"):
                break
            run.append(token)
        while run and not run[-1][:1].isupper():
            run.pop()
        return " ".join(run)
    phrase: list[str] = []
    for token in tokens[position:]:
        if token.lower() in _CLAUSE_END or len(phrase) >= _MAX_PHRASE:
            break
        phrase.append(token)
    return " ".join(phrase).rstrip(".") or None


def number_of(text: str) -> float | None:
    """The number a value states ("68 million" -> 68000000.0), if it states one."""
    found = re.match(r"^(-?\d[\d,]*(?:\.\d+)?)(?:\s+(\w+))?", text.strip())
    if not found:
        return None
    number = float(found.group(1).replace(",", ""))
    scale = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
    return number * scale.get((found.group(2) or "").lower(), 1)
