"""Validation asks Comprehend about free text where the contract wants it (`policy.pii_free_text`): a column whose
notes name people is personal data like any other (record, event, tags, notice, policy), and its values appear
nowhere; where Comprehend cannot be asked the file goes on with patterns only, the record says so, and the function
says it once."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from lakebox_layer.contracts import parse_contract
from lakebox_layer.exceptions import FreeTextError
from lakebox_layer.records import FileStatus
from tests.fakes.stages import PROCESSED, Harness, jsonl

NAMES = ["Ada Lovelace", "Grace Hopper"]
NOTES = ["Customer called about a late parcel", "Asked for an invoice copy by post", "Left at the front door"]
UNAVAILABLE = "the endpoint does not offer Comprehend (400)"
BY_PATTERNS = {"email": "email", "refund_to": "iban"}


def tickets(rows: int = 10) -> bytes:
    """Support tickets: a declared email and author, an IBAN written in groups (text, to look at it, that the
    patterns classify) and a note that names a customer in one ticket in five."""
    return jsonl(*({"ticket_id": n, "email": f"c{n}@example.com", "author": "Written by Alan Turing",
                    "refund_to": "GB82 WEST 1234 5698 7654 32",
                    "note": f"{NAMES[n % 2]} phoned about the parcel" if n % 5 == 0 else NOTES[n % 3],
                    "status": "open"} for n in range(rows)))


def contract(free_text: bool = True, undeclared: str = "protect") -> Any:
    return parse_contract({"dataset": "tickets", "version": "1",
                           "fields": {"email": {"pii": True}, "author": {"pii": True}},
                           "policy": {"undeclared_pii": undeclared, "pii_free_text": free_text}})


@pytest.fixture
def harness() -> Harness:
    made = Harness()
    made.contracts.published["tickets"] = contract()
    made.free_text.entities = {name: ("NAME", 0.99) for name in NAMES}
    return made


def record_of(harness: Harness, process_id: str) -> dict[str, Any]:
    [record] = [r for r in harness.metadata.stage("validation") if r["ProcessId"] == process_id]
    return record


def written(harness: Harness, caplog: pytest.LogCaptureFixture) -> str:
    """Everything the stage wrote where people look: events, records and logs (with their extra keys)."""
    logs = [vars(record) for record in caplog.records]
    return json.dumps([harness.events.published, list(harness.metadata.items.values()), logs], default=str)


def test_a_note_that_names_customers_is_personal_data_and_its_values_appear_nowhere(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    validated = harness.validate("input/tickets/a.jsonl", tickets())

    assert validated.status is FileStatus.PROCESSED
    assert (validated.pii, validated.undeclared_pii) == ({**BY_PATTERNS, "note": "name"}, ["refund_to", "note"])
    record = record_of(harness, validated.process_id)
    assert (record["PiiColumns"], record["UndeclaredPii"]) == (validated.pii, validated.undeclared_pii)
    assert record["FreeTextSkipped"] is None
    [notice] = harness.events.of_type("Sensitive Data Detected")
    assert notice["columns"] == {"refund_to": "iban", "note": "name"}
    assert notice["action"] == "protected in the curated zone"
    copy = validated.destination.split("/", 3)[3] if validated.destination else ""
    assert harness.objects.tags[(PROCESSED, copy)] == {"lakebox-pii": "email:email refund_to:iban note:name"}
    assert not [value for value in [*NAMES, "phoned about the parcel", "Alan Turing"]
                if value in written(harness, caplog)]


def test_only_the_free_text_the_contract_and_the_patterns_leave_is_sent(harness: Harness) -> None:
    harness.validate("input/tickets/a.jsonl", tickets())

    [text] = harness.free_text.texts
    assert "Ada Lovelace phoned about the parcel" in text
    assert "GB82" not in text  # found by the patterns
    assert "Alan Turing" not in text  # declared `pii`: protected whatever Comprehend says
    assert "open" not in text  # one word: not free text


def test_a_quarantine_policy_quarantines_the_file_for_its_free_text(harness: Harness) -> None:
    harness.contracts.published["tickets"] = contract(undeclared="quarantine")

    validated = harness.validate("input/tickets/a.jsonl", tickets())

    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors[1] == ("column 'note' holds personal data (name) the contract does not declare: "
                                   "quarantined by policy.undeclared_pii")


def test_a_contract_without_pii_free_text_asks_comprehend_nothing(harness: Harness) -> None:
    harness.contracts.published["tickets"] = contract(free_text=False)

    validated = harness.validate("input/tickets/a.jsonl", tickets())

    assert harness.free_text.texts == []
    assert validated.pii == BY_PATTERNS
    assert "FreeTextSkipped" not in {key for key, value in record_of(harness, validated.process_id).items()
                                     if value is not None}


def test_without_comprehend_files_go_on_with_patterns_the_records_say_so_and_the_function_says_it_once(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    harness.free_text.unavailable = UNAVAILABLE

    first = harness.validate("input/tickets/a.jsonl", tickets())
    second = harness.validate("input/tickets/b.jsonl", tickets())

    for validated in (first, second):
        assert (validated.status, validated.pii) == (FileStatus.PROCESSED, BY_PATTERNS)
        assert record_of(harness, validated.process_id)["FreeTextSkipped"] == UNAVAILABLE
    assert len(harness.free_text.texts) == 1  # not asked again for the second file
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in warnings] == [
        "free-text detection unavailable: until this instance ends, the files of contracts with "
        "policy.pii_free_text are judged by patterns only"]
    assert vars(warnings[0])["reason"] == UNAVAILABLE
    assert not [name for name in NAMES if name in written(harness, caplog)]


def test_a_comprehend_failure_fails_the_file_for_a_retry_and_records_nothing(harness: Harness) -> None:
    harness.free_text.failing = "comprehend:DetectPiiEntities failed: InternalServerException"

    with pytest.raises(FreeTextError):
        harness.validate("input/tickets/a.jsonl", tickets())

    assert harness.metadata.stage("validation") == []
    assert harness.events.of_type("Data Validated") == []
