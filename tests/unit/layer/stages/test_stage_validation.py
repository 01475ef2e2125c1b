"""The validation stage in file mode against in-memory adapters: where a judged file goes, what it records and
announces."""

from __future__ import annotations

import gzip
import time
from dataclasses import replace

import pytest

from lakebox_layer import time_limit
from lakebox_layer.contracts import FieldRules, parse_contract
from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import StorageError
from lakebox_layer.records import DataReceived, DataValidated, FileFormat, FileStatus
from tests.fakes.aws_errors import client_error, wrapped
from tests.fakes.stages import (
    BAD_EMAIL_JSONL,
    DEFAULT,
    GOOD_JSON,
    ORDERS,
    PROCESSED,
    QUARANTINE,
    RAW,
    Harness,
    good_record,
    jsonl,
    order,
)


@pytest.fixture
def harness() -> Harness:
    return Harness()


def test_valid_file_is_copied_to_validated_and_not_quarantined(harness: Harness) -> None:
    received = harness.ingest("input/sales/2026/orders.json", GOOD_JSON)
    validated = harness.validation.validate(received)

    assert validated is not None
    assert validated.status is FileStatus.PROCESSED
    assert validated.quality_score == 100.0
    assert (validated.records_total, validated.records_valid) == (2, 2)
    assert harness.objects.keys(PROCESSED) == ["validated/sales/2026/orders.json"]
    assert harness.objects.buckets[PROCESSED]["validated/sales/2026/orders.json"] == GOOD_JSON
    assert harness.objects.keys(QUARANTINE) == []
    assert harness.objects.writers == []  # file mode copies server-side and writes nothing itself
    assert validated.destination == f"s3://{PROCESSED}/validated/sales/2026/orders.json"
    [detail] = harness.events.of_type("Data Validated")
    assert DataValidated.from_detail(detail) == validated
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "processed"
    assert record["Timestamp"].endswith("#2-validation")
    assert record["Destination"] == validated.destination
    assert record["QuarantineDestination"] is None
    # A dataset without a published contract gets structural checks.
    assert harness.contracts.reads == ["sales"]
    assert record["ContractVersion"] == "structural"
    assert record["Mode"] == "file"
    assert (record["RecordsTotal"], record["RecordsValid"], record["RecordsInvalid"]) == (2, 2, 0)
    assert (record["Completeness"], record["Validity"], record["QualityScore"]) == (100.0, 100.0, 100.0)
    assert record["RuleCounts"] == {}
    assert record["ErrorCount"] == 0
    assert record["Format"] == "json"
    assert record["Compression"] is None


def test_default_dataset_goes_to_the_default_folder_under_its_contract(harness: Harness) -> None:
    validated = harness.validate("input/a.json", GOOD_JSON)
    assert validated.status is FileStatus.PROCESSED
    assert harness.objects.keys(PROCESSED) == ["validated/default/a.json"]
    assert harness.contracts.reads == ["default"]
    [record] = harness.metadata.stage("validation")
    assert record["ContractVersion"] == DEFAULT.version
    assert record["ContractVersion"].startswith("1.0.0+")


def test_invalid_file_is_quarantined_with_an_error_report(harness: Harness) -> None:
    validated = harness.validate("input/contacts.jsonl", BAD_EMAIL_JSONL)

    assert validated.status is FileStatus.QUARANTINED
    assert validated.quality_score == pytest.approx(75.0)
    assert validated.errors == ["record 2: email: invalid email"]
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.keys(QUARANTINE) == ["quarantine/default/contacts.jsonl",
                                                "quarantine/default/contacts.jsonl.error.json"]
    assert harness.objects.buckets[QUARANTINE]["quarantine/default/contacts.jsonl"] == BAD_EMAIL_JSONL
    report = harness.objects.json(QUARANTINE, "quarantine/default/contacts.jsonl.error.json")
    assert report["process_id"] == validated.process_id
    assert report["raw"] == f"s3://{RAW}/input/contacts.jsonl"
    assert report["version_id"] == "v1"
    assert report["dataset"] == "default"
    assert (report["format"], report["compression"]) == ("jsonl", None)
    assert report["contract"] == {"dataset": "default", "version": DEFAULT.version, "mode": "file", "threshold": 70}
    assert report["quality"] == {"score": 75.0, "completeness": 100.0, "validity": 75.0, "passed": False}
    assert report["records"] == {"total": 4, "valid": 3, "invalid": 1}
    assert report["rules"] == {"format": {"count": 1, "first": [
        {"record": 2, "field": "email", "message": "invalid email", "value": "invalid-email"},
    ]}}
    assert report["errors"] == ["record 2: email: invalid email"]
    assert validated.destination == f"s3://{QUARANTINE}/quarantine/default/contacts.jsonl"
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "quarantined"
    assert record["ValidationPassed"] is False
    assert record["QuarantineDestination"] == validated.destination
    assert record["RuleCounts"] == {"format": 1}
    assert (record["RecordsTotal"], record["RecordsValid"], record["RecordsInvalid"]) == (4, 3, 1)


