"""The three stages of Pipeline against in-memory adapters: what each stage writes, copies and announces."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox_layer.adapters.objects import ObjectHead
from lakebox_layer.exceptions import IngestionFailed, RawObjectMissing, StageAlreadyRecorded
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.pipeline import Pipeline
from lakebox_layer.records import DataReceived, DataValidated, FileFormat, FileStatus, QualityTotals, RawObject
from lakebox_layer.settings import ResourceNames, Settings

SETTINGS = Settings.from_names(ResourceNames("lakebox", "000000000000", "us-east-1"))
RAW = SETTINGS.raw_bucket
PROCESSED = SETTINGS.processed_bucket
QUARANTINE = SETTINGS.quarantine_bucket
UPLOADED_AT = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


# -- in-memory adapters -------------------------------------------------------------------------------------------


@dataclass
class FakeObjectStore:
    """Buckets as dicts; raw objects carry their upload time like S3's LastModified."""

    buckets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    uploaded: dict[tuple[str, str], datetime] = field(default_factory=dict)
    broken_keys: set[str] = field(default_factory=set)

    def upload(self, key: str, body: bytes, *, etag: str = "etag-1", version_id: str | None = "v1") -> RawObject:
        self.buckets.setdefault(RAW, {})[key] = body
        self.uploaded[(RAW, key)] = UPLOADED_AT
        return RawObject(RAW, key, etag, len(body), version_id)

    def delete(self, raw: RawObject) -> None:
        del self.buckets[raw.bucket][raw.key]

    def _body(self, raw: RawObject) -> bytes:
        if raw.key in self.broken_keys:
            raise ConnectionResetError(f"reading s3://{raw.bucket}/{raw.key}")
        try:
            return self.buckets[raw.bucket][raw.key]
        except KeyError:
            raise RawObjectMissing(f"s3://{raw.bucket}/{raw.key} no longer exists") from None

    def head(self, raw: RawObject) -> ObjectHead:
        body = self._body(raw)
        return ObjectHead(len(body), raw.etag, self.uploaded[(raw.bucket, raw.key)], raw.version_id)

    def read_head(self, raw: RawObject, size: int) -> bytes:
        return self._body(raw)[:size]

    def open(self, raw: RawObject) -> io.BytesIO:
        return io.BytesIO(self._body(raw))

    def copy(self, raw: RawObject, bucket: str, key: str) -> None:
        self.buckets.setdefault(bucket, {})[key] = self._body(raw)

    def put_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        self.buckets.setdefault(bucket, {})[key] = json.dumps(document, default=str).encode()

    def keys(self, bucket: str) -> list[str]:
        return sorted(self.buckets.get(bucket, {}))

    def json(self, bucket: str, key: str) -> Any:
        return json.loads(self.buckets[bucket][key])


@dataclass
class FakeMetadataStore:
    """Stage records keyed by (ProcessId, Timestamp), written once; running totals per pipeline."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    totals: dict[str, QualityTotals] = field(default_factory=dict)

    def has_stage(self, process_id: str, sort_key: str) -> bool:
        return (process_id, sort_key) in self.items

    def put_stage(self, item: dict[str, Any]) -> None:
        key = (item["ProcessId"], item["Timestamp"])
        if key in self.items:
            raise StageAlreadyRecorded(item["ProcessId"])
        self.items[key] = dict(item)

    def record_quality(self, item: dict[str, Any], pipeline: str, *, passed: bool, score: float,
                       records: int) -> QualityTotals:
        self.put_stage(item)
        current = self.totals.get(pipeline, QualityTotals(0, 0, 0.0, 0))
        self.totals[pipeline] = QualityTotals(
            files=current.files + 1, files_passed=current.files_passed + int(passed),
            score_sum=current.score_sum + score, records=current.records + records,
        )
        return self.totals[pipeline]

    def stage(self, stage: str) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if item["Stage"] == stage]


@dataclass
class FakeEventPublisher:
    """Keeps each event as EventBridge would deliver it: the detail serialised to JSON and back."""

    published: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        self.published.append((source, detail_type, json.loads(json.dumps(detail, default=str))))

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [detail for _, kind, detail in self.published if kind == detail_type]


@dataclass
class FakeMetrics:
    """One observation per judged file, as QualityMetrics.publish receives it."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, *, passed: bool, quality_score: float, records: int) -> None:
        self.calls.append({"passed": passed, "quality_score": quality_score, "records": records})


