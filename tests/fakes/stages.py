"""The world the stage tests run in: in-memory adapters that honour the ports, the stages built on them, and sample
files.

Every fake is handed to a stage constructor typed with :mod:`lakebox_layer.ports`, so mypy fails as soon as a fake's
signature drifts from the port the real adapter implements.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from lakebox_infra.contract_files import contracts as shipped_contracts
from lakebox_layer.adapters.metrics import Observation
from lakebox_layer.adapters.objects import ObjectHead, ObjectPeek
from lakebox_layer.contracts import Contract, structural_contract
from lakebox_layer.exceptions import (
    ContractInvalid,
    MetadataError,
    PublishError,
    RawObjectMissing,
    StageAlreadyRecorded,
)
from lakebox_layer.records import DataReceived, DataValidated, QualityTotals, RawObject
from lakebox_layer.settings import ResourceNames, Settings
from lakebox_layer.stages.ingestion import Ingestion
from lakebox_layer.stages.quality import Quality
from lakebox_layer.stages.validation import Validation
from tests.fakes.free_text import FakeFreeTextDetector

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
    tags: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

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

    def peek(self, raw: RawObject, size: int) -> ObjectPeek:
        body = self._body(raw)
        head = ObjectHead(len(body), raw.etag, self.uploaded[(raw.bucket, raw.key)], raw.version_id)
        return ObjectPeek(head, body[:size])

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

    def tag(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        assert key in self.buckets.get(bucket, {}), f"tagging s3://{bucket}/{key}, which does not exist"
        self.tags[(bucket, key)] = dict(tags)

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
    running: dict[str, QualityTotals] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)  # "one" per single read, "batch" per batch look-up
    fail_lookups: bool = False

    def has_stage(self, process_id: str, sort_key: str) -> bool:
        self.reads.append("one")
        return (process_id, sort_key) in self.items

    def stages_recorded(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        self.reads.append("batch")
        if self.fail_lookups:
            raise MetadataError("reading stage records from the table: ProvisionedThroughputExceededException")
        return {key for key in keys if key in self.items}

    def put_stage(self, item: dict[str, Any]) -> None:
        key = (item["ProcessId"], item["Timestamp"])
        if key in self.items:
            raise StageAlreadyRecorded(item["ProcessId"])
        self.items[key] = dict(item)

    def put_items(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self.items[(item["ProcessId"], item["Timestamp"])] = dict(item)

    def record_quality(self, item: dict[str, Any], pipeline: str, *, passed: bool, score: float,
                       records: int) -> None:
        self.put_stage(item)
        current = self.running.get(pipeline, QualityTotals(0, 0, 0.0, 0))
        self.running[pipeline] = QualityTotals(
            files=current.files + 1, files_passed=current.files_passed + int(passed),
            score_sum=current.score_sum + score, records=current.records + records,
        )

    def totals(self, pipeline: str) -> QualityTotals:
        self.reads.append("totals")
        return self.running.get(pipeline, QualityTotals(0, 0, 0.0, 0))

    def stage(self, stage: str) -> list[dict[str, Any]]:
        return [item for item in self.items.values() if item.get("Stage") == stage]


@dataclass
class FakeEventPublisher:
    """Keeps each event as EventBridge would deliver it: the detail serialised to JSON and back."""

    published: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    calls: int = 0
    # Raw keys whose events the bus refuses entry by entry, as a PutEvents response can.
    refuse: set[str] = field(default_factory=set)

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        error = self.publish_all([(source, detail_type, detail)])[0]
        if error is not None:
            raise error

    def publish_all(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[PublishError | None]:
        self.calls += 1
        refused: list[PublishError | None] = []
        for source, detail_type, detail in events:
            if detail.get("key") in self.refuse:
                refused.append(PublishError(f"{detail_type} not accepted: InternalFailure"))
                continue
            self.published.append((source, detail_type, json.loads(json.dumps(detail, default=str))))
            refused.append(None)
        return refused

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [detail for _, kind, detail in self.published if kind == detail_type]


@dataclass
class FakeMetrics:
    """One observation per judged file, as QualityMetrics.publish_all receives them."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0

    def publish_all(self, observations: list[Observation]) -> None:
        self.requests += 1
        self.calls.extend({"passed": o.passed, "quality_score": o.quality_score, "records": o.records}
                          for o in observations)




# -- the stages on the fakes --------------------------------------------------------------------------------------


@dataclass
class Harness:
    """The three stages built on one set of fakes, as the functions build them on the real adapters."""

    objects: FakeObjectStore = field(default_factory=FakeObjectStore)
    metadata: FakeMetadataStore = field(default_factory=FakeMetadataStore)
    events: FakeEventPublisher = field(default_factory=FakeEventPublisher)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    contracts: FakeContractStore = field(default_factory=FakeContractStore)
    free_text: FakeFreeTextDetector = field(default_factory=FakeFreeTextDetector)
    logger: Logger = field(default_factory=lambda: Logger(service="lakebox-unit-test"))

    def __post_init__(self) -> None:
        self.ingestion = Ingestion(SETTINGS, objects=self.objects, metadata=self.metadata, events=self.events,
                                   logger=self.logger)
        self.validation = Validation(SETTINGS, objects=self.objects, metadata=self.metadata, events=self.events,
                                     contracts=self.contracts, free_text=self.free_text, logger=self.logger)
        self.quality = Quality(SETTINGS, metadata=self.metadata, events=self.events, metrics=self.metrics,
                               logger=self.logger)

    def ingest(self, key: str, body: bytes) -> DataReceived:
        received = self.ingestion.ingest(self.objects.upload(key, body))
        assert received is not None
        return received

    def validate(self, key: str, body: bytes) -> DataValidated:
        validated = self.validation.validate(self.ingest(key, body))
        assert validated is not None
        return validated


# -- sample files -------------------------------------------------------------------------------------------------


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
