"""Deterministic JSON values that satisfy a caller's JSON schema, filled from the evidence.

A research model answering with `response_format: json_schema` returns JSON valid against the
schema and one basis entry per top-level field. The emulator does the same: it walks the
schema and fills each leaf from the retrieved sentences where the field's name or format says
what it wants (a URL, a title, a year, a reasoning text), and from the schema's own
constraints (enum, minimum, minItems, ...) otherwise. Every fill records which sentences it
used, so the basis of each field cites exactly its sources.

Covered: type (also as a list), object/properties/required/additionalProperties, array/items/
prefixItems/minItems/maxItems/uniqueItems, string/enum/const/format/minLength/maxLength,
number/integer bounds and multipleOf, boolean, null, anyOf/oneOf (first non-null branch),
allOf (merged), $ref into $defs/definitions. Not generated: `pattern` (a value is kept even if
it does not match), `not`, `if/then/else`, `dependentSchemas`.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._responder import SchemaError as ResponderSchemaError
from ._evidence import NOT_FOUND_ANSWER, Evidence
from ._retrieval import Passage, tokenize
from ._values import number_of, value_in

Finder = Callable[[Sequence[str]], "Passage | None"]
"""Looks up a sentence, on the evidence's pages, that holds one of some (stemmed) cue terms."""

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# Marks a schema picked from an anyOf/oneOf that also allowed null, so a value no source
# supports can be null instead of an invented number.
_NULLABLE = "\x00nullable"
_MAX_DEPTH = 6  # past this, objects keep only required properties and arrays their minItems
_HARD_DEPTH = 40  # a schema that still recurses here cannot be satisfied finitely
_PLACEHOLDER_URL = "https://corpus.parallel-adapters.example/"

_NUMBER = re.compile(r"(?<![\w.])(-?\d{1,3}(?:,\d{3})+|-?\d+(?:\.\d+)?)(?:\s+(million|billion))?")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")

_URL_WORDS = {"url", "urls", "link", "links", "source", "sources", "website", "homepage", "href"}
_URL_WORDS |= {"uri", "citation", "citations", "reference", "references"}
_TITLE_WORDS = {"title", "titles", "headline", "heading"}
_REASON_WORDS = {"reason", "reasoning", "rationale", "explanation", "justification", "thought"}
_REASON_WORDS |= {"thoughts", "thinking", "analysis"}
_EXCERPT_WORDS = {"quote", "quotes", "excerpt", "excerpts", "evidence", "snippet", "snippets"}
_EXCERPT_WORDS |= {"passage", "passages", "sentence", "sentences", "fact", "facts"}
_CONFIDENCE_WORDS = {"confidence", "certainty"}
# Fields that want the whole answer, not one value out of it.
_WHOLE_WORDS = {"answer", "summary", "description", "text", "content", "output", "response"}
_WHOLE_WORDS |= {"result", "details", "overview", "body", "message", "info", "information"}
_WHOLE_WORDS |= {"notes", "comment", "explanation", "context"}
# Words that name no topic of their own: a `name` field's cue is its object's title.
_GENERIC_WORDS = {"name", "value", "full", "main", "primary", "the", "of", "item", "entry"}


class SchemaError(ResponderSchemaError):
    """The schema cannot be satisfied or resolved (a dangling $ref, endless recursion)."""


@dataclass
class FieldFill:
    """One top-level field's value and the sentences it was filled from."""

    value: Any
    passages: list[Passage] = field(default_factory=list)
    derived: bool = False
    """True if the value came from the evidence, False if only from schema constraints."""


def fill_schema(
    schema: object, evidence: Evidence, finder: Finder | None = None
) -> tuple[Any, list[tuple[str, FieldFill]]]:
    """A value valid against `schema`, and per top-level field its fill (for the basis).

    A schema whose root is not an object yields a single field named "output". A field
    whose name says what it wants ("capital", "population", a `Founder`'s "name") gets the
    value a sentence gives for it (see `_values`), found among the evidence or by `finder`.
    """
    filler = _Filler(schema, evidence, finder)
    root = filler.resolve(schema, 0)
    filler.subject = _words(str(root.get("title") or ""))
    if not root:
        root = {"type": "object"}  # any JSON is allowed; answer with an object, as chat APIs do
    if _kind(root) == "object":
        fields = filler.object_fields(root, depth=0)
        return {name: fill.value for name, fill in fields}, fields
    fill = filler.fill_field(root, "output", depth=0)
    return fill.value, [("output", fill)]


