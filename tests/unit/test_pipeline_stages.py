"""The three stages of Pipeline against in-memory adapters: what each stage writes, copies and announces."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox_infra.contract_files import contracts as shipped_contracts
from lakebox_layer.adapters.objects import ObjectHead
from lakebox_layer.contracts import Contract, FieldRules, parse_contract, structural_contract
from lakebox_layer.exceptions import ContractInvalid, IngestionFailed, RawObjectMissing, StageAlreadyRecorded
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.pipeline import Pipeline
from lakebox_layer.records import DataReceived, DataValidated, FileFormat, FileStatus, QualityTotals, RawObject
from lakebox_layer.settings import ResourceNames, Settings
from lakebox_layer.validation import MASK

SETTINGS = Settings.from_names(ResourceNames("lakebox", "000000000000", "us-east-1"))
RAW = SETTINGS.raw_bucket
PROCESSED = SETTINGS.processed_bucket
QUARANTINE = SETTINGS.quarantine_bucket
UPLOADED_AT = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
# What bootstrap publishes: contracts/default.json (the recipe's rules) and contracts/orders.json (record mode).
SHIPPED = {contract.dataset: contract for contract in shipped_contracts()}
DEFAULT, ORDERS = SHIPPED["default"], SHIPPED["orders"]


# -- in-memory adapters -------------------------------------------------------------------------------------------


@dataclass
class FakeWriter:
    """What ObjectStore.writer gives: bytes collected, visible in the bucket only once committed."""

    store: FakeObjectStore
    bucket: str
    key: str
    content_type: str
    written: list[bytes] = field(default_factory=list)
    state: str = "open"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def write(self, data: bytes) -> None:
        assert self.state == "open"
        self.written.append(data)

    def commit(self) -> None:
        assert self.state == "open"
        self.state = "committed"
        self.store.buckets.setdefault(self.bucket, {})[self.key] = b"".join(self.written)
        self.store.content_types[(self.bucket, self.key)] = self.content_type

    def abort(self) -> None:
        assert self.state == "open"
        self.state = "aborted"


class FailingBody(io.BytesIO):
    """A body whose connection drops after `good` bytes."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__(data)
        self._good = good

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= self._good:
            raise ConnectionResetError("connection reset while reading the raw object")
        limit = self._good - self.tell()
        return super().read(limit if size is None or size < 0 else min(size, limit))


@dataclass
class FakeObjectStore:
    """Buckets as dicts; raw objects carry their upload time like S3's LastModified."""

    buckets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    uploaded: dict[tuple[str, str], datetime] = field(default_factory=dict)
    broken_keys: set[str] = field(default_factory=set)
    content_types: dict[tuple[str, str], str] = field(default_factory=dict)
    writers: list[FakeWriter] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)

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
        if raw.key in self.drop_after:
            return FailingBody(self._body(raw), self.drop_after[raw.key])
        return io.BytesIO(self._body(raw))

    def writer(self, bucket: str, key: str, content_type: str) -> FakeWriter:
        writer = FakeWriter(self, bucket, key, content_type)
        self.writers.append(writer)
        return writer

    def copy(self, raw: RawObject, bucket: str, key: str, content_type: str | None = None) -> None:
        self.buckets.setdefault(bucket, {})[key] = self._body(raw)
        if content_type:
            self.content_types[(bucket, key)] = content_type

    def put_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        self.buckets.setdefault(bucket, {})[key] = json.dumps(document, default=str).encode()

    def keys(self, bucket: str) -> list[str]:
        return sorted(self.buckets.get(bucket, {}))

    def json(self, bucket: str, key: str) -> Any:
        return json.loads(self.buckets[bucket][key])

    def lines(self, bucket: str, key: str) -> list[Any]:
        return [json.loads(line) for line in self.buckets[bucket][key].decode().splitlines()]


@dataclass
class FakeContractStore:
    """Published contracts by dataset; a dataset without one gets structural checks, as ContractStore does."""

    published: dict[str, Contract] = field(default_factory=lambda: dict(SHIPPED))
    broken: dict[str, str] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def contract_for(self, dataset: str) -> Contract:
        self.reads.append(dataset)
        if dataset in self.broken:
            raise ContractInvalid(self.broken[dataset])
        return self.published.get(dataset) or structural_contract(dataset)


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
    contracts: FakeContractStore

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
    contracts = FakeContractStore()
    pipeline = Pipeline(settings=SETTINGS, objects=objects, metadata=metadata, events=events,  # type: ignore[arg-type]
                        metrics=metrics, contracts=contracts,  # type: ignore[arg-type]
                        logger=Logger(service="lakebox-unit-test"))
    return Harness(pipeline, objects, metadata, events, metrics, contracts)


