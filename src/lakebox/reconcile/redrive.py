"""`lakebox redrive`: every unfinished raw file put back where the pipeline takes it (its S3 event on the ingestion
queue, or, once validated, its "Data Validated" event on the bus), then the dead-letter queue drained. Safe to repeat:
every stage is idempotent, so a file that was in fact finished stays finished."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote_plus

from lakebox.lake.target import Target
from lakebox.reconcile.accounting import reconcile
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.notifications import REDRIVE_MARKER
from lakebox_layer.records import DataValidated, RawObject
from lakebox_layer.registry import DATA_VALIDATED, Stage

# How many dead-letter messages one redrive takes at most: bounded, and run it again for more.
MAX_DEAD_LETTERS = 10_000


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
        self.bus.publish(DATA_VALIDATED.source, DATA_VALIDATED.detail_type, validated.to_detail())

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
