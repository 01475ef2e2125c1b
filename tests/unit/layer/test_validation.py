"""validate_records: per-record verdicts through a contract, rule counts, samples, the score and the decision."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest

from lakebox_layer.contracts import structural_contract
from lakebox_layer.parsing import RecordReader
from lakebox_layer.records import MAX_ERRORS_KEPT, FileFormat
from lakebox_layer.validation import validate_records
from tests.unit.layer.validation_support import CSV, DEFAULT, JSON, JSONL, contract, full_record, numbered

# -- the recipe's rules through the default contract --------------------------------------------------------------


def test_all_valid_full_records_score_100_and_pass() -> None:
    outcome = validate_records(numbered(*(full_record(n) for n in range(1, 5))), DEFAULT, JSON)
    assert outcome.passed
    assert outcome.quality_score == 100.0
    assert outcome.completeness == 100.0
    assert outcome.validity == 100.0
    assert (outcome.records_total, outcome.records_valid, outcome.records_invalid) == (4, 4, 0)
    assert outcome.errors == []
    assert outcome.error_count == 0
    assert outcome.rule_counts == {}
    assert outcome.samples == {}
    assert outcome.contract_version == DEFAULT.version
    assert outcome.mode == "file"


def test_one_invalid_email_in_four_scales_the_score_and_fails_the_file() -> None:
    records = [full_record(1), full_record(2, email="invalid-email"), full_record(3), full_record(4)]
    outcome = validate_records(numbered(*records), DEFAULT, JSON)
    # Every record is complete (100%), three of four are valid: 100 * 3/4, above the threshold of 70 but failing
    # in file mode, where every record must be valid.
    assert outcome.quality_score == pytest.approx(75.0)
    assert outcome.validity == pytest.approx(75.0)
    assert outcome.quality_score >= DEFAULT.threshold
    assert not outcome.passed
    assert (outcome.records_total, outcome.records_valid, outcome.records_invalid) == (4, 3, 1)
    assert outcome.errors == ["record 2: email: invalid email"]
    assert outcome.error_count == 1
    assert outcome.rule_counts == {"format": 1}
    assert outcome.samples == {
        "format": [{"record": 2, "field": "email", "message": "invalid email", "value": "invalid-email"}],
    }


def test_missing_required_fields_of_json_records_are_each_reported() -> None:
    outcome = validate_records(numbered({"id": 1, "email": "ann@example.com"}), DEFAULT, JSON)
    assert outcome.errors == [
        "record 1: timestamp: missing required field",
        "record 1: data: missing required field",
        "quality score 0.00 is below the threshold 70",
    ]
    assert outcome.rule_counts == {"schema:required": 2}
    assert [s["field"] for s in outcome.samples["schema:required"]] == ["timestamp", "data"]


def test_csv_records_are_not_held_to_the_json_schema() -> None:
    rows = [{"name": "Ann", "email": "ann@example.com"}, {"name": "Bob", "email": "bob@example.com"}]
    assert validate_records(numbered(*rows), DEFAULT, CSV).passed
    assert not validate_records(numbered(*rows), DEFAULT, JSON).passed
    # The field rules still apply to CSV.
    bad = validate_records(numbered(*rows, {"name": "Cy", "email": "nope"}), DEFAULT, CSV)
    assert bad.errors == ["record 3: email: invalid email", "quality score 66.67 is below the threshold 70"]


def test_score_is_mean_completeness_scaled_by_validity() -> None:
    # Completeness 100, 80 (one of five blank) and 60 (two of five blank), all valid: mean 80.
    records = [full_record(1), full_record(2, phone=""), full_record(3, phone="", email=None)]
    outcome = validate_records(numbered(*records), DEFAULT, JSON)
    assert outcome.completeness == pytest.approx(80.0)
    assert outcome.validity == 100.0
    assert outcome.quality_score == pytest.approx(80.0)
    assert outcome.passed


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"a": 1, "b": "x"}, 100.0),
        ({"a": 1, "b": None}, 50.0),
        ({"a": "  ", "b": "", "c": None, "d": "x"}, 25.0),
        # Zero, False and empty containers are values, not blanks.
        ({"a": 0, "b": False, "c": [], "d": {}}, 100.0),
        ({}, 0.0),
    ],
)
def test_completeness_of_one_record(fields: dict[str, Any], expected: float) -> None:
    outcome = validate_records(numbered(fields), structural_contract("t"), JSON)
    assert outcome.completeness == pytest.approx(expected)
    assert outcome.quality_score == pytest.approx(expected)  # valid, so the score is the completeness


def test_unreadable_records_are_invalid_and_left_out_of_completeness() -> None:
    outcome = validate_records(numbered(full_record(1), None), DEFAULT, JSON)
    assert (outcome.records_total, outcome.records_valid, outcome.records_invalid) == (2, 1, 1)
    assert outcome.errors == ["record 2: unreadable line", "quality score 50.00 is below the threshold 70"]
    assert outcome.rule_counts == {"parse": 1}
    assert outcome.samples["parse"] == [{"record": 2, "field": "$", "message": "unreadable line", "value": None}]
    # Completeness is the mean over readable records: 100; validity 1 of 2.
    assert outcome.completeness == pytest.approx(100.0)
    assert outcome.validity == pytest.approx(50.0)
    assert outcome.quality_score == pytest.approx(50.0)
    assert not outcome.passed


@pytest.mark.parametrize(
    ("data", "file_format"),
    [
        (b"id,name\n1\n2,Bob\n", CSV),
        (b'{"id": 1}\nnot json\n', JSONL),
        (b'{"id": 1}\n[1]\n', JSONL),
        (b'[{"id": 1}, "oops"]', JSON),
    ],
    ids=["csv-ragged", "jsonl-invalid", "jsonl-not-object", "json-array-not-object"],
)
def test_an_unreadable_record_is_named_once_in_the_errors(data: bytes, file_format: FileFormat) -> None:
    # Errors read "record N: ...": the parser's own reason must not be prefixed a second time.
    outcome = validate_records(RecordReader(io.BytesIO(data), file_format), structural_contract("t"), file_format)
    [error] = outcome.errors
    number = 1 if file_format is CSV else 2
    assert error.startswith(f"record {number}: ")
    assert error.count(f"record {number}") == 1, error


def test_errors_beyond_the_cap_are_summarised_and_counted_exactly() -> None:
    lenient = contract(email={"format": "email"})
    bad = MAX_ERRORS_KEPT + 7
    records = [{"email": f"bad{n}"} for n in range(1, bad + 1)] + [{"email": "ok@example.com"}]
    outcome = validate_records(numbered(*records), lenient, JSON)
    assert outcome.error_count == bad
    assert len(outcome.errors) == MAX_ERRORS_KEPT + 1
    assert outcome.errors[0] == "record 1: email: invalid email"
    assert outcome.errors[MAX_ERRORS_KEPT - 1] == f"record {MAX_ERRORS_KEPT}: email: invalid email"
    assert outcome.errors[-1] == "... and 7 more errors"
    assert outcome.records_valid == 1
    assert outcome.rule_counts == {"format": bad}  # counted exactly, beyond the kept errors


def test_exactly_the_cap_has_no_summary_line() -> None:
    records = [{"phone": "x"} for _ in range(MAX_ERRORS_KEPT)]
    outcome = validate_records(numbered(*records), contract(phone={"format": "phone"}), JSON)
    assert outcome.error_count == MAX_ERRORS_KEPT
    assert len(outcome.errors) == MAX_ERRORS_KEPT
    assert not any(error.startswith("...") for error in outcome.errors)


def test_the_threshold_line_follows_the_record_errors_and_counts_as_an_error() -> None:
    records = [{"email": f"bad{n}"} for n in range(MAX_ERRORS_KEPT + 2)]
    outcome = validate_records(numbered(*records), contract(threshold=50, email={"format": "email"}), JSON)
    # The first reason names a record; the threshold line comes after the kept record errors.
    assert outcome.errors[0] == "record 1: email: invalid email"
    assert outcome.errors[MAX_ERRORS_KEPT] == "quality score 0.00 is below the threshold 50"
    assert outcome.error_count == MAX_ERRORS_KEPT + 3
    # The other 2 record errors are summarised.
    assert len(outcome.errors) == MAX_ERRORS_KEPT + 2
    assert outcome.errors[-1] == "... and 2 more errors"


def test_below_threshold_without_record_errors_fails_and_names_the_threshold() -> None:
    # Valid records that are mostly empty: 3 of 8 fields filled, 37.5% < 70.
    sparse = {"id": 1, "timestamp": "t", "data": "x", "a": "", "b": "", "c": None, "d": " ", "e": ""}
    outcome = validate_records(numbered(sparse, dict(sparse, id=2)), DEFAULT, JSON)
    assert outcome.records_valid == 2
    assert outcome.quality_score == pytest.approx(37.5)
    assert not outcome.passed
    assert outcome.errors == ["quality score 37.50 is below the threshold 70"]
    assert outcome.error_count == 1


def test_threshold_comes_from_the_contract() -> None:
    records = numbered(full_record(1), full_record(2, phone=""))  # completeness 100 and 80: score 90
    failed = validate_records(records, replace(DEFAULT, threshold=95.0), JSON)
    assert not failed.passed
    assert "threshold 95" in failed.errors[0]
    assert validate_records(records, replace(DEFAULT, threshold=90.0), JSON).passed  # the threshold is reachable


def test_no_records_do_not_pass() -> None:
    outcome = validate_records([], DEFAULT, JSON)
    assert not outcome.passed
    assert outcome.records_total == 0
    assert outcome.quality_score == 0.0
    assert outcome.errors == []
