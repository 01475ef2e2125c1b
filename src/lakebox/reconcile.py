"""Accounting for every raw file: `lakebox reconcile` lists what has no terminal outcome and what has no raw object;
`lakebox redrive` resubmits the former and drains the dead-letter queue. Resubmitting is always safe: every stage is
idempotent, so a file that was in fact finished stays finished."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote_plus

from lakebox.target import Target
from lakebox_layer.notifications import REDRIVE_MARKER
from lakebox_layer.records import INPUT_PREFIX, RawObject, Stage
from lakebox_layer.status import rows_by_process

# How many dead-letter messages one redrive takes at most: bounded, and run it again for more.
MAX_DEAD_LETTERS = 10_000


@dataclass(frozen=True)
class Unfinished:
    key: str
    version_id: str | None
    process_id: str
    status: str  # in_progress, or "not ingested" when no stage recorded anything


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


def reconcile(target: Target) -> Reconciliation:
    """Raw object versions without a terminal outcome, and outcomes whose raw object version is gone."""
    rows = rows_by_process(target.metadata.file_records(target.settings.project))
    found = Reconciliation()
    for raw in raw_versions(target):
        found.raw_objects += 1
        found.raw[raw.process_id] = raw
        row = rows.get(raw.process_id)
        if row is None or not row.status.terminal:
            status = row.status.value if row else "not ingested"
            found.unfinished.append(Unfinished(raw.key, raw.version_id, raw.process_id, status))
    found.orphaned = [Orphan(row.key, pid, row.status.value) for pid, row in rows.items() if pid not in found.raw]
    found.unfinished.sort(key=lambda u: u.key)
    found.orphaned.sort(key=lambda o: o.key)
    return found


def s3_event(raw: RawObject, region: str) -> dict[str, Any]:
    """The S3 notification S3 would have sent for this object version, marked as a redrive."""
    return {
        REDRIVE_MARKER: True,
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
    resubmitted: list[str] = field(default_factory=list)
    dead_letters_redriven: int = 0
    dead_letters_left: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def redrive(target: Target) -> Redrive:
    """Resubmit every unfinished raw object to ingestion, then drain the dead-letter queue."""
    done = Redrive()
    lam = target.session.client("lambda", region_name=target.region, endpoint_url=target.endpoint)
    ingestion = target.names.function(Stage.INGESTION.value)
    found = reconcile(target)
    for unfinished in found.unfinished:
        event = s3_event(found.raw[unfinished.process_id], target.region)
        lam.invoke(FunctionName=ingestion, InvocationType="Event", Payload=json.dumps(event).encode())
        done.resubmitted.append(unfinished.key)
    _drain_dead_letters(target, lam, done)
    return done


def _drain_dead_letters(target: Target, lam: Any, done: Redrive) -> None:
    sqs = target.session.client("sqs", region_name=target.region, endpoint_url=target.endpoint)
    events = target.clients.events
    url = sqs.get_queue_url(QueueName=target.names.dead_letter_queue)["QueueUrl"]
    seen = 0
    while seen < MAX_DEAD_LETTERS:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return
        for message in messages:
            seen += 1
            if _resubmit(json.loads(message["Body"]), lam, events, target):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                done.dead_letters_redriven += 1
            else:
                done.dead_letters_left.append(message["MessageId"])


def _resubmit(body: Any, lam: Any, events: Any, target: Target) -> bool:
    """Send a dead letter back where it failed: a Lambda failure record to its function, an undelivered event to
    the bus. Anything else stays in the queue for a person to look at."""
    if isinstance(body, dict) and "requestContext" in body and "requestPayload" in body:
        function = str(body["requestContext"].get("functionArn", "")).split(":function:")[-1].split(":")[0]
        if not function.startswith(f"{target.project}-"):
            return False
        payload = body["requestPayload"]
        if isinstance(payload, dict) and "Records" in payload:
            payload = {**payload, REDRIVE_MARKER: True}
        lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode())
        return True
    if isinstance(body, dict) and {"source", "detail-type", "detail"} <= body.keys():
        events.put_events(Entries=[{"Source": body["source"], "DetailType": body["detail-type"],
                                    "Detail": json.dumps(body["detail"]), "EventBusName": target.names.event_bus}])
        return True
    return False
