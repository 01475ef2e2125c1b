"""The recipe's rules: email and phone checks, completeness, per-record errors and the file verdict."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from lakebox_layer.contracts import RECIPE_CONTRACT, Contract
from lakebox_layer.parsing import ParsedRecord
from lakebox_layer.records import MAX_ERRORS_KEPT
from lakebox_layer.validation import (
    completeness,
    is_valid_email,
    is_valid_phone,
    record_errors,
    rejected,
    validate_records,
)


def full_record(n: int, **changes: Any) -> dict[str, Any]:
    record = {
        "id": n,
        "timestamp": "2026-01-15T10:30:00Z",
        "data": {"amount": n},
        "email": f"user{n}@example.com",
        "phone": "+1-555-123-4567",
    }
    record.update(changes)
    return record


def numbered(*records: dict[str, Any] | None) -> list[ParsedRecord]:
    return [
        ParsedRecord(n, fields, None if fields is not None else f"record {n}: unreadable line")
        for n, fields in enumerate(records, start=1)
    ]


# -- field checks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["ann@example.com", "first.last+tag@sub.example.co.uk", "A_B%c-d@x-y.io", "  ann@example.com  "],
)
def test_valid_emails(value: str) -> None:
    assert is_valid_email(value)


@pytest.mark.parametrize(
    "value",
    ["invalid-email", "ann@", "@example.com", "ann@example", "ann@example.c", "ann smith@example.com",
     "ann@@example.com", "", None, 42, ["ann@example.com"]],
)
def test_invalid_emails(value: Any) -> None:
    assert not is_valid_email(value)


@pytest.mark.parametrize(
    "value",
    ["+1-555-123-4567", "+15551234567", "(555) 123-4567", "555.123.4567", "+44 20 7946 0958", "1234567"],
)
def test_valid_phones(value: str) -> None:
    assert is_valid_phone(value)


@pytest.mark.parametrize(
    "value",
    ["invalid-phone", "123", "+0-555-123-4567", "555-CALL-NOW", "+1 555 123 4567 8901 2", "", None,
     15551234567, 5.5],
)
def test_invalid_phones(value: Any) -> None:
    assert not is_valid_phone(value)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, 0.0),
        ({"a": 1, "b": "x"}, 100.0),
        ({"a": 1, "b": None}, 50.0),
        ({"a": "  ", "b": "", "c": None, "d": "x"}, 25.0),
        # Zero, False and empty containers are values, not blanks.
        ({"a": 0, "b": False, "c": [], "d": {}}, 100.0),
    ],
)
def test_completeness(fields: dict[str, Any], expected: float) -> None:
    assert completeness(fields) == pytest.approx(expected)


# -- record errors ------------------------------------------------------------------------------------------------


def test_full_record_has_no_errors() -> None:
    assert record_errors(full_record(1), RECIPE_CONTRACT, check_required=True) == []


def test_missing_required_fields_are_each_reported() -> None:
    fields = {"id": 1, "email": "ann@example.com"}
    errors = record_errors(fields, RECIPE_CONTRACT, check_required=True)
    assert errors == ["missing required field 'timestamp'", "missing required field 'data'"]


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_required_field_counts_as_missing(blank: Any) -> None:
    errors = record_errors(full_record(1, timestamp=blank), RECIPE_CONTRACT, check_required=True)
    assert errors == ["missing required field 'timestamp'"]


def test_invalid_email_and_phone_are_reported() -> None:
    errors = record_errors(full_record(1, email="invalid-email", phone="invalid-phone"), RECIPE_CONTRACT,
                           check_required=True)
    assert errors == ["invalid email in 'email'", "invalid phone in 'phone'"]


def test_blank_optional_email_and_phone_are_not_errors() -> None:
    assert record_errors(full_record(1, email="", phone=None), RECIPE_CONTRACT, check_required=True) == []


def test_check_required_false_skips_required_fields_but_not_formats() -> None:
    fields = {"name": "Ann", "email": "nope"}
    assert record_errors(fields, RECIPE_CONTRACT, check_required=False) == ["invalid email in 'email'"]
    assert record_errors({"name": "Ann"}, RECIPE_CONTRACT, check_required=False) == []


def test_contract_decides_which_fields_are_checked() -> None:
    contract = Contract(name="crm", version="1", required_fields=("customer",), email_fields=("contact",),
                        phone_fields=())
    errors = record_errors({"contact": "x", "email": "also-bad", "phone": "bad"}, contract, check_required=True)
    assert errors == ["missing required field 'customer'", "invalid email in 'contact'"]


# -- file verdict -------------------------------------------------------------------------------------------------


def test_all_valid_full_records_score_100_and_pass() -> None:
    outcome = validate_records(numbered(*(full_record(n) for n in range(1, 5))), RECIPE_CONTRACT,
                               check_required=True)
    assert outcome.passed
    assert outcome.quality_score == 100.0
    assert outcome.completeness == 100.0
    assert (outcome.records_total, outcome.records_valid, outcome.records_invalid) == (4, 4, 0)
    assert outcome.errors == []
    assert outcome.error_count == 0


def test_one_invalid_email_in_four_scales_the_score_and_fails_the_file() -> None:
    records = [full_record(1), full_record(2, email="invalid-email"), full_record(3), full_record(4)]
    outcome = validate_records(numbered(*records), RECIPE_CONTRACT, check_required=True)
    # Every record is complete (100%), three of four are valid: 100 * 3/4, above the threshold of 70 but failing.
    assert outcome.quality_score == pytest.approx(75.0)
    assert outcome.quality_score >= RECIPE_CONTRACT.quality_threshold
    assert not outcome.passed
    assert (outcome.records_total, outcome.records_valid) == (4, 3)
    assert outcome.errors == ["record 2: invalid email in 'email'"]
    assert outcome.error_count == 1


def test_score_is_mean_completeness_scaled_by_valid_share() -> None:
    # Completeness 100, 80 (one of five blank) and 60 (two of five blank), all valid: mean 80.
    records = [full_record(1), full_record(2, phone=""), full_record(3, phone="", email=None)]
    outcome = validate_records(numbered(*records), RECIPE_CONTRACT, check_required=True)
    assert outcome.completeness == pytest.approx(80.0)
    assert outcome.quality_score == pytest.approx(80.0)
    assert outcome.passed


def test_unreadable_records_count_as_invalid_with_their_own_error() -> None:
    outcome = validate_records(numbered(full_record(1), None), RECIPE_CONTRACT, check_required=True)
    assert (outcome.records_total, outcome.records_valid) == (2, 1)
    assert outcome.errors == ["record 2: unreadable line"]
    # An unreadable record has no fields (completeness 0) and is invalid: mean 50, scaled by 1/2.
    assert outcome.completeness == pytest.approx(50.0)
    assert outcome.quality_score == pytest.approx(25.0)
    assert not outcome.passed


def test_errors_beyond_the_cap_are_summarised_and_counted_exactly() -> None:
    bad = MAX_ERRORS_KEPT + 7
    records = [full_record(n, email=f"bad{n}") for n in range(1, bad + 1)] + [full_record(bad + 1)]
    outcome = validate_records(numbered(*records), RECIPE_CONTRACT, check_required=True)
    assert outcome.error_count == bad
    assert len(outcome.errors) == MAX_ERRORS_KEPT + 1
    assert outcome.errors[0] == "record 1: invalid email in 'email'"
    assert outcome.errors[MAX_ERRORS_KEPT - 1] == f"record {MAX_ERRORS_KEPT}: invalid email in 'email'"
    assert outcome.errors[-1] == "... and 7 more errors"
    assert outcome.records_valid == 1


def test_exactly_the_cap_has_no_summary_line() -> None:
    records = [full_record(n, phone="x") for n in range(1, MAX_ERRORS_KEPT + 1)]
    outcome = validate_records(numbered(*records), RECIPE_CONTRACT, check_required=True)
    assert outcome.error_count == MAX_ERRORS_KEPT
    assert len(outcome.errors) == MAX_ERRORS_KEPT
    assert not any(error.startswith("...") for error in outcome.errors)


def test_below_threshold_without_record_errors_fails_and_names_the_threshold() -> None:
    # Valid records that are mostly empty: 3 of 8 fields filled, 37.5% < 70.
    sparse = {"id": 1, "timestamp": "t", "data": "x", "a": "", "b": "", "c": None, "d": " ", "e": ""}
    outcome = validate_records(numbered(sparse, dict(sparse, id=2)), RECIPE_CONTRACT, check_required=True)
    assert outcome.records_valid == 2
    assert outcome.quality_score == pytest.approx(37.5)
    assert not outcome.passed
    assert len(outcome.errors) == 1
    assert "threshold" in outcome.errors[0]
    assert "70" in outcome.errors[0]
    assert "37.50" in outcome.errors[0]


def test_threshold_comes_from_the_contract() -> None:
    records = numbered(full_record(1), full_record(2, phone=""))  # completeness 100 and 80: score 90
    strict = replace(RECIPE_CONTRACT, quality_threshold=95.0)
    lenient = replace(RECIPE_CONTRACT, quality_threshold=90.0)
    failed = validate_records(records, strict, check_required=True)
    assert not failed.passed
    assert "95" in failed.errors[0]
    assert validate_records(records, lenient, check_required=True).passed


def test_no_records_do_not_pass() -> None:
    outcome = validate_records([], RECIPE_CONTRACT, check_required=True)
    assert not outcome.passed
    assert outcome.records_total == 0
    assert outcome.quality_score == 0.0


def test_csv_style_validation_ignores_required_fields() -> None:
    rows = [{"name": "Ann", "email": "ann@example.com"}, {"name": "Bob", "email": "bob@example.com"}]
    assert validate_records(numbered(*rows), RECIPE_CONTRACT, check_required=False).passed
    assert not validate_records(numbered(*rows), RECIPE_CONTRACT, check_required=True).passed


def test_rejected_outcome() -> None:
    outcome = rejected("cannot decode: invalid UTF-8 near byte 12")
    assert not outcome.passed
    assert outcome.quality_score == 0.0
    assert (outcome.records_total, outcome.records_valid) == (0, 0)
    assert outcome.errors == ["cannot decode: invalid UTF-8 near byte 12"]
    assert outcome.error_count == 1
