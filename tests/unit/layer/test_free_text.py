"""Free text asked of Comprehend: which columns, a sample bounded however large the file, requests packed to
Comprehend's 300-character minimum and 100 KB maximum, entities mapped back to the values they lie in, the share
and score that make a column personal data, and validation merging what is found with what the patterns found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from lakebox_layer.contracts import parse_contract
from lakebox_layer.free_text import (
    COLUMN_CHARS,
    MAX_COLUMNS,
    MAX_REQUEST_BYTES,
    MAX_VALUE_CHARS,
    MIN_REQUEST_CHARS,
    SEPARATOR,
    VALUES_PER_COLUMN,
    Entity,
    FreeTextPass,
    FreeTextSampler,
    Span,
    detect_columns,
    pack,
    personal_columns,
)
from lakebox_layer.validation import MASK, validate_records
from tests.fakes.free_text import FakeFreeTextDetector
from tests.unit.layer.validation_support import JSON, numbered

NOTES = ["Customer called about a late parcel", "Asked for an invoice copy by post", "Left at the front door"]


def sampled(*records: dict[str, Any], skip: Sequence[str] = ()) -> FreeTextSampler:
    sampler = FreeTextSampler(skip=skip)
    for record in records:
        sampler.add(record)
    return sampler


# -- which columns, and a bounded sample ---------------------------------------------------------------------------


def test_only_columns_of_text_are_sampled() -> None:
    sampler = sampled(*({"id": str(1000 + n), "sku": f"AB-{n:04d}", "amount": "12.50", "day": "2026-01-02",
                         "status": "shipped", "count": n, "code": f"AB {n}", "full_name": "Ada Lovelace",
                         "note": NOTES[n % 3]} for n in range(9)))

    # Ids, SKUs, amounts, dates, single words and numbers are not text; short codes with a space are too short.
    assert list(sampler.sample()) == ["full_name", "note"]
    assert sampler.sample()["note"] == NOTES * 3


def test_columns_the_contract_marks_or_the_patterns_classified_are_left_out() -> None:
    sampler = sampled({"note": NOTES[0], "declared": NOTES[1], "classified": NOTES[2]}, skip=["declared"])

    assert list(sampler.sample(exclude={"classified"})) == ["note"]


def test_a_column_mostly_of_other_values_is_not_free_text() -> None:
    # Sampled from its first text value on, then judged on all its values: one note among numbers is not text.
    sampler = sampled({"mixed": "Ada Lovelace"}, *({"mixed": n} for n in range(3)))

    assert sampler.sample() == {}


def test_the_sample_stays_bounded_however_long_and_wide_the_file() -> None:
    long = "word " * 1_000
    sampler = FreeTextSampler()
    for n in range(2_000):
        sampler.add({f"column{c}": f"{long}{n}" for c in range(MAX_COLUMNS + 10)})

    sample = sampler.sample()
    assert len(sample) == MAX_COLUMNS
    for values in sample.values():
        assert all(len(value) <= MAX_VALUE_CHARS for value in values)
        assert sum(map(len, values)) <= COLUMN_CHARS
    short = sampled(*({"note": f"Ada Lovelace {n}"} for n in range(500)))
    assert short.sample()["note"] == [f"Ada Lovelace {n}" for n in range(VALUES_PER_COLUMN)]


def test_only_the_first_records_are_sampled() -> None:
    sampler = FreeTextSampler(records=2)
    for note in NOTES:
        sampler.add({"note": note})

    assert sampler.full
    assert sampler.sample() == {"note": NOTES[:2]}


def test_a_lone_surrogate_is_replaced_so_the_value_encodes_and_keeps_its_length() -> None:
    [value] = sampled({"note": "Ada \ud800 Lovelace"}).sample()["note"]

    assert value == "Ada ? Lovelace"
    assert len(value.encode()) == len(value)


# -- packing -------------------------------------------------------------------------------------------------------


def values_of(requests: list[Any]) -> list[tuple[str, int, str]]:
    return [(span.column, span.index, request.text[span.begin:span.end])
            for request in requests for span in request.spans]


def test_small_values_share_one_request_joined_by_the_separator() -> None:
    sample = {"note": [f"Ada Lovelace {n}" for n in range(30)], "other": ["Grace Hopper"]}

    [request] = pack(sample)

    assert request.text == SEPARATOR.join([*sample["note"], *sample["other"]])
    assert len(request.text) >= MIN_REQUEST_CHARS
    assert values_of([request]) == [*(("note", n, f"Ada Lovelace {n}") for n in range(30)),
                                    ("other", 0, "Grace Hopper")]


def test_less_than_the_minimum_in_all_goes_in_one_request() -> None:
    [request] = pack({"note": NOTES})

    assert request.text == SEPARATOR.join(NOTES)


@pytest.mark.parametrize("count", range(1, 40))
def test_every_request_fits_the_limit_and_holds_the_minimum_when_there_is_that_much(count: int) -> None:
    sample = {"note": [f"{n:02d} " + "x" * 87 for n in range(count)]}
    total = sum(map(len, sample["note"])) + len(SEPARATOR) * (count - 1)

    requests = pack(sample, max_bytes=1_000)

    assert all(len(request.text.encode()) <= 1_000 for request in requests)
    if total >= MIN_REQUEST_CHARS:
        assert all(len(request.text) >= MIN_REQUEST_CHARS for request in requests)
    assert values_of(requests) == [("note", n, value) for n, value in enumerate(sample["note"])]


def test_the_separator_counts_toward_the_limit() -> None:
    assert [request.text for request in pack({"a": ["a" * 49, "b" * 49]}, max_bytes=100)] == [
        "a" * 49 + SEPARATOR + "b" * 49]
    assert [request.text for request in pack({"a": ["a" * 50, "b" * 49]}, max_bytes=100)] == ["a" * 50, "b" * 49]


def test_the_limit_is_counted_in_utf8_bytes_not_characters() -> None:
    sample = {"note": ["名前と住所 " * 20 for _ in range(10)]}  # 120 characters, 320 bytes each

    requests = pack(sample, max_bytes=1_000)

    assert all(len(request.text.encode()) <= 1_000 for request in requests)
    # Three values to a request; the one before the last cannot spare one and keep 300 characters.
    assert [len(request.text) for request in requests] == [364, 364, 364, 120]


def test_the_last_request_takes_no_value_that_would_pass_the_limit() -> None:
    sample = {"a": ["x" * 10] * 83, "b": ["😀" * 249]}  # 83 values fill 994 bytes; the emoji, 249 characters, 996

    requests = pack(sample, max_bytes=1_000)

    assert [len(request.text.encode()) for request in requests] == [994, 996]


def test_a_full_sample_fits_comprehends_limit_in_requests_of_at_least_the_minimum() -> None:
    sampler = FreeTextSampler()
    for n in range(VALUES_PER_COLUMN):
        sampler.add({f"column{c}": f"note {n} " + "é" * 2_000 for c in range(MAX_COLUMNS)})

    requests = pack(sampler.sample())

    assert len(requests) > 1
    assert all(len(request.text) >= MIN_REQUEST_CHARS for request in requests)
    assert all(len(request.text.encode()) <= MAX_REQUEST_BYTES for request in requests)


# -- offsets -------------------------------------------------------------------------------------------------------


def test_an_entity_is_mapped_to_the_value_it_lies_in_across_columns_and_multibyte_text() -> None:
    [request] = pack({"a": ["Zoë wrote: 名前 Ada Lovelace", "Bob"], "b": ["Ask Grace Hopper"]})

    ada = request.text.index("Ada Lovelace")
    bob = request.text.index("Bob")
    grace = request.text.index("Grace Hopper")
    assert request.span_of(ada, ada + 12) == Span("a", 0, 0, len("Zoë wrote: 名前 Ada Lovelace"))
    assert request.span_of(bob, bob + 3) == Span("a", 1, bob, bob + 3)
    assert request.span_of(grace, grace + 12) == Span("b", 0, grace - 4, grace + 12)


def test_an_entity_over_a_separator_or_outside_the_text_is_mapped_to_no_value() -> None:
    [request] = pack({"a": ["12 Main Street", "Springfield"]})
    end_of_first = len("12 Main Street")

    assert request.span_of(0, end_of_first + len(SEPARATOR) + 5) is None  # "12 Main Street\n\nSprin"
    assert request.span_of(end_of_first, end_of_first + len(SEPARATOR)) is None
    assert request.span_of(0, len(request.text) + 1) is None
    assert request.span_of(3, 3) is None


# -- the verdict ---------------------------------------------------------------------------------------------------


def found(*hits: tuple[int, str, float], column: str = "note") -> list[tuple[Span, Entity]]:
    return [(Span(column, index, 0, 1), Entity(kind, score, 0, 1)) for index, kind, score in hits]


def test_a_tenth_of_the_values_naming_someone_makes_the_column_personal_data() -> None:
    assert personal_columns({"note": ["n"] * 10}, found((3, "NAME", 0.99))) == {"note": "name"}
    assert personal_columns({"note": ["n"] * 11}, found((3, "NAME", 0.99))) == {}


def test_an_entity_below_the_score_or_of_a_type_left_to_the_patterns_does_not_count() -> None:
    sample = {"note": ["n"] * 2}

    assert personal_columns(sample, found((0, "NAME", 0.79))) == {}
    assert personal_columns(sample, found((0, "NAME", 0.8))) == {"note": "name"}
    assert personal_columns(sample, found((0, "EMAIL", 0.99), (1, "CREDIT_DEBIT_NUMBER", 0.99))) == {}


def test_the_class_is_the_one_most_values_hold_and_name_on_a_tie() -> None:
    sample = {"note": ["n"] * 5}
    addresses = found((0, "ADDRESS", 0.9), (1, "ADDRESS", 0.9), (2, "NAME", 0.9), (2, "NAME", 0.95))

    assert personal_columns(sample, addresses) == {"note": "address"}
    assert personal_columns(sample, found((0, "ADDRESS", 0.9), (1, "NAME", 0.9))) == {"note": "name"}


def test_detection_asks_once_per_request_and_judges_each_column() -> None:
    detector = FakeFreeTextDetector({"Ada Lovelace": ("NAME", 0.99), "Main Street": ("ADDRESS", 0.95)})
    sample = {"note": [*NOTES, "Ada Lovelace called"] * 3, "where": ["12 Main Street, Springfield"] * 4,
              "plain": NOTES * 4}

    assert detect_columns(sample, detector.detect) == {"note": "name", "where": "address"}
    assert detector.texts == [request.text for request in pack(sample)]


def test_once_comprehend_is_unavailable_it_is_not_asked_again_and_said_once() -> None:
    detector = FakeFreeTextDetector(unavailable="the endpoint does not offer Comprehend (400)")
    warnings: list[str] = []
    free_text = FreeTextPass(detector.detect, warnings.append)

    assert free_text.columns({"note": NOTES}) == {}
    assert free_text.columns({"note": NOTES}) == {}
    assert free_text.columns({}) == {}

    assert len(detector.texts) == 1
    assert warnings == ["the endpoint does not offer Comprehend (400)"]
    assert free_text.unavailable == warnings[0]


def test_an_empty_sample_asks_nothing() -> None:
    detector = FakeFreeTextDetector()

    assert FreeTextPass(detector.detect, pytest.fail).columns({}) == {}
    assert detector.texts == []


# -- validation ----------------------------------------------------------------------------------------------------


def contract(free_text: bool, **fields: Any) -> Any:
    return parse_contract({"dataset": "t", "version": "1", "fields": fields,
                           "policy": {"threshold": 0, "pii_free_text": free_text}})


def tickets(rows: int = 10) -> list[Any]:
    # A spaced IBAN reads as text (letters, spaces): the patterns find it first.
    return numbered(*({"id": n, "email": f"c{n}@example.com", "iban": "GB82 WEST 1234 5698 7654 32",
                       "author": "Ada Lovelace wrote this",
                       "note": "Grace Hopper phoned" if n % 5 == 0 else NOTES[n % 3]} for n in range(rows)))


class Asked:
    """Keeps each sample validation asks about, and answers from a fake Comprehend."""

    def __init__(self, detector: FakeFreeTextDetector) -> None:
        self.samples: list[dict[str, list[str]]] = []
        self.detector = detector

    def __call__(self, sample: dict[str, list[str]]) -> dict[str, str]:
        self.samples.append(sample)
        return detect_columns(sample, self.detector.detect)


def test_validation_asks_only_about_free_text_the_contract_and_the_patterns_leave() -> None:
    asked = Asked(FakeFreeTextDetector({"Grace Hopper": ("NAME", 0.99)}))

    outcome = validate_records(tickets(), contract(True, author={"pii": True}), JSON, free_text=asked)

    [sample] = asked.samples
    assert list(sample) == ["note"]  # email and iban are the patterns', author the contract's
    assert outcome.pii_columns == {"email": "email", "iban": "iban", "note": "name"}
    assert outcome.undeclared_pii == ["email", "iban", "note"]


def test_without_pii_free_text_validation_keeps_no_sample_and_asks_nothing() -> None:
    asked = Asked(FakeFreeTextDetector({"Grace Hopper": ("NAME", 0.99)}))

    outcome = validate_records(tickets(), contract(False), JSON, free_text=asked)

    assert asked.samples == []
    assert outcome.pii_columns == {"email": "email", "iban": "iban"}


def test_a_free_text_column_found_personal_has_its_values_masked_in_the_report() -> None:
    asked = Asked(FakeFreeTextDetector({"Grace Hopper": ("NAME", 0.99)}))

    outcome = validate_records(tickets(), contract(True, note={"enum": ["none"]}), JSON, free_text=asked)

    shown = [sample["value"] for samples in outcome.samples.values() for sample in samples
             if sample["field"] == "note"]
    assert shown and set(shown) == {MASK}


def test_unavailable_comprehend_leaves_validation_to_the_patterns() -> None:
    detector = FakeFreeTextDetector(unavailable="the endpoint does not offer Comprehend (400)")
    free_text = FreeTextPass(detector.detect, lambda reason: None)

    outcome = validate_records(tickets(), contract(True), JSON, free_text=free_text.columns)

    assert outcome.pii_columns == {"email": "email", "iban": "iban"}
    assert free_text.unavailable == "the endpoint does not offer Comprehend (400)"