def test_unsupported_file_is_quarantined_with_its_reason(harness: Harness) -> None:
    received = harness.ingest("input/sales/report.xml", b"<report/>\n")
    assert received.format is FileFormat.UNSUPPORTED
    assert received.reason is not None

    # The validation stage receives the event as EventBridge delivers it.
    [detail] = harness.events.of_type("Data Received")
    validated = harness.validation.validate(DataReceived.from_detail(detail))

    assert validated is not None
    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors == [received.reason]
    assert ".xml" in received.reason
    report = harness.objects.json(QUARANTINE, "quarantine/sales/report.xml.error.json")
    assert report["errors"] == [received.reason]
    assert report["rules"]["content"]["count"] == 1
    assert harness.objects.buckets[QUARANTINE]["quarantine/sales/report.xml"] == b"<report/>\n"


def test_unreadable_content_is_quarantined_with_the_parser_reason(harness: Harness) -> None:
    validated = harness.validate("input/a.csv", b"id,name\n")
    assert validated.status is FileStatus.QUARANTINED
    assert len(validated.errors) == 1
    assert "header" in validated.errors[0]


def test_csv_is_held_to_the_field_rules_but_not_to_the_json_schema(harness: Harness) -> None:
    # The default contract's schema requires id, timestamp and data of JSON records; CSV gets the field rules only.
    validated = harness.validate("input/people.csv", b"name,email\nAnn,ann@example.com\nBob,bob@example.com\n")
    assert validated.status is FileStatus.PROCESSED
    bad = harness.validate("input/people2.csv", b"name,email\nAnn,ann@example.com\nBob,not-an-email\n")
    assert bad.status is FileStatus.QUARANTINED
    assert bad.errors[0] == "record 2: email: invalid email"


def test_gzip_file_is_judged_decompressed_and_copied_as_it_came(harness: Harness) -> None:
    body = gzip.compress(GOOD_JSON)
    received = harness.ingest("input/a.json.gz", body)
    assert (received.format, received.compression) == (FileFormat.JSON, "gzip")
    validated = harness.validation.validate(received)
    assert validated is not None
    assert validated.status is FileStatus.PROCESSED
    assert validated.records_total == 2
    assert harness.objects.buckets[PROCESSED]["validated/default/a.json.gz"] == body
    [record] = harness.metadata.stage("validation")
    assert record["Compression"] == "gzip"


def test_raw_object_deleted_before_validation_fails_the_file(harness: Harness) -> None:
    received = harness.ingest("input/sales/a.json", GOOD_JSON)
    harness.objects.delete(received.raw_object)

    validated = harness.validation.validate(received)

    assert validated is not None
    assert validated.status is FileStatus.FAILED
    assert validated.destination is None
    assert "deleted" in validated.errors[0]
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.keys(QUARANTINE) == []
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "failed"
    [detail] = harness.events.of_type("Data Validated")
    assert detail["status"] == "failed"


def test_second_validation_of_the_same_file_is_a_duplicate(harness: Harness) -> None:
    received = harness.ingest("input/a.json", GOOD_JSON)
    assert harness.validation.validate(received) is not None
    assert harness.validation.validate(received) is None
    assert len(harness.events.of_type("Data Validated")) == 1


def test_threshold_comes_from_the_contract(harness: Harness) -> None:
    harness.contracts.published["default"] = replace(DEFAULT, threshold=90.0)
    # Two of five fields blank in one record of two: completeness 80, all records valid.
    body = jsonl(good_record(1), good_record(2, email="", phone=""))
    validated = harness.validate("input/a.jsonl", body)
    assert validated.status is FileStatus.QUARANTINED
    assert validated.quality_score == pytest.approx(80.0)
    assert validated.errors == ["quality score 80.00 is below the threshold 90"]
    report = harness.objects.json(QUARANTINE, "quarantine/default/a.jsonl.error.json")
    assert report["contract"]["threshold"] == 90.0


