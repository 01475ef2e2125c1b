"""Free text asked of Comprehend's DetectPiiEntities for what patterns cannot find in it: names and addresses. Pure
logic, no AWS (the call is :mod:`lakebox_layer.adapters.comprehend`); only for a contract with
`policy.pii_free_text`, and only where the endpoint offers Comprehend: AWS, never an emulator.

- Which columns: those whose first values are mostly text (`TEXT_SHARE` of them hold two letters in a row and a
  space inside), `MIN_AVERAGE_CHARS` long on average, which the contract does not mark `pii` and the patterns of
  :mod:`lakebox_layer.classification` did not classify. A name column ("Ada Lovelace") is free text; ids, SKUs,
  amounts, dates, single words and codes are not.
- The sample: the first `VALUES_PER_COLUMN` non-empty values of at most `MAX_COLUMNS` such columns (the first to
  show a text value), each stripped and cut to `MAX_VALUE_CHARS`, at most `COLUMN_CHARS` characters per column, from
  the same first records the patterns sample: memory that does not grow with the file, and at most 100,000
  characters asked per file (about 1,000 Comprehend units: 0.10 USD at the list price of 0.0001 USD per unit).
- The requests: values joined by `SEPARATOR`, packed up to `MAX_REQUEST_BYTES` of UTF-8 (DetectPiiEntities takes
  100 KB of text). Comprehend bills at least `MIN_REQUEST_CHARS` (300) per request, so small values share requests
  and the last request takes values from the one before until it has 300 characters, when there are that many.
- The answer: an entity's offsets are characters (code points, as Python counts them) of the request's text,
  `[BeginOffset, EndOffset)`; an entity counts for the value it lies wholly in, and one that crosses a separator
  counts for none. Only NAME and ADDRESS count, with a score of at least `MIN_SCORE` (classes `name` and
  `address`). The other types are left to the patterns, which find whole values of them at no cost; and the masks of
  their classes keep a whole value's shape (an email's mask keeps what follows its last dot), which on a note would
  leave words in the clear, where `name` and `address` are masked character by character.
- The verdict: a column is personal data when at least `PERSONAL_SHARE` (10 %) of its sampled values hold such an
  entity, of the class most of them hold (`name` on a tie). Far below the patterns' 80 %: a column of identifiers
  holds one kind of value throughout, while free text leaks a person in only some of its values (one support note
  in ten that names a customer is a column of personal data); the score keeps Comprehend's doubtful finds out.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from lakebox_layer.exceptions import FreeTextUnavailable

# Records sampled unless told; validation passes classification's own bound. Not imported from there: every function
# imports this module (through lakebox_layer.ports), and only validation may load the pattern libraries.
SAMPLE_RECORDS = 1_000
MAX_COLUMNS = 20
VALUES_PER_COLUMN = 50
MAX_VALUE_CHARS = 1_000
COLUMN_CHARS = 5_000
TEXT_SHARE = 0.5
MIN_AVERAGE_CHARS = 6

# Two paragraphs apart, so that Comprehend reads each value on its own.
SEPARATOR = "\n\n"
MIN_REQUEST_CHARS = 300
MAX_REQUEST_BYTES = 100_000

MIN_SCORE = 0.8
PERSONAL_SHARE = 0.1
# Comprehend's entity types that make free text personal data, and the class each gives a column.
ENTITY_CLASSES = {"NAME": "name", "ADDRESS": "address"}
_CLASS_ORDER = tuple(dict.fromkeys(ENTITY_CLASSES.values()))

FreeTextSample = dict[str, list[str]]
# Asks about one request's text (Comprehend's DetectPiiEntities): the entities found in it.
Detect = Callable[[str], Sequence["Entity"]]
_LETTERS = re.compile(r"[^\W\d_]{2}")


def is_text(value: object) -> bool:
    """Whether a value reads as text: a string with two letters in a row and whitespace inside it."""
    if value.__class__ is not str:
        return False
    text = str(value).strip()
    return len(text.split(None, 1)) == 2 and _LETTERS.search(text) is not None


@dataclass
class _Column:
    values: list[str] = field(default_factory=list)
    counted: int = 0  # non-empty values seen: the strings kept, and any other value
    text: int = 0  # of them, text
    chars: int = 0

    @property
    def done(self) -> bool:
        return self.counted >= VALUES_PER_COLUMN or self.chars >= COLUMN_CHARS

    def add(self, value: object) -> None:
        if value is None:
            return
        if value.__class__ is str:
            stripped = str(value).strip()
            if not stripped:
                return
            # A lone surrogate (JSON allows one) cannot be sent as UTF-8: '?' stands in, one character for one.
            kept = stripped[:min(MAX_VALUE_CHARS, COLUMN_CHARS - self.chars)].encode("utf-8", "replace").decode()
            self.values.append(kept)
            self.chars += len(kept)
            self.text += is_text(stripped)
        self.counted += 1


class FreeTextSampler:
    """The first values of a file's free-text columns, in memory that does not grow with the file or its values
    (see the module's limits); `skip` names columns never sampled (those the contract marks `pii`)."""

    def __init__(self, skip: Collection[str] = (), records: int = SAMPLE_RECORDS) -> None:
        self._skip = frozenset(skip)
        self._records = records
        self._added = 0
        self._columns: dict[str, _Column] = {}

    @property
    def full(self) -> bool:
        """True once `records` records were added: further records are not sampled."""
        return self._added >= self._records

    def add(self, fields: Mapping[str, Any]) -> None:
        """Sample one record's top-level fields; a column is sampled from its first text value on."""
        if self._added >= self._records:
            return
        self._added += 1
        columns = self._columns
        for name, value in fields.items():
            column = columns.get(name)
            if column is None:
                if len(columns) >= MAX_COLUMNS or not is_text(value) or name in self._skip:
                    continue
                column = columns[name] = _Column()
            elif column.done:
                continue
            column.add(value)

    def sample(self, exclude: Collection[str] = ()) -> FreeTextSample:
        """Column -> its sampled values, for the columns that are free text and not in `exclude` (the columns the
        patterns classified), in the order the columns were first seen."""
        return {name: list(column.values) for name, column in self._columns.items()
                if name not in exclude and column.values and column.text >= TEXT_SHARE * column.counted
                and column.chars >= MIN_AVERAGE_CHARS * len(column.values)}


@dataclass(frozen=True)
class Entity:
    """An entity Comprehend found in a request's text: its type, its score, and where it lies, [begin, end) in
    characters."""

    type: str
    score: float
    begin: int
    end: int


@dataclass(frozen=True)
class Span:
    """Where one sampled value lies in a request's text: [begin, end)."""

    column: str
    index: int  # the value's place in its column's sample
    begin: int
    end: int


@dataclass(frozen=True)
class Request:
    """One DetectPiiEntities request's text, and where each of its values lies in it."""

    text: str
    spans: tuple[Span, ...]

    @cached_property
    def _begins(self) -> list[int]:
        return [span.begin for span in self.spans]

    def span_of(self, begin: int, end: int) -> Span | None:
        """The value [begin, end) lies wholly in, or None (over a separator, or outside the text)."""
        at = bisect_right(self._begins, begin) - 1
        if at < 0 or begin >= end:
            return None
        span = self.spans[at]
        return span if end <= span.end else None


_Piece = tuple[str, int, str]  # column, index, value
_SEPARATOR_BYTES = len(SEPARATOR.encode())


def _fit(value: str, max_bytes: int) -> str:
    """The value, cut to `max_bytes` of UTF-8 if it is longer (never with the module's limits: a value is at most
    1,000 characters, 4,000 bytes)."""
    encoded = value.encode()
    return value if len(encoded) <= max_bytes else encoded[:max_bytes].decode("utf-8", "ignore")


def pack(sample: Mapping[str, Sequence[str]], max_bytes: int = MAX_REQUEST_BYTES,
         min_chars: int = MIN_REQUEST_CHARS) -> list[Request]:
    """The sample's values in as few requests as fit in `max_bytes` each, in the sample's order, each value whole in
    one request; the last request takes values from the one before until it has `min_chars` characters, as long as
    that one keeps `min_chars` (always under Comprehend's limit: the one before holds over 95,000 bytes)."""
    groups: list[list[_Piece]] = []
    size = 0  # bytes of the last group's text
    for column, values in sample.items():
        for index, value in enumerate(values):
            piece = (column, index, _fit(value, max_bytes))
            added = len(piece[2].encode())
            if groups and size + _SEPARATOR_BYTES + added <= max_bytes:
                groups[-1].append(piece)
                size += _SEPARATOR_BYTES + added
            else:
                groups.append([piece])
                size = added
    if len(groups) > 1:
        before, last = groups[-2], groups[-1]
        while len(before) > 1 and _chars(last) < min_chars:
            moved = before[-1]
            if _chars(before[:-1]) < min_chars or size + _SEPARATOR_BYTES + len(moved[2].encode()) > max_bytes:
                break
            last.insert(0, before.pop())
            size += _SEPARATOR_BYTES + len(moved[2].encode())
    return [_request(group) for group in groups]


def _chars(group: list[_Piece]) -> int:
    return sum(len(value) for _, _, value in group) + len(SEPARATOR) * (len(group) - 1)


def _request(group: list[_Piece]) -> Request:
    spans, at = [], 0
    for column, index, value in group:
        spans.append(Span(column, index, at, at + len(value)))
        at += len(value) + len(SEPARATOR)
    return Request(SEPARATOR.join(value for _, _, value in group), tuple(spans))


def entity_class(entity: Entity, min_score: float = MIN_SCORE) -> str | None:
    """The class an entity gives a column, or None (a type that does not count, or too low a score)."""
    return ENTITY_CLASSES.get(entity.type) if entity.score >= min_score else None


def personal_columns(sample: Mapping[str, Sequence[str]], found: Iterable[tuple[Span, Entity]],
                     share: float = PERSONAL_SHARE, min_score: float = MIN_SCORE) -> dict[str, str]:
    """Column -> class for the sampled columns where at least `share` of the values hold an entity that counts: the
    class most of those values hold (the first of `ENTITY_CLASSES` on a tie)."""
    classes: dict[tuple[str, int], set[str]] = {}
    for span, entity in found:
        kind = entity_class(entity, min_score)
        if kind is not None:
            classes.setdefault((span.column, span.index), set()).add(kind)
    verdict: dict[str, str] = {}
    for column, values in sample.items():
        held = [classes[(column, index)] for index in range(len(values)) if (column, index) in classes]
        if held and len(held) >= share * len(values):
            counts = Counter(kind for kinds in held for kind in kinds)
            verdict[column] = max(_CLASS_ORDER, key=lambda kind: counts[kind])
    return verdict


def detect_columns(sample: Mapping[str, Sequence[str]], detect: Detect) -> dict[str, str]:
    """Column -> class for the sample's columns of personal data, `detect` asked once per packed request."""
    found: list[tuple[Span, Entity]] = []
    for request in pack(sample):
        for entity in detect(request.text):
            span = request.span_of(entity.begin, entity.end)
            if span is not None:
                found.append((span, entity))
    return personal_columns(sample, found)


class FreeTextPass:
    """Free-text detection for one function instance's files. The first time `detect` cannot be asked
    (:class:`FreeTextUnavailable`), `unavailable` keeps why, `warn` hears it once, and no later file asks: until
    the instance ends, free text is judged by patterns only (a new instance asks again)."""

    def __init__(self, detect: Detect, warn: Callable[[str], None]) -> None:
        self._detect = detect
        self._warn = warn
        self.unavailable: str | None = None

    def columns(self, sample: Mapping[str, Sequence[str]]) -> dict[str, str]:
        """Column -> class for the sample's columns of personal data; none once Comprehend is known unavailable."""
        if not sample or self.unavailable is not None:
            return {}
        try:
            return detect_columns(sample, self._detect)
        except FreeTextUnavailable as unavailable:
            self.unavailable = unavailable.reason
            self._warn(unavailable.reason)
            return {}