def jsonl(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def good_record(n: int, **changes: Any) -> dict[str, Any]:
    return {"id": n, "timestamp": "2026-01-15T10:00:00Z", "data": {"n": n}, "email": f"u{n}@example.com",
            "phone": "+1-555-123-4567", **changes}


def order(n: int, **changes: Any) -> dict[str, Any]:
    """A record of the `orders` dataset (record mode, threshold 50, PII customer_email and phone)."""
    return {"order_id": n, "customer_email": f"c{n}@example.com", "phone": "+1-555-123-4567", "amount": 10.5,
            "currency": "EUR", "ordered_at": "2026-01-15T10:30:00", "sku": "AB-123", **changes}


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


def test_ingest_looks_inside_gzip(harness: Harness) -> None:
    received = harness.ingest("input/orders/orders.csv.gz", gzip.compress(b"order_id,amount\n1,2\n"))
    assert (received.format, received.compression, received.dataset) == (FileFormat.CSV, "gzip", "orders")
    assert DataReceived.from_detail(harness.events.of_type("Data Received")[0]) == received
    [record] = harness.metadata.stage("ingestion")
    assert (record["Format"], record["Compression"]) == ("csv", "gzip")


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


# -- validation: file mode ---------------------------------------------------------------------------------------


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
    validated = harness.pipeline.validate(DataReceived.from_detail(detail))

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
    validated = harness.pipeline.validate(received)
    assert validated is not None
    assert validated.status is FileStatus.PROCESSED
    assert validated.records_total == 2
    assert harness.objects.buckets[PROCESSED]["validated/default/a.json.gz"] == body
    [record] = harness.metadata.stage("validation")
    assert record["Compression"] == "gzip"


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
    validated = harness.pipeline.validate(received)
    assert validated is not None
    assert validated.status is FileStatus.FAILED
    assert "pattern" in validated.errors[0]


# -- validation: record mode -------------------------------------------------------------------------------------


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
    assert harness.objects.keys(QUARANTINE) == [bad, f"{bad}.error.json"]
    assert harness.objects.lines(QUARANTINE, bad) == [order(2, customer_email="secret-but-invalid")]
    assert harness.objects.content_types[(PROCESSED, good)] == "application/x-ndjson"
    report = harness.objects.json(QUARANTINE, f"{bad}.error.json")
    assert report["records"] == {"total": 4, "valid": 3, "invalid": 1}
    assert report["contract"] == {"dataset": "orders", "version": ORDERS.version, "mode": "record", "threshold": 50}
    assert report["quality"]["passed"] is True
    assert report["rules"]["format"] == {"count": 1, "first": [
        {"record": 2, "field": "customer_email", "message": "invalid email", "value": MASK},
    ]}
    # PII never reaches the report, the event or the metadata.
    assert "secret-but-invalid" not in json.dumps(report)
    assert "secret-but-invalid" not in json.dumps(harness.events.published)
    [record] = harness.metadata.stage("validation")
    assert "secret-but-invalid" not in json.dumps(record, default=str)
    assert record["Mode"] == "record"
    assert record["ContractVersion"] == ORDERS.version
    assert record["Destination"] == validated.destination
    assert record["QuarantineDestination"] == f"s3://{QUARANTINE}/{bad}"
    assert (record["RecordsTotal"], record["RecordsValid"], record["RecordsInvalid"]) == (4, 3, 1)
    assert record["RuleCounts"] == {"format": 1}
    assert writer_states(harness) == {f"s3://{PROCESSED}/{good}": "committed", f"s3://{QUARANTINE}/{bad}": "committed"}


def test_record_mode_without_bad_records_quarantines_nothing(harness: Harness) -> None:
    validated = harness.validate("input/orders/day.json", json.dumps([order(1), order(2)]).encode())
    assert validated.status is FileStatus.PROCESSED
    assert harness.objects.keys(PROCESSED) == ["validated/orders/day.json.jsonl"]  # a JSON array becomes JSON Lines
    assert harness.objects.lines(PROCESSED, "validated/orders/day.json.jsonl") == [order(1), order(2)]
    assert harness.objects.keys(QUARANTINE) == []
    assert writer_states(harness) == {f"s3://{PROCESSED}/validated/orders/day.json.jsonl": "committed",
                                      f"s3://{QUARANTINE}/quarantine/orders/day.json.jsonl": "aborted"}
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
    validated = harness.pipeline.validate(received)

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
        harness.pipeline.validate(received)
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
    harness.ingest("input/contacts.jsonl", BAD_EMAIL_JSONL)
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


def test_a_quarantined_csv_copy_cannot_run_formulas_and_the_raw_file_is_untouched(harness: Harness) -> None:
    body = b"id,email\n1,=HYPERLINK(\"http://evil\")\n2,@SUM(1)\n"
    validated = harness.validate("input/contacts.csv", body)
    assert validated.status is FileStatus.QUARANTINED
    copy = harness.objects.buckets[QUARANTINE]["quarantine/default/contacts.csv"].decode()
    assert copy.splitlines() == ["id,email", "1,\"'=HYPERLINK(\"\"http://evil\"\")\"", "2,'@SUM(1)"]
    assert harness.objects.content_types[(QUARANTINE, "quarantine/default/contacts.csv")] == "text/csv"
