"""validate_records: per-record verdicts through a contract, rule counts, samples, the score and the decision."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.contracts import Contract, Mode, parse_contract, structural_contract
from lakebox_layer.parsing import ParsedRecord, RecordReader
from lakebox_layer.records import MAX_ERRORS_KEPT, FileFormat
from lakebox_layer.rules import Violation
from lakebox_layer.validation import MASK, SAMPLES_PER_RULE, rejected, shown_value, validate_records

CSV = FileFormat.CSV
JSON = FileFormat.JSON
JSONL = FileFormat.JSON_LINES

# The recipe's rules, as the shipped contract of the `default` dataset: JSON records need id, timestamp and data;
# email and phone, where present, must be well formed; threshold 70, file mode.
DEFAULT = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "default.json").read_text()))
ORDERS = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "orders.json").read_text()))


def contract(threshold: float = 0, mode: str = "file", **fields: dict[str, Any]) -> Contract:
    return parse_contract({"dataset": "t", "version": "1", "fields": fields,
                           "policy": {"threshold": threshold, "mode": mode}})


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
        ParsedRecord(n, fields, None if fields is not None else "unreadable line")
        for n, fields in enumerate(records, start=1)
    ]


def order(n: float, **changes: Any) -> dict[str, Any]:
    record = {"order_id": n, "customer_email": f"c{n}@example.com", "phone": "+1-555-123-4567", "amount": 10.5,
              "currency": "EUR", "ordered_at": "2026-01-15T10:30:00", "sku": "AB-123"}
    record.update(changes)
    return record


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


# -- file and record mode -----------------------------------------------------------------------------------------


def valid_and_invalid(valid: int, invalid: int) -> list[ParsedRecord]:
    return numbered(*([{"n": "1"}] * valid + [{"n": "x"}] * invalid))


@pytest.mark.parametrize(
    ("mode", "threshold", "valid", "invalid", "passed"),
    [
        ("file", 0, 3, 0, True),
        ("file", 0, 3, 1, False),   # file mode: every record must be valid
        ("file", 100, 3, 0, True),  # the score may equal the threshold
        ("file", 0, 0, 2, False),
        ("record", 0, 3, 1, True),  # record mode: the bad record goes to quarantine beside the file
        ("record", 75, 3, 1, True),  # score 75 reaches 75
        ("record", 76, 3, 1, False),  # below the threshold, the whole file is quarantined
        ("record", 0, 1, 9, True),
        ("record", 0, 0, 3, False),  # not one valid record
        ("record", 0, 0, 0, False),
    ],
)
def test_pass_or_fail_by_mode(mode: str, threshold: float, valid: int, invalid: int, passed: bool) -> None:
    rules = contract(threshold=threshold, mode=mode, n={"type": "integer"})
    outcome = validate_records(valid_and_invalid(valid, invalid), rules, CSV)
    assert outcome.passed is passed
    assert outcome.mode == mode
    total = valid + invalid
    assert outcome.validity == pytest.approx(100.0 * valid / total if total else 0.0)
    assert outcome.quality_score == pytest.approx(outcome.completeness * outcome.validity / 100, abs=0.01)


def test_a_structural_contract_passes_any_readable_file() -> None:
    outcome = validate_records(numbered({"anything": ""}, {"x": 1}), structural_contract("sales"), JSON)
    assert outcome.passed
    assert outcome.contract_version == "structural"
    assert outcome.mode == "file"


def test_orders_in_record_mode_count_each_rule() -> None:
    records = [
        order(1),
        order(2, customer_email="not-an-email", amount=-5),
        order(1, currency="JPY"),                         # order_id 1 again
        order(4, ordered_at="yesterday", sku="bad sku"),
        order(5.5),                                       # not an integer: the field rule and the schema say so
        order(6), order(7), order(8),
    ]
    outcome = validate_records(numbered(*records), ORDERS, JSONL)
    assert outcome.rule_counts == {"format": 1, "range": 1, "unique": 1, "enum": 1, "type": 2, "pattern": 1,
                                   "schema:type": 1}
    assert outcome.error_count == sum(outcome.rule_counts.values())
    assert (outcome.records_valid, outcome.records_invalid) == (4, 4)
    # Complete records, half of them valid: 50, which reaches the orders threshold of 50 in record mode.
    assert outcome.quality_score == pytest.approx(50.0)
    assert outcome.mode == "record"
    assert outcome.passed


# -- samples and PII ----------------------------------------------------------------------------------------------


def test_samples_keep_the_first_records_per_rule() -> None:
    records = [{"n": f"x{i}", "m": "y"} for i in range(1, SAMPLES_PER_RULE + 6)]
    outcome = validate_records(numbered(*records), contract(n={"type": "integer"}, m={"enum": ["z"]}), CSV)
    assert outcome.rule_counts == {"type": SAMPLES_PER_RULE + 5, "enum": SAMPLES_PER_RULE + 5}
    assert [s["record"] for s in outcome.samples["type"]] == list(range(1, SAMPLES_PER_RULE + 1))
    assert [s["value"] for s in outcome.samples["type"]][:2] == ["x1", "x2"]
    assert len(outcome.samples["enum"]) == SAMPLES_PER_RULE


def test_pii_values_are_masked_in_samples_and_never_in_errors() -> None:
    rules = contract(email={"format": "email", "pii": True, "unique": True}, code={"pattern": "^A"})
    records = [{"email": "secret-address", "code": "B1"}, {"email": "dup@example.com", "code": "A1"},
               {"email": "dup@example.com", "code": "A2"}]
    outcome = validate_records(numbered(*records), rules, JSONL)
    assert outcome.samples["format"] == [{"record": 1, "field": "email", "message": "invalid email", "value": MASK}]
    assert outcome.samples["unique"] == [
        {"record": 3, "field": "email", "message": "duplicate value within the file", "value": MASK},
    ]
    # A field that is not PII shows its value.
    assert outcome.samples["pattern"][0]["value"] == "B1"
    shown = json.dumps([outcome.errors, outcome.samples])
    assert "secret-address" not in shown
    assert "dup@example.com" not in shown


def test_shipped_orders_contract_masks_customer_email_and_phone() -> None:
    outcome = validate_records(numbered(order(1, customer_email="leak@", phone="12")), ORDERS, JSON)
    assert {s["field"]: s["value"] for s in outcome.samples["format"]} == {"customer_email": MASK, "phone": MASK}
    assert "leak@" not in json.dumps(outcome.samples)


@pytest.mark.parametrize(
    ("value", "pii", "shown"),
    [
        ("secret", True, MASK),
        (12345, True, MASK),
        (None, True, None),
        ("short", False, "short"),
        (42, False, "42"),
        ({"a": 1}, False, "{'a': 1}"),
        ("x" * 80, False, "x" * 80),
        ("x" * 81, False, "x" * 80 + "..."),
    ],
)
def test_shown_value(value: Any, pii: bool, shown: Any) -> None:
    assert shown_value(value, pii) == shown


# -- routing and accounting ---------------------------------------------------------------------------------------


def test_route_sees_every_record_once_with_its_violations_in_order() -> None:
    seen: list[tuple[int, list[str]]] = []
    records = numbered({"n": "1"}, {"n": "x"}, None, {"n": "2"})
    validate_records(records, contract(n={"type": "integer"}), CSV,
                     route=lambda record, found: seen.append((record.number, [v.rule for v in found])))
    assert seen == [(1, []), (2, ["type"]), (3, ["parse"]), (4, [])]


def test_records_are_consumed_once_from_an_iterator() -> None:
    consumed = []

    def stream() -> Any:
        for record in numbered({"n": "1"}, {"n": "2"}):
            consumed.append(record.number)
            yield record

    outcome = validate_records(stream(), contract(n={"type": "integer"}), CSV)
    assert consumed == [1, 2]
    assert outcome.records_total == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["1", "x", "", " 7 ", "2.5"])), max_size=30),
       st.sampled_from(["file", "record"]), st.integers(0, 100))
def test_valid_plus_invalid_is_total(cells: list[str | None], mode: str, threshold: int) -> None:
    records = numbered(*({"n": cell, "m": "v"} if cell is not None else None for cell in cells))
    outcome = validate_records(records, contract(threshold=threshold, mode=mode, n={"type": "integer"}), CSV)
    assert outcome.records_total == len(cells)
    assert outcome.records_valid + outcome.records_invalid == outcome.records_total
    assert outcome.records_valid == sum(1 for cell in cells if cell is not None and cell.strip() in ("", "1", "7"))
    threshold_line = outcome.records_total > 0 and outcome.quality_score < threshold
    assert sum(outcome.rule_counts.values()) + threshold_line == outcome.error_count
    assert 0.0 <= outcome.quality_score <= 100.0
    if outcome.passed:
        assert outcome.quality_score >= threshold
        assert outcome.records_valid > 0


# -- a file that cannot be read at all ----------------------------------------------------------------------------


def test_rejected_outcome() -> None:
    outcome = rejected("cannot decode: invalid UTF-8 near byte 12")
    assert not outcome.passed
    assert outcome.quality_score == 0.0
    assert (outcome.records_total, outcome.records_valid, outcome.records_invalid) == (0, 0, 0)
    assert outcome.errors == ["cannot decode: invalid UTF-8 near byte 12"]
    assert outcome.error_count == 1
    assert outcome.rule_counts == {"content": 1}
    assert outcome.samples["content"][0]["message"] == "cannot decode: invalid UTF-8 near byte 12"
    assert outcome.contract_version is None
    assert outcome.mode is None


def test_rejected_outcome_names_the_contract() -> None:
    outcome = rejected("empty file", ORDERS)
    assert outcome.contract_version == ORDERS.version
    assert outcome.mode == Mode.RECORD.value


def test_violation_values_are_kept_for_samples() -> None:
    assert Violation("type", "n", "not an integer", "x").value == "x"