class _Filler:
    def __init__(self, root: object, evidence: Evidence, finder: Finder | None = None) -> None:
        self._root = root
        self._evidence = evidence
        self._finder = finder
        self.subject: set[str] = set()
        self._sentences = [p.text for p in evidence.passages]
        self._current: FieldFill = FieldFill(None)

    # -- schema plumbing ------------------------------------------------------------------

    def resolve(self, schema: object, depth: int) -> dict[str, Any]:
        """Follow $ref, merge allOf and pick an anyOf/oneOf branch until a plain schema."""
        if depth > _HARD_DEPTH:
            raise SchemaError("the schema recurses without end")
        if schema is True or schema is None:
            return {}
        if schema is False:
            raise SchemaError("a `false` schema admits no value")
        if not isinstance(schema, Mapping):
            raise SchemaError(f"a schema must be an object or a boolean, not {schema!r}")
        current = dict(schema)
        if "$ref" in current:
            target = self._lookup(str(current.pop("$ref")))
            return self.resolve({**self.resolve(target, depth + 1), **current}, depth + 1)
        if "allOf" in current:
            parts = [self.resolve(part, depth + 1) for part in current.pop("allOf")]
            return self.resolve(_merge([current, *parts]), depth + 1)
        for keyword in ("anyOf", "oneOf"):
            if keyword in current:
                branches = list(current.pop(keyword))
                resolved = [self.resolve(b, depth + 1) for b in branches]
                chosen = next((b for b in resolved if _kind(b) != "null"), resolved[0])
                if chosen is not resolved[0] or any(_kind(b) == "null" for b in resolved):
                    current[_NULLABLE] = True
                return self.resolve({**current, **chosen}, depth + 1)
        return current

    def _lookup(self, ref: str) -> object:
        if not ref.startswith("#"):
            raise SchemaError(f"only local references are supported, not {ref!r}")
        node: object = self._root
        for raw in filter(None, ref[1:].split("/")):
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                raise SchemaError(f"the reference {ref!r} points at nothing")
        return node

    # -- fields ---------------------------------------------------------------------------

    def object_fields(self, schema: dict[str, Any], depth: int) -> list[tuple[str, FieldFill]]:
        return [
            (name, self.fill_field(sub, name, depth + 1))
            for name, sub in self._object_members(schema, depth)
        ]

    def fill_field(self, schema: object, name: str, depth: int) -> FieldFill:
        outer, self._current = self._current, FieldFill(None)
        try:
            self._current.value = self.value(schema, name, None, depth)
            return self._current
        finally:
            self._current = outer

    def _cite(self, *passages: Passage) -> None:
        self._current.derived = True
        for passage in passages:
            if passage not in self._current.passages:
                self._current.passages.append(passage)

    # -- values ---------------------------------------------------------------------------

    def value(self, schema: object, name: str, index: int | None, depth: int) -> Any:
        """A value for `schema`; `index` is the position when filling an array's items."""
        resolved = self.resolve(schema, depth)
        if "const" in resolved:
            return resolved["const"]
        if "enum" in resolved:
            return self._enum(list(resolved["enum"]))
        kind = _kind(resolved)
        if kind == "object":
            members = self._object_members(resolved, depth)
            return {key: self.value(sub, key, None, depth + 1) for key, sub in members}
        if kind == "array":
            return self._array(resolved, name, depth)
        if kind in ("integer", "number"):
            nullable = bool(resolved.get(_NULLABLE)) or "null" in _types(resolved)
            return self._number(resolved, name, integer=kind == "integer", nullable=nullable)
        if kind == "boolean":
            if self._evidence.found:
                self._cite(*self._evidence.passages)
            return self._evidence.found
        if kind == "null":
            return None
        return self._string(resolved, name, index)

    def _object_members(self, schema: dict[str, Any], depth: int) -> list[tuple[str, object]]:
        properties: dict[str, object] = dict(schema.get("properties") or {})
        required = [str(r) for r in schema.get("required") or []]
        if depth > _MAX_DEPTH:
            properties = {k: v for k, v in properties.items() if k in required}
        for extra in required:
            properties.setdefault(extra, {"type": "string"})
        if not properties and schema.get("additionalProperties") is not False:
            extra_schema = schema.get("additionalProperties")
            properties["answer"] = extra_schema if isinstance(extra_schema, Mapping) else {}
        return list(properties.items())

    def _enum(self, options: list[Any]) -> Any:
        text = self._evidence.answer.lower() if self._evidence.found else ""
        for option in options:
            if not isinstance(option, str) or not option:
                continue
            needle = option.lower()
            if re.search(rf"\b{re.escape(needle)}\b", text):
                self._cite(*(p for p in self._evidence.passages if needle in p.text.lower()))
                return option
        if not options:
            raise SchemaError("an empty enum admits no value")
        return options[0]

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        prefix = list(schema.get("prefixItems") or [])
        items = schema.get("items", {})
        words = _words(name)
        if isinstance(items, Mapping) and _is_url_like(self.resolve(items, depth), words):
            natural = len(self._evidence.pages())
        else:
            natural = len(self._sentences)
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", max(natural, low, len(prefix))))
        count = low if depth > _MAX_DEPTH else min(max(natural, low, len(prefix)), high)
        result: list[Any] = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else (items if items is not False else {})
            result.append(self.value(sub, _singular(name), i, depth + 1))
        if schema.get("uniqueItems"):
            unique = list({json.dumps(v, sort_keys=True): v for v in result}.values())
            result = unique if len(unique) >= low else result
        return result

    def _string(self, schema: dict[str, Any], name: str, index: int | None) -> str:
        text = self._string_content(schema, _words(name), index)
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        while len(text) < low:
            text = f"{text} {self._evidence.answer}".strip()
        if high is not None:
            text = text[: int(high)]
        return text

    def _string_content(self, schema: dict[str, Any], words: set[str], index: int | None) -> str:
        position = index or 0
        fmt = schema.get("format")
        pages = self._evidence.pages()
        passages = self._evidence.passages
        if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference") or (
            not fmt and words & _URL_WORDS
        ):
            if not pages:
                return _PLACEHOLDER_URL
            page, _ = pages[position % len(pages)]
            self._cite(*(p for p in passages if p.page.url == page.url))
            return page.url
        if fmt in ("date", "date-time"):
            day = self._date()
            return day if fmt == "date" else f"{day}T00:00:00Z"
        if fmt == "time":
            return "00:00:00Z"
        if fmt in ("email", "idn-email"):
            return "contact@corpus.parallel-adapters.example"
        if fmt == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, self._evidence.answer))
        if fmt in ("hostname", "idn-hostname"):
            return "corpus.parallel-adapters.example"
        if fmt == "ipv4":
            return "127.0.0.1"
        if fmt == "ipv6":
            return "::1"
        if not self._evidence.found:
            return NOT_FOUND_ANSWER
        if words & _TITLE_WORDS:
            page, _ = pages[position % len(pages)]
            self._cite(*(p for p in passages if p.page.url == page.url))
            return page.title
        if words & _CONFIDENCE_WORDS:
            self._cite(*passages)
            return self._evidence.confidence
        if words & _REASON_WORDS:
            self._cite(*passages)
            return self._evidence.reasoning()
        if words & _EXCERPT_WORDS or index is not None:
            # Array items and quote-like fields take one sentence each, in answer order.
            passage = passages[position % len(passages)]
            self._cite(passage)
            return passage.text
        if not words & _WHOLE_WORDS:
            found = self._field_value(words)
            if found is not None:
                self._cite(found[0])
                return found[1]
        self._cite(*passages)
        return self._evidence.answer

    def _cues(self, words: set[str]) -> list[str]:
        own = words - _GENERIC_WORDS - _WHOLE_WORDS
        return tokenize(" ".join(sorted(own or self.subject)))

    def _field_value(self, words: set[str]) -> tuple[Passage, str] | None:
        """The first value a sentence gives for the field: evidence first, then its pages."""
        cues = self._cues(words)
        if not cues:
            return None
        candidates = list(self._evidence.passages)
        if self._finder is not None and (extra := self._finder(cues)) is not None:
            candidates.append(extra)
        for passage in candidates:
            value = value_in(passage.text, cues)
            if value:
                return passage, value
        return None

    def _date(self) -> str:
        for passage in self._evidence.passages:
            if found := _ISO_DATE.search(passage.text):
                self._cite(passage)
                return found.group(0)
        for passage in self._evidence.passages:
            if found := _YEAR.search(passage.text):
                self._cite(passage)
                return f"{found.group(0)}-01-01"
        return "1970-01-01"

    def _number(
        self, schema: dict[str, Any], name: str, integer: bool, nullable: bool
    ) -> int | float | None:
        wants_year = bool(_words(name) & {"year", "founded", "established", "born"})
        found = None if wants_year else self._field_value(_words(name))
        stated = number_of(found[1]) if found is not None else None
        if found is not None and stated is not None and _fits(stated, schema, integer):
            self._cite(found[0])
            return _as_number(stated, integer)
        candidates: list[tuple[float, Passage]] = []
        for passage in self._evidence.passages:
            for match in _NUMBER.finditer(passage.text):
                number = float(match.group(1).replace(",", ""))
                number *= {"million": 1e6, "billion": 1e9}.get(match.group(2) or "", 1)
                candidates.append((number, passage))
        if wants_year:
            candidates = [c for c in candidates if 1000 <= c[0] <= 2999 and c[0].is_integer()]
        for number, passage in candidates:
            if _fits(number, schema, integer):
                self._cite(passage)
                return _as_number(number, integer)
        default = schema.get("default")
        if isinstance(default, (int, float)) and _fits(float(default), schema, integer):
            return _as_number(float(default), integer)
        if nullable:
            return None
        return _as_number(_smallest_fit(schema, integer), integer)


