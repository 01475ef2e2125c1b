"""Validation finds personal data in a file's columns: the classes are in the validation record, "Data Validated"
and the validated copy's tags (names and classes, never values); a column the contract does not mark follows its
`policy.undeclared_pii` (protect, quarantine, allow) and a steward hears of it with "Sensitive Data Detected"; the
error report masks what was found like a marked field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakebox_layer.contracts import parse_contract
from lakebox_layer.records import FileStatus
from tests.fakes.stages import PROCESSED, QUARANTINE, Harness, jsonl

EMAILS = [f"customer{n}@example.com" for n in range(8)]
PHONES = [f"+44 20 7946 0{n:03d}" for n in range(8)]
IBANS = ["GB82WEST12345698765432", "DE89370400440532013000", "FR1420041010050500013M02606",
         "NL91ABNA0417164300", "GB33BUKB20201555555555", "DE75512108001245126199", "ES9121000418450200051332",
         "IT60X0542811101000000123456"]
CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "4012888888881881", "5105105105105100",
         "371449635398431", "6011111111111117", "4242424242424242"]


def customers(rows: int = 8, **changes: Any) -> bytes:
    """Records with a declared email, an undeclared phone, IBAN and card, and columns that are not personal data."""
    return jsonl(*({"order_id": 1000 + n, "email": EMAILS[n], "phone": PHONES[n], "iban": IBANS[n],
                    "card": CARDS[n], "sku": f"AB-{n:04d}", "amount": f"{n * 3.5:.2f}",
                    "ordered_at": f"2026-01-{n + 1:02d}", **changes} for n in range(rows)))


def contract(undeclared: str = "protect", **fields: Any) -> Any:
    return parse_contract({"dataset": "customers", "version": "1",
                           "fields": {"order_id": {"type": "integer"}, "email": {"pii": True}, **fields},
                           "policy": {"undeclared_pii": undeclared}})


@pytest.fixture
def harness() -> Harness:
    made = Harness()
    made.contracts.published["customers"] = contract()
    return made


def record_of(harness: Harness, process_id: str) -> dict[str, Any]:
    [record] = [r for r in harness.metadata.stage("validation") if r["ProcessId"] == process_id]
    return record


def test_each_column_of_personal_data_is_named_with_its_class_and_never_its_values(harness: Harness) -> None:
    validated = harness.validate("input/customers/a.jsonl", customers())

    assert validated.status is FileStatus.PROCESSED
    assert validated.pii == {"email": "email", "phone": "phone", "iban": "iban", "card": "payment_card"}
    assert validated.undeclared_pii == ["phone", "iban", "card"]
    record = record_of(harness, validated.process_id)
    assert (record["PiiColumns"], record["UndeclaredPii"]) == (validated.pii, validated.undeclared_pii)
    copy = validated.destination.split("/", 3)[3] if validated.destination else ""
    assert harness.objects.tags[(PROCESSED, copy)] == {
        "lakebox-pii": "email:email phone:phone iban:iban card:payment_card"}
    published = json.dumps(harness.events.published)
    assert not [value for value in [*EMAILS, *PHONES, *IBANS, *CARDS] if value in published]


def test_undeclared_personal_data_is_announced_to_a_steward_with_what_the_policy_did(harness: Harness) -> None:
    validated = harness.validate("input/customers/a.jsonl", customers())

    [notice] = harness.events.of_type("Sensitive Data Detected")
    assert notice == {"process_id": validated.process_id, "dataset": "customers", "key": "input/customers/a.jsonl",
                      "columns": {"phone": "phone", "iban": "iban", "card": "payment_card"},
                      "classes": ["iban", "payment_card", "phone"], "policy": "protect",
                      "action": "protected in the curated zone", "status": "processed"}
    [source] = {source for source, kind, _ in harness.events.published if kind == "Sensitive Data Detected"}
    assert source == "datalake.validation"


def test_a_quarantine_policy_quarantines_the_file_naming_each_column_and_its_class(harness: Harness) -> None:
    harness.contracts.published["customers"] = contract("quarantine")

    validated = harness.validate("input/customers/a.jsonl", customers())

    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors[:3] == [
        f"column {column!r} holds personal data ({kind}) the contract does not declare: quarantined by "
        "policy.undeclared_pii" for column, kind in (("phone", "phone"), ("iban", "iban"), ("card", "payment_card"))]
    [notice] = harness.events.of_type("Sensitive Data Detected")
    assert (notice["action"], notice["status"]) == ("file quarantined", "quarantined")
    report = harness.objects.json(QUARANTINE, "quarantine/customers/a.jsonl.error.json")
    assert report["rules"]["undeclared_pii"]["count"] == 3


def test_an_allow_policy_lets_the_file_through_and_still_tells_the_steward(harness: Harness) -> None:
    harness.contracts.published["customers"] = contract("allow")

    validated = harness.validate("input/customers/a.jsonl", customers())

    assert validated.status is FileStatus.PROCESSED
    [notice] = harness.events.of_type("Sensitive Data Detected")
    assert notice["action"] == "allowed in the clear"


def test_a_file_without_personal_data_is_tagged_none_and_announces_nothing(harness: Harness) -> None:
    body = jsonl(*({"order_id": n, "sku": f"AB-{n:04d}", "amount": "12.50"} for n in range(5)))

    validated = harness.validate("input/customers/b.jsonl", body)

    assert (validated.pii, validated.undeclared_pii) == ({}, [])
    assert harness.events.of_type("Sensitive Data Detected") == []
    copy = validated.destination.split("/", 3)[3] if validated.destination else ""
    assert harness.objects.tags[(PROCESSED, copy)] == {"lakebox-pii": "none"}


def test_a_detected_columns_values_are_masked_in_the_error_report_like_a_marked_fields(harness: Harness) -> None:
    """An IBAN column the contract types as an integer: every value breaks the rule, and the report masks them."""
    harness.contracts.published["customers"] = contract("protect", iban={"type": "integer"})

    validated = harness.validate("input/customers/a.jsonl", customers())

    assert validated.status is FileStatus.QUARANTINED
    report = harness.objects.json(QUARANTINE, "quarantine/customers/a.jsonl.error.json")
    shown = [sample for rule in report["rules"].values() for sample in rule["first"] if sample["field"] == "iban"]
    assert shown and {sample["value"] for sample in shown} == {"***"}
    assert not [iban for iban in IBANS if iban in json.dumps(report)]
