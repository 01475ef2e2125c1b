"""validate_records: file and record mode, samples and PII masking, routing and accounting, unreadable files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakebox_layer.contracts import Mode, structural_contract
from lakebox_layer.parsing import ParsedRecord
from lakebox_layer.rules import Violation
from lakebox_layer.validation import MASK, SAMPLES_PER_RULE, rejected, shown_value, validate_records
from tests.unit.layer.validation_support import CSV, JSON, JSONL, ORDERS, contract, numbered, order

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
