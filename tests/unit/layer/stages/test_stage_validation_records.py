"""The validation stage in record mode against in-memory adapters: good records on, bad ones to quarantine, and no
half-written output left behind."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import pytest

from lakebox_layer.records import FileFormat, FileStatus
from lakebox_layer.validation import MASK
from tests.fakes.stages import BAD_EMAIL_JSONL, ORDERS, PROCESSED, QUARANTINE, Harness, jsonl, order


@pytest.fixture
def harness() -> Harness:
    return Harness()


def writer_states(harness: Harness) -> dict[str, str]:
    return {writer.uri: writer.state for writer in harness.objects.writers}


def test_record_mode_sends_good_records_on_and_bad_ones_to_quarantine(harness: Harness) -> None:
    body = jsonl(order(1), order(2, customer_email="secret-but-invalid"), order(3), order(4))
    validated = harness.validate("input/orders/2026/day.jsonl", body)

    assert validated.status is FileStatus.PROCESSED
    assert (validated.records_total, validated.records_valid) == (4, 3)
    good, bad = "validated/orders/2026/day.jsonl", "quarantine/orders/2026/day.jsonl"
    assert validated.destination == f"s3://{PROCESSED}/{good}"
    assert harness.objects.keys(PROCESSED) == [good]
    assert harness.objects.lines(PROCESSED, good) == [order(1), order(3), order(4)]
    assert harness.objects.keys(QUARANTINE) == [bad, f"{bad}.error.json", f"{bad}.errors.jsonl"]
    assert harness.objects.lines(QUARANTINE, bad) == [order(2, customer_email="secret-but-invalid")]
    # Why each quarantined record was set aside, a line each, in the same order; the report names the object.
    assert harness.objects.lines(QUARANTINE, f"{bad}.errors.jsonl") == [
        {"record": 2, "errors": [{"field": "customer_email", "rule": "format", "message": "invalid email"}]}]
    assert harness.objects.content_types[(PROCESSED, good)] == "application/x-ndjson"
    report = harness.objects.json(QUARANTINE, f"{bad}.error.json")
    assert report["records"] == {"total": 4, "valid": 3, "invalid": 1}
    assert report["contract"] == {"dataset": "orders", "version": ORDERS.version, "mode": "record", "threshold": 50}
    assert report["quality"]["passed"] is True
    assert report["rules"]["format"] == {"count": 1, "first": [
        {"record": 2, "field": "customer_email", "message": "invalid email", "value": MASK},
    ]}
    # PII never reaches the report, the event or the metadata.
    assert report["record_errors"] == f"s3://{QUARANTINE}/{bad}.errors.jsonl"
    assert "secret-but-invalid" not in json.dumps(report)
    assert "secret-but-invalid" not in json.dumps(harness.objects.lines(QUARANTINE, f"{bad}.errors.jsonl"))
    assert "secret-but-invalid" not in json.dumps(harness.events.published)
    [record] = harness.metadata.stage("validation")
    assert "secret-but-invalid" not in json.dumps(record, default=str)
    assert record["Mode"] == "record"
    assert record["ContractVersion"] == ORDERS.version
    assert record["Destination"] == validated.destination
    assert record["QuarantineDestination"] == f"s3://{QUARANTINE}/{bad}"
    assert (record["RecordsTotal"], record["RecordsValid"], record["RecordsInvalid"]) == (4, 3, 1)
    assert record["RuleCounts"] == {"format": 1}
    assert writer_states(harness) == {f"s3://{PROCESSED}/{good}": "committed", f"s3://{QUARANTINE}/{bad}": "committed",
                                      f"s3://{QUARANTINE}/{bad}.errors.jsonl": "committed"}


def test_record_mode_without_bad_records_quarantines_nothing(harness: Harness) -> None:
    validated = harness.validate("input/orders/day.json", json.dumps([order(1), order(2)]).encode())
    assert validated.status is FileStatus.PROCESSED
    assert harness.objects.keys(PROCESSED) == ["validated/orders/day.json.jsonl"]  # a JSON array becomes JSON Lines
    assert harness.objects.lines(PROCESSED, "validated/orders/day.json.jsonl") == [order(1), order(2)]
    assert harness.objects.keys(QUARANTINE) == []
    assert writer_states(harness) == {f"s3://{PROCESSED}/validated/orders/day.json.jsonl": "committed",
                                      f"s3://{QUARANTINE}/quarantine/orders/day.json.jsonl": "aborted",
                                      f"s3://{QUARANTINE}/quarantine/orders/day.json.jsonl.errors.jsonl": "aborted"}
    [record] = harness.metadata.stage("validation")
    assert record["QuarantineDestination"] is None
    assert record["RecordsInvalid"] == 0


def test_record_mode_below_the_threshold_quarantines_the_whole_file(harness: Harness) -> None:
    body = jsonl(order(1), order(2, amount=-1), order(3, currency="JPY"))  # validity 33 < 50
    validated = harness.validate("input/orders/day.jsonl", body)
    assert validated.status is FileStatus.QUARANTINED
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.keys(QUARANTINE) == ["quarantine/orders/day.jsonl",
                                                "quarantine/orders/day.jsonl.error.json"]
    assert harness.objects.buckets[QUARANTINE]["quarantine/orders/day.jsonl"] == body  # the raw file, whole
    assert set(writer_states(harness).values()) == {"aborted"}
    assert any("below the threshold 50" in error for error in validated.errors)
    [record] = harness.metadata.stage("validation")
    assert (record["RecordsValid"], record["RecordsInvalid"]) == (1, 2)


def test_record_mode_without_a_valid_record_quarantines_the_whole_file(harness: Harness) -> None:
    harness.contracts.published["orders"] = replace(ORDERS, threshold=0.0)
    body = jsonl(order(1, currency="JPY"), order(2, amount="12"))
    validated = harness.validate("input/orders/day.jsonl", body)
    assert validated.status is FileStatus.QUARANTINED
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.buckets[QUARANTINE]["quarantine/orders/day.jsonl"] == body
    assert set(writer_states(harness).values()) == {"aborted"}


def test_record_mode_csv_gzip_keeps_header_and_delimiter(harness: Harness) -> None:
    header = "order_id;customer_email;amount;currency;ordered_at"
    rows = ["1;a@example.com;10,5;EUR;2026-01-15T10:30:00", "2;b@example.com;10.5;EUR;2026-01-15T10:30:00",
            "3;c@example.com;7;USD;2026-01-15T11:00:00", "4;d@example.com;1;GBP;2026-01-15T12:00:00"]
    body = gzip.compress(("\r\n".join([header, *rows]) + "\r\n").encode())
    received = harness.ingest("input/orders/orders.csv.gz", body)
    assert (received.format, received.compression) == (FileFormat.CSV, "gzip")
    validated = harness.validation.validate(received)

    assert validated is not None
    assert validated.status is FileStatus.PROCESSED
    good = harness.objects.buckets[PROCESSED]["validated/orders/orders.csv.gz.csv"]
    assert good.decode() == "\n".join([header, rows[1], rows[2], rows[3]]) + "\n"
    bad = harness.objects.buckets[QUARANTINE]["quarantine/orders/orders.csv.gz.csv"]
    assert bad.decode() == "\n".join([header, rows[0]]) + "\n"  # "10,5" is not a number
    assert harness.objects.content_types[(PROCESSED, "validated/orders/orders.csv.gz.csv")] == "text/csv"
    report = harness.objects.json(QUARANTINE, "quarantine/orders/orders.csv.gz.csv.error.json")
    assert (report["format"], report["compression"]) == ("csv", "gzip")
    assert report["rules"]["type"]["first"][0] == {"record": 1, "field": "amount", "message": "not a number",
                                                   "value": "10,5"}


def test_record_mode_writes_bad_json_array_elements_as_json_lines(harness: Harness) -> None:
    body = json.dumps([order(1), "not an order", order(3), [1, 2], order(5)]).encode()
    validated = harness.validate("input/orders/day.json", body)
    assert validated.status is FileStatus.PROCESSED
    assert harness.objects.lines(PROCESSED, "validated/orders/day.json.jsonl") == [order(1), order(3), order(5)]
    assert harness.objects.lines(QUARANTINE, "quarantine/orders/day.json.jsonl") == ["not an order", [1, 2]]
    report = harness.objects.json(QUARANTINE, "quarantine/orders/day.json.jsonl.error.json")
    assert report["rules"]["parse"]["count"] == 2
    assert report["errors"] == ["record 2: expected a JSON object", "record 4: expected a JSON object"]


def test_record_mode_content_rejected_midway_writes_nothing_and_quarantines_the_file(harness: Harness) -> None:
    rows = "".join(f"{n},c{n}@example.com,1,EUR,2026-01-15T10:30:00\n" for n in range(1, 4))
    body = f"order_id,customer_email,amount,currency,ordered_at\n{rows}4,bad\rvalue,1,EUR,x\n".encode()
    validated = harness.validate("input/orders/day.csv", body)
    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors[0].startswith("malformed CSV near record 4")
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.keys(QUARANTINE) == ["quarantine/orders/day.csv", "quarantine/orders/day.csv.error.json"]
    assert harness.objects.buckets[QUARANTINE]["quarantine/orders/day.csv"] == body
    assert set(writer_states(harness).values()) == {"aborted"}


def test_record_mode_read_failure_aborts_the_outputs_before_the_retry(harness: Harness) -> None:
    # A connection dropped mid-file makes the function fail and the event retry; the outputs begun for this attempt
    # must be aborted (an unaborted multipart upload stays, invisible and billed, until someone aborts it).
    body = jsonl(*(order(n) for n in range(1, 200)))
    received = harness.ingest("input/orders/day.jsonl", body)
    harness.objects.drop_after[received.key] = len(body) // 2
    with pytest.raises(ConnectionResetError):
        harness.validation.validate(received)
    assert harness.objects.keys(PROCESSED) == []
    assert harness.metadata.stage("validation") == []  # no record: the retry redoes the stage
    assert set(writer_states(harness).values()) == {"aborted"}


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("input/orders/a.jsonl", jsonl(order(1), order(2, amount=-1), order(3))),
        ("input/orders/b.jsonl", jsonl(order(1, amount=-1), order(2, amount=-1), order(3))),
        ("input/c.jsonl", BAD_EMAIL_JSONL),
        ("input/d.csv", b"id,email\n1,a@example.com\n2\n"),
        ("input/sales/e.json", b"[]"),
    ],
)
def test_validation_records_add_up(harness: Harness, key: str, body: bytes) -> None:
    validated = harness.validate(key, body)
    [record] = harness.metadata.stage("validation")
    assert record["RecordsValid"] + record["RecordsInvalid"] == record["RecordsTotal"] == validated.records_total
    assert record["ErrorCount"] >= sum(record["RuleCounts"].values())
    assert record["QualityScore"] == validated.quality_score
    assert record["ValidationPassed"] is (validated.status is FileStatus.PROCESSED)