@dataclass
class Harness:
    pipeline: Pipeline
    objects: FakeObjectStore
    metadata: FakeMetadataStore
    events: FakeEventPublisher
    metrics: FakeMetrics

    def ingest(self, key: str, body: bytes) -> DataReceived:
        received = self.pipeline.ingest(self.objects.upload(key, body))
        assert received is not None
        return received

    def validate(self, key: str, body: bytes) -> DataValidated:
        validated = self.pipeline.validate(self.ingest(key, body))
        assert validated is not None
        return validated


@pytest.fixture
def harness() -> Harness:
    objects, metadata, events, metrics = FakeObjectStore(), FakeMetadataStore(), FakeEventPublisher(), FakeMetrics()
    pipeline = Pipeline(settings=SETTINGS, objects=objects, metadata=metadata, events=events,  # type: ignore[arg-type]
                        metrics=metrics, logger=Logger(service="lakebox-unit-test"))
    return Harness(pipeline, objects, metadata, events, metrics)


def jsonl(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def good_record(n: int, **changes: Any) -> dict[str, Any]:
    return {"id": n, "timestamp": "2026-01-15T10:00:00Z", "data": {"n": n}, "email": f"u{n}@example.com",
            "phone": "+1-555-123-4567", **changes}


GOOD_JSON = json.dumps([good_record(1), good_record(2)]).encode()
BAD_EMAIL_JSONL = jsonl(good_record(1), good_record(2, email="invalid-email"), good_record(3), good_record(4))


# -- ingestion ----------------------------------------------------------------------------------------------------


def test_ingest_announces_data_received_and_records_ingestion_in_progress(harness: Harness) -> None:
    raw = harness.objects.upload("input/sales/orders.json", GOOD_JSON)
    received = harness.pipeline.ingest(raw)

    assert received is not None
    assert received.process_id == raw.process_id
    assert received.format is FileFormat.JSON
    assert received.dataset == "sales"
    assert received.arrived_at == UPLOADED_AT.isoformat()
    assert harness.events.published == [("datalake.ingestion", "Data Received", received.to_detail())]
    [record] = harness.metadata.items.values()
    assert record["ProcessId"] == raw.process_id
    assert record["Timestamp"] == f"{UPLOADED_AT.isoformat()}#1-ingestion"
    assert record["Stage"] == "ingestion"
    assert record["Status"] == "in_progress"
    assert record["RawKey"] == "input/sales/orders.json"
    assert record["Pipeline"] == "lakebox"
    assert record["Format"] == "json"


def test_second_ingest_of_the_same_object_is_a_duplicate(harness: Harness) -> None:
    raw = harness.objects.upload("input/a.json", GOOD_JSON)
    assert harness.pipeline.ingest(raw) is not None
    assert harness.pipeline.ingest(raw) is None
    assert len(harness.events.published) == 1
    assert len(harness.metadata.items) == 1


def test_new_version_of_a_key_is_ingested_again(harness: Harness) -> None:
    first = harness.objects.upload("input/a.json", GOOD_JSON, etag="e1", version_id="v1")
    harness.pipeline.ingest(first)
    second = harness.objects.upload("input/a.json", GOOD_JSON, etag="e2", version_id="v2")
    assert harness.pipeline.ingest(second) is not None
    assert len(harness.events.of_type("Data Received")) == 2


def test_ingest_of_a_deleted_object_records_failure_and_announces_nothing(harness: Harness) -> None:
    raw = RawObject(RAW, "input/gone.json", "e", 10, "v1")
    assert harness.pipeline.ingest(raw, event_time="2026-01-15T10:30:00.000Z") is None
    assert harness.events.published == []
    [record] = harness.metadata.items.values()
    assert record["Status"] == "failed"
    assert record["Timestamp"].startswith("2026-01-15T10:30:00.000Z#1-")
    assert "deleted" in record["Errors"][0]


def test_ingest_all_ingests_the_others_then_raises(harness: Harness) -> None:
    broken = harness.objects.upload("input/broken.json", GOOD_JSON)
    harness.objects.broken_keys.add(broken.key)
    fine = harness.objects.upload("input/fine.json", GOOD_JSON)
    created = [ObjectCreated(broken, "2026-01-15T10:30:00.000Z"), ObjectCreated(fine, "2026-01-15T10:30:00.000Z")]

    with pytest.raises(IngestionFailed) as caught:
        harness.pipeline.ingest_all(created)

    assert "input/broken.json" in str(caught.value)
    assert "input/fine.json" not in str(caught.value)
    assert [d["key"] for d in harness.events.of_type("Data Received")] == ["input/fine.json"]
    assert [item["RawKey"] for item in harness.metadata.stage("ingestion")] == ["input/fine.json"]


def test_ingest_all_returns_the_process_ids_and_skips_duplicates(harness: Harness) -> None:
    first = harness.objects.upload("input/a.json", GOOD_JSON)
    second = harness.objects.upload("input/b.json", GOOD_JSON)
    created = [ObjectCreated(first, "t"), ObjectCreated(second, "t")]
    assert harness.pipeline.ingest_all(created) == [first.process_id, second.process_id]
    # A redelivered notification ingests nothing new.
    assert harness.pipeline.ingest_all(created) == []
    assert len(harness.events.published) == 2


# -- validation ---------------------------------------------------------------------------------------------------


def test_valid_file_is_copied_to_validated_and_not_quarantined(harness: Harness) -> None:
    received = harness.ingest("input/sales/2026/orders.json", GOOD_JSON)
    validated = harness.pipeline.validate(received)

    assert validated is not None
    assert validated.status is FileStatus.PROCESSED
    assert validated.quality_score == 100.0
    assert (validated.records_total, validated.records_valid) == (2, 2)
    assert harness.objects.keys(PROCESSED) == ["validated/sales/2026/orders.json"]
    assert harness.objects.buckets[PROCESSED]["validated/sales/2026/orders.json"] == GOOD_JSON
    assert harness.objects.keys(QUARANTINE) == []
    assert validated.destination == f"s3://{PROCESSED}/validated/sales/2026/orders.json"
    [detail] = harness.events.of_type("Data Validated")
    assert DataValidated.from_detail(detail) == validated
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "processed"
    assert record["Timestamp"].endswith("#2-validation")
    assert record["Destination"] == validated.destination


def test_default_dataset_goes_to_the_default_folder(harness: Harness) -> None:
    validated = harness.validate("input/a.json", GOOD_JSON)
    assert validated.status is FileStatus.PROCESSED
    assert harness.objects.keys(PROCESSED) == ["validated/default/a.json"]


def test_invalid_file_is_quarantined_with_an_error_report(harness: Harness) -> None:
    validated = harness.validate("input/crm/contacts.jsonl", BAD_EMAIL_JSONL)

    assert validated.status is FileStatus.QUARANTINED
    assert validated.quality_score == pytest.approx(75.0)
    assert harness.objects.keys(PROCESSED) == []
    assert harness.objects.keys(QUARANTINE) == ["quarantine/crm/contacts.jsonl",
                                                "quarantine/crm/contacts.jsonl.error.json"]
    assert harness.objects.buckets[QUARANTINE]["quarantine/crm/contacts.jsonl"] == BAD_EMAIL_JSONL
    report = harness.objects.json(QUARANTINE, "quarantine/crm/contacts.jsonl.error.json")
    assert report["errors"] == ["record 2: invalid email in 'email'"]
    assert report["error_count"] == 1
    assert report["records_total"] == 4
    assert report["records_valid"] == 3
    assert report["raw"] == f"s3://{RAW}/input/crm/contacts.jsonl"
    assert report["threshold"] == SETTINGS.quality_threshold
    assert validated.destination == f"s3://{QUARANTINE}/quarantine/crm/contacts.jsonl"
    [record] = harness.metadata.stage("validation")
    assert record["Status"] == "quarantined"
    assert record["ValidationPassed"] is False


def test_unsupported_file_is_quarantined_with_its_reason(harness: Harness) -> None:
    received = harness.ingest("input/sales/report.xml", b"<report/>\n")
    assert received.format is FileFormat.UNSUPPORTED
    assert received.reason is not None

    # The validation stage receives the event as EventBridge delivers it.
    [detail] = harness.events.of_type("Data Received")
    validated = harness.pipeline.validate(DataReceived.from_detail(detail))

    assert validated is not None
    assert validated.status is FileStatus.QUARANTINED
    assert validated.errors == [received.reason]
    assert ".xml" in received.reason
    report = harness.objects.json(QUARANTINE, "quarantine/sales/report.xml.error.json")
    assert report["errors"] == [received.reason]
    assert harness.objects.buckets[QUARANTINE]["quarantine/sales/report.xml"] == b"<report/>\n"


def test_unreadable_content_is_quarantined_with_the_parser_reason(harness: Harness) -> None:
    validated = harness.validate("input/a.csv", b"id,name\n")
    assert validated.status is FileStatus.QUARANTINED
    assert len(validated.errors) == 1
    assert "header" in validated.errors[0]


def test_csv_is_validated_without_required_fields(harness: Harness) -> None:
    validated = harness.validate("input/people.csv", b"name,email\nAnn,ann@example.com\nBob,bob@example.com\n")
    assert validated.status is FileStatus.PROCESSED


def test_raw_object_deleted_before_validation_fails_the_file(harness: Harness) -> None:
    received = harness.ingest("input/sales/a.json", GOOD_JSON)
    harness.objects.delete(received.raw_object)

    validated = harness.pipeline.validate(received)

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
    assert harness.pipeline.validate(received) is not None
    assert harness.pipeline.validate(received) is None
    assert len(harness.events.of_type("Data Validated")) == 1


def test_threshold_comes_from_the_settings(harness: Harness) -> None:
    harness.pipeline.settings = replace(SETTINGS, quality_threshold=90.0)
    # Two of five fields blank in one record of two: completeness 80, all records valid.
    body = jsonl(good_record(1), good_record(2, email="", phone=""))
    validated = harness.validate("input/a.jsonl", body)
    assert validated.status is FileStatus.QUARANTINED
    assert validated.quality_score == pytest.approx(80.0)
    assert any("threshold 90" in error for error in validated.errors)


# -- quality ------------------------------------------------------------------------------------------------------


def test_quality_counts_a_file_once_and_publishes_metrics_once(harness: Harness) -> None:
    validated = harness.validate("input/a.json", GOOD_JSON)

    first = harness.pipeline.assess_quality(validated)
    second = harness.pipeline.assess_quality(validated)

    assert first == QualityTotals(files=1, files_passed=1, score_sum=100.0, records=2)
    assert second is None
    assert harness.metrics.calls == [{"passed": True, "quality_score": 100.0, "records": 2}]
    [complete] = harness.events.of_type("Quality Check Complete")
    assert complete["process_id"] == validated.process_id
    assert complete["files"] == 1
    assert complete["validation_success_rate"] == 100.0
    [record] = harness.metadata.stage("quality")
    assert record["Timestamp"].endswith("#3-quality")


def test_quality_totals_accumulate_across_files(harness: Harness) -> None:
    passed = harness.validate("input/a.json", GOOD_JSON)
    quarantined = harness.validate("input/b.jsonl", BAD_EMAIL_JSONL)
    harness.pipeline.assess_quality(passed)
    totals = harness.pipeline.assess_quality(quarantined)

    assert totals == QualityTotals(files=2, files_passed=1, score_sum=175.0, records=6)
    last = harness.events.of_type("Quality Check Complete")[-1]
    assert last["validation_success_rate"] == 50.0
    assert last["average_quality_score"] == 87.5
    assert harness.metrics.calls == [
        {"passed": True, "quality_score": 100.0, "records": 2},
        {"passed": False, "quality_score": 75.0, "records": 4},
    ]


def test_the_whole_chain_through_serialised_events(harness: Harness) -> None:
    harness.ingest("input/sales/orders.jsonl", BAD_EMAIL_JSONL)
    [received] = harness.events.of_type("Data Received")
    harness.pipeline.validate(DataReceived.from_detail(received))
    [validated] = harness.events.of_type("Data Validated")
    totals = harness.pipeline.assess_quality(DataValidated.from_detail(validated))

    assert totals is not None
    assert totals.files == 1
    assert totals.files_passed == 0
    assert [kind for _, kind, _ in harness.events.published] == [
        "Data Received", "Data Validated", "Quality Check Complete",
    ]
    assert {source for source, _, _ in harness.events.published} == {
        "datalake.ingestion", "datalake.validation", "datalake.quality",
    }