def test_a_lower_threshold_passes_the_same_file(harness: Harness) -> None:
    harness.contracts.published["default"] = replace(DEFAULT, threshold=50.0)
    body = jsonl(good_record(1), good_record(2, email="", phone=""), {"id": 3, "timestamp": "t", "data": None})
    validated = harness.validate("input/a.jsonl", body)
    assert validated.status is FileStatus.PROCESSED


def test_a_contract_edit_takes_effect_for_the_next_file(harness: Harness) -> None:
    assert harness.validate("input/a.jsonl", BAD_EMAIL_JSONL).status is FileStatus.QUARANTINED
    relaxed = parse_contract({**DEFAULT.document, "fields": {}})
    harness.contracts.published["default"] = relaxed
    assert harness.validate("input/b.jsonl", BAD_EMAIL_JSONL).status is FileStatus.PROCESSED
    versions = [record["ContractVersion"] for record in harness.metadata.stage("validation")]
    assert sorted(versions) == sorted([DEFAULT.version, relaxed.version])


def test_an_invalid_published_contract_fails_the_file(harness: Harness) -> None:
    harness.contracts.broken["orders"] = "policy.threshold: must be smaller than or equal to 100"
    validated = harness.validate("input/orders/day.jsonl", jsonl(order(1)))
    assert validated.status is FileStatus.FAILED
    assert validated.destination is None
    assert "contract of 'orders' is invalid" in validated.errors[0]
    assert "threshold" in validated.errors[0]
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.keys(QUARANTINE) == []
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "failed"
    assert record["ContractVersion"] == "structural"


def test_a_published_contract_whose_pattern_does_not_compile_fails_the_file(harness: Harness) -> None:
    # Written by other means than bootstrap (or accepted by parse_contract): the file fails, loudly, and the
    # function does not crash on every retry.
    broken = replace(ORDERS, fields=(FieldRules("sku", pattern="([A-Z"),))
    harness.contracts.published["orders"] = broken
    received = harness.ingest("input/orders/day.jsonl", jsonl(order(1)))
    validated = harness.validation.validate(received)
    assert validated is not None
    assert validated.status is FileStatus.FAILED
    assert "pattern" in validated.errors[0]



def test_a_quarantined_csv_copy_cannot_run_formulas_and_the_raw_file_is_untouched(harness: Harness) -> None:
    body = b"id,email\n1,=HYPERLINK(\"http://evil\")\n2,@SUM(1)\n"
    validated = harness.validate("input/contacts.csv", body)
    assert validated.status is FileStatus.QUARANTINED
    copy = harness.objects.buckets[QUARANTINE]["quarantine/default/contacts.csv"].decode()
    assert copy.splitlines() == ["id,email", "1,\"'=HYPERLINK(\"\"http://evil\"\")\"", "2,'@SUM(1)"]
    assert harness.objects.content_types[(QUARANTINE, "quarantine/default/contacts.csv")] == "text/csv"


@pytest.mark.parametrize(("key", "body", "dataset", "name"), [
    ("input/Bad Name/x.json", GOOD_JSON, "Bad Name", "x.json"),
    ("input/UPPER/2026/x.csv", b"id,note\n1,=SUM(A1)\n", "UPPER", "2026/x.csv"),
    ("input/../x.json", GOOD_JSON, "..", "x.json"),
])
def test_a_file_under_an_invalid_dataset_is_quarantined_with_the_reason(
        harness: Harness, key: str, body: bytes, dataset: str, name: str) -> None:
    harness.ingest(key, body)
    [detail] = harness.events.of_type("Data Received")
    validated = harness.validation.validate(DataReceived.from_detail(detail))

    reason = dataset_name_problem(dataset)
    assert validated is not None
    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors == [reason]
    assert validated.dataset == dataset
    quarantined = f"quarantine/{dataset}/{name}"
    assert validated.destination == f"s3://{QUARANTINE}/{quarantined}"
    assert harness.objects.keys(QUARANTINE) == [quarantined, f"{quarantined}.error.json"]
    assert harness.objects.keys(PROCESSED) == []
    report = harness.objects.json(QUARANTINE, f"{quarantined}.error.json")
    assert (report["dataset"], report["errors"], report["raw"]) == (dataset, [reason], f"s3://{RAW}/{key}")
    assert report["rules"]["content"]["count"] == 1
    assert harness.objects.buckets[RAW][key] == body  # the raw file stays as it came
    [record] = harness.metadata.stage("validation")
    assert (record["Status"], record["Errors"]) == ("quarantined", [reason])
    assert len(harness.events.of_type("Data Validated")) == 1