def _types(schema: Mapping[str, Any]) -> list[str]:
    declared = schema.get("type")
    return [str(t) for t in declared] if isinstance(declared, list) else [str(declared)]


def _kind(schema: Mapping[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        non_null = [t for t in declared if t != "null"]
        declared = non_null[0] if non_null else "null"
    if isinstance(declared, str):
        return declared
    if {"properties", "required", "additionalProperties"} & schema.keys():
        return "object"
    if {"items", "prefixItems", "minItems", "maxItems"} & schema.keys():
        return "array"
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & schema.keys():
        return "number"
    return "string"


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            else:
                merged.setdefault(key, value)
    return merged


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return set(re.findall(r"[a-z]+", spaced.lower()))


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _is_url_like(schema: Mapping[str, Any], words: set[str]) -> bool:
    if schema.get("format") in ("uri", "url", "iri", "uri-reference"):
        return True
    return _kind(schema) == "string" and bool(words & _URL_WORDS)


def _fits(number: float, schema: Mapping[str, Any], integer: bool) -> bool:
    if integer and not number.is_integer():
        return False
    bounds = {k: float(schema[k]) for k in _BOUNDS if _is_bound(schema.get(k))}
    if "minimum" in bounds and number < bounds["minimum"]:
        return False
    if "maximum" in bounds and number > bounds["maximum"]:
        return False
    if "exclusiveMinimum" in bounds and number <= bounds["exclusiveMinimum"]:
        return False
    if "exclusiveMaximum" in bounds and number >= bounds["exclusiveMaximum"]:
        return False
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
        quotient = number / step
        return math.isclose(quotient, round(quotient), abs_tol=1e-9)
    return True


def _smallest_fit(schema: Mapping[str, Any], integer: bool) -> float:
    """The allowed value closest to 0 (0 itself when the bounds allow it)."""
    step = 1.0 if integer else 1e-6
    low, high = -math.inf, math.inf
    if _is_bound(schema.get("minimum")):
        low = float(schema["minimum"])
    if _is_bound(schema.get("exclusiveMinimum")):
        low = max(low, float(schema["exclusiveMinimum"]) + step)
    if _is_bound(schema.get("maximum")):
        high = float(schema["maximum"])
    if _is_bound(schema.get("exclusiveMaximum")):
        high = min(high, float(schema["exclusiveMaximum"]) - step)
    candidate = min(max(0.0, low), high)
    if integer:
        candidate = float(math.ceil(candidate)) if candidate < high else float(math.floor(high))
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and not isinstance(multiple, bool) and multiple > 0:
        candidate = math.ceil(candidate / multiple) * float(multiple)
    return candidate


def _is_bound(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(number: float, integer: bool) -> int | float:
    # Whole numbers are written as JSON integers, which also satisfy `type: number`.
    return int(number) if integer or number.is_integer() else number
