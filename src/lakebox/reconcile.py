"""Accounting for every raw file: `lakebox reconcile` lists what is unfinished and what has no raw object;
`lakebox redrive` resubmits the former and drains the dead-letter queue. Resubmitting is always safe: every stage is
idempotent, so a file that was in fact finished stays finished.

A file is finished once it has a terminal status and every stage after validation that it goes through has recorded
it: quality for every file, curation for a processed one."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote_plus

from lakebox.status import FileRow, arrival_of, rows_by_process, stage_of
from lakebox.target import Target
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.notifications import REDRIVE_MARKER
from lakebox_layer.records import (
    DETAIL_DATA_VALIDATED,
    EVENT_SOURCE_VALIDATION,
    INPUT_PREFIX,
    DataValidated,
    FileFormat,
    FileStatus,
    RawObject,
    Stage,
    dataset_of,
)

# How many dead-letter messages one redrive takes at most: bounded, and run it again for more.
MAX_DEAD_LETTERS = 10_000

# What an unfinished file still waits for, besides its own status while it is in progress.
NOT_INGESTED = "not ingested"
AWAITING_VALIDATION = "awaiting validation"
AWAITING_QUALITY = "awaiting quality"
AWAITING_CURATION = "awaiting curation"


@dataclass(frozen=True)
class Unfinished:
    key: str
    version_id: str | None
    process_id: str
    # What is missing: "not ingested" (no stage recorded anything), "in_progress" (no terminal status yet),
    # "awaiting validation", "awaiting quality" or "awaiting curation".
    status: str


@dataclass(frozen=True)
class Orphan:
    key: str
    process_id: str
    status: str


@dataclass
class Reconciliation:
    raw_objects: int = 0
    unfinished: list[Unfinished] = field(default_factory=list)
    orphaned: list[Orphan] = field(default_factory=list)
    raw: dict[str, RawObject] = field(default_factory=dict, repr=False)
    # The "Data Validated" event of each unfinished file that validation recorded, rebuilt from its record.
    validated: dict[str, DataValidated] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"raw_objects": self.raw_objects, "unfinished": [asdict(u) for u in self.unfinished],
                "orphaned": [asdict(o) for o in self.orphaned]}


def raw_versions(target: Target) -> list[RawObject]:
    """Every version of every raw object under input/ (delete markers are not objects)."""
    bucket = target.settings.raw_bucket
    pages = target.clients.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=INPUT_PREFIX)
    return [
        RawObject(bucket, v["Key"], v["ETag"].strip('"'), v["Size"], v.get("VersionId") or None)
        for page in pages for v in page.get("Versions", [])
    ]


def missing(row: FileRow | None) -> str | None:
    """What a raw file still waits for, or None when it is finished."""
    if row is None:
        return NOT_INGESTED
    if not row.status.terminal:
        return row.status.value
    if not row.recorded(Stage.VALIDATION):
        return AWAITING_VALIDATION
    if not row.recorded(Stage.QUALITY):
        return AWAITING_QUALITY
    if row.status is FileStatus.PROCESSED and not row.recorded(Stage.CURATION):
        return AWAITING_CURATION
    return None


def validated_event(record: dict[str, Any]) -> DataValidated:
    """The "Data Validated" event validation published, rebuilt from the validation record it wrote."""
    key = record["RawKey"]
    output_format = record.get("OutputFormat")
    return DataValidated(
        process_id=record["ProcessId"],
        key=key,
        dataset=record.get("Dataset") or dataset_of(key),
        arrived_at=arrival_of(record),
        status=FileStatus(record["Status"]),
        quality_score=float(record.get("QualityScore", 0.0)),
        records_total=int(record.get("RecordsTotal", 0)),
        records_valid=int(record.get("RecordsValid", 0)),
        errors=list(record.get("Errors", [])),
        destination=record.get("Destination"),
        format=FileFormat(output_format) if output_format else None,
        compression=record.get("OutputCompression"),
        version_id=record.get("RawVersionId"),
        contract_version=record.get("ContractVersion"),
    )


def reconcile(target: Target) -> Reconciliation:
    """Raw object versions that are not finished, and outcomes whose raw object version is gone."""
    records = target.metadata.file_records(target.settings.project)
    rows = rows_by_process(records)
    validations: dict[str, dict[str, Any]] = {}
    for record in records:
        if stage_of(record) == Stage.VALIDATION.value:
            current = validations.get(record["ProcessId"])
            if current is None or str(record["Timestamp"]) > str(current["Timestamp"]):
                validations[record["ProcessId"]] = record
    found = Reconciliation()
    for raw in raw_versions(target):
        found.raw_objects += 1
        found.raw[raw.process_id] = raw
        row = rows.get(raw.process_id)
        waiting = missing(row)
        if waiting is None:
            continue
        found.unfinished.append(Unfinished(raw.key, raw.version_id, raw.process_id, waiting))
        validation = validations.get(raw.process_id)
        if validation is not None and waiting in (AWAITING_QUALITY, AWAITING_CURATION):
            found.validated[raw.process_id] = validated_event(validation)
    found.orphaned = [Orphan(row.key, pid, row.status.value) for pid, row in rows.items() if pid not in found.raw]
    found.unfinished.sort(key=lambda u: u.key)
    found.orphaned.sort(key=lambda o: o.key)
    return found


def s3_event(raw: RawObject, region: str) -> dict[str, Any]:
    """The S3 notification S3 would have sent for this object version."""
    return {
        "Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region, "eventName": "ObjectCreated:Put",
            "eventTime": "1970-01-01T00:00:00.000Z",
            "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": raw.bucket, "arn": f"arn:aws:s3:::{raw.bucket}"},
                   "object": {"key": quote_plus(raw.key, safe="/"), "size": raw.size, "eTag": raw.etag,
                              **({"versionId": raw.version_id} if raw.version_id else {})}},
        }],
    }


@dataclass
class Redrive:
    # Every unfinished raw file put back into the pipeline, by key ...
    resubmitted: list[str] = field(default_factory=list)
    # ... of which these had their "Data Validated" event put on the bus again (the rest went to ingestion).
    reannounced: list[str] = field(default_factory=list)
    dead_letters_redriven: int = 0
    dead_letters_left: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Resubmitter:
    """Puts work back where the pipeline takes it: S3 events on the ingestion queue, pipeline events on the bus."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.sqs = target.session.client("sqs", region_name=target.region, endpoint_url=target.endpoint)
        self.ingestion_queue = self.sqs.get_queue_url(
            QueueName=target.names.stage_queue(Stage.INGESTION.value))["QueueUrl"]
        self.bus = EventPublisher(target.clients.events, target.names.event_bus)

    def s3_event(self, event: dict[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.ingestion_queue, MessageBody=json.dumps({**event, REDRIVE_MARKER: True}))

    def validated(self, validated: DataValidated) -> None:
        """Announce a validated file again: quality and curation take it from there, and record it only once."""
        self.bus.publish(EVENT_SOURCE_VALIDATION, DETAIL_DATA_VALIDATED, validated.to_detail())

    def dead_letter(self, body: Any) -> bool:
        """Send a dead letter back; anything lakebox did not write stays in the queue for a person to look at."""
        if not isinstance(body, dict):
            return False
        if isinstance(body.get("Records"), list) and all(isinstance(r, dict) and "s3" in r for r in body["Records"]):
            self.s3_event(body)
            return True
        if {"source", "detail-type", "detail"} <= body.keys() and str(body["source"]).startswith("datalake."):
            self.target.clients.events.put_events(Entries=[{
                "Source": body["source"], "DetailType": body["detail-type"], "Detail": json.dumps(body["detail"]),
                "EventBusName": self.target.names.event_bus}])
            return True
        return False


def redrive(target: Target) -> Redrive:
    """Resubmit every unfinished raw object, then drain the dead-letter queue. A file validation recorded gets its
    "Data Validated" event again (ingestion and validation would take it for a duplicate); any other file goes back
    to ingestion as the S3 event of its object version."""
    done = Redrive()
    resubmit = _Resubmitter(target)
    found = reconcile(target)
    for unfinished in found.unfinished:
        validated = found.validated.get(unfinished.process_id)
        if validated is not None:
            resubmit.validated(validated)
            done.reannounced.append(unfinished.key)
        else:
            resubmit.s3_event(s3_event(found.raw[unfinished.process_id], target.region))
        done.resubmitted.append(unfinished.key)
    _drain_dead_letters(resubmit, done)
    return done


def _drain_dead_letters(resubmit: _Resubmitter, done: Redrive) -> None:
    sqs = resubmit.sqs
    url = sqs.get_queue_url(QueueName=resubmit.target.names.dead_letter_queue)["QueueUrl"]
    seen = 0
    while seen < MAX_DEAD_LETTERS:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        for message in messages:
            seen += 1
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = None
            if resubmit.dead_letter(body):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                done.dead_letters_redriven += 1
            else:
                done.dead_letters_left.append(message["MessageId"])