def test_a_quarantined_csv_under_an_invalid_dataset_is_copied_defused(harness: Harness) -> None:
    harness.validate("input/UPPER/x.csv", b"id,note\n1,=SUM(A1)\n")
    assert harness.objects.buckets[QUARANTINE]["quarantine/UPPER/x.csv"] == b"id,note\n1,'=SUM(A1)\n"


def test_a_contract_published_under_an_invalid_name_does_not_let_a_file_through(harness: Harness) -> None:
    harness.contracts.published["Orders"] = replace(ORDERS, dataset="Orders")
    validated = harness.validate("input/Orders/a.jsonl", jsonl(order(1)))
    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors == [dataset_name_problem("Orders")]
    assert harness.objects.keys(PROCESSED) == []


def test_a_dash_dataset_is_processed_under_its_own_folder(harness: Harness) -> None:
    validated = harness.validate("input/sales-eu/x.json", GOOD_JSON)
    assert validated.status is FileStatus.PROCESSED
    assert harness.objects.keys(PROCESSED) == ["validated/sales-eu/x.json"]


def s3_error(code: str, status: int) -> BaseException:
    """An S3 refusal as the objects adapter raises it: a StorageError from botocore's ClientError."""
    return wrapped(StorageError(f"tagging: {code}"), client_error(code, status, "PutObjectTagging"))


def test_a_failure_that_is_the_files_own_ends_it_failed_at_once(harness: Harness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One no stage step turns into an outcome itself (here the validated copy gone before it is tagged): the file
    ends failed, named by the error's code, instead of being retried to the dead-letter queue."""
    received = harness.ingest("input/sales/a.json", GOOD_JSON)

    def gone(bucket: str, key: str, tags: dict[str, str]) -> None:
        raise s3_error("NoSuchKey", 404)

    monkeypatch.setattr(harness.objects, "tag", gone)
    validated = harness.validation.validate(received)

    assert validated is not None and validated.status is FileStatus.FAILED
    assert validated.errors == ["validation failed on the file itself (NoSuchKey)"]
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "failed"


def test_a_dependencys_failure_is_not_the_files_and_is_retried(harness: Harness,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    received = harness.ingest("input/sales/a.json", GOOD_JSON)

    def slow_down(bucket: str, key: str, tags: dict[str, str]) -> None:
        raise s3_error("SlowDown", 503)

    monkeypatch.setattr(harness.objects, "tag", slow_down)
    with pytest.raises(StorageError, match="SlowDown"):
        harness.validation.validate(received)
    assert harness.metadata.stage("validation") == []


def test_a_file_that_does_not_fit_in_the_time_limit_ends_failed_with_the_reason(
        harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the invocation's time the file is stopped and ends failed (not retried into the dead-letter queue)."""
    monkeypatch.setattr(time_limit, "CHECK_EVERY", 2)
    received = harness.ingest("input/sales/big.jsonl", jsonl(*[good_record(n) for n in range(6)]))
    now = time.monotonic()
    spent = time_limit.TimeLimit(ends_at=now - 1, limit_s=300, started_at=now)

    [validated] = harness.validation.validate_all([received], spent)

    assert isinstance(validated, DataValidated)
    assert validated.status is FileStatus.FAILED
    assert validated.errors == ["validation stopped after 2 records: the file does not fit in the function's 300 s "
                                "time limit (see the largest file each stage handles in docs/performance.md)"]
    assert harness.objects.keys(PROCESSED) == [] and harness.objects.keys(QUARANTINE) == []
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "failed"


def test_a_batchs_largest_file_is_validated_first_and_outcomes_keep_the_batchs_order(harness: Harness) -> None:
    small = harness.ingest("input/sales/small.jsonl", jsonl(good_record(1)))
    large = harness.ingest("input/sales/large.jsonl", jsonl(*[good_record(n) for n in range(50)]))

    outcomes = harness.validation.validate_all([small, large])

    assert [outcome.key for outcome in outcomes if isinstance(outcome, DataValidated)] == [small.key, large.key]
    assert [record["RawKey"] for record in harness.metadata.stage("validation")] == [large.key, small.key]
