"""Reading S3 notifications: every record, keys decoded (S3 sends them URL-encoded: `a+b.json`, `%2B`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

from lakebox_layer.records import RawObject

# Set by `lakebox redrive` on the S3 events it resubmits.
REDRIVE_MARKER = "lakebox_redrive"


@dataclass(frozen=True)
class ObjectCreated:
    raw: RawObject
    event_time: str
    redrive: bool = False


def objects_created(event: dict[str, Any]) -> list[ObjectCreated]:
    """The raw objects an S3 notification names, in order; a test event without records gives none."""
    created: list[ObjectCreated] = []
    if "Records" not in event:
        return created
    for record in S3Event(event).records:
        obj = record.s3.get_object
        raw = RawObject(
            bucket=record.s3.bucket.name,
            key=unquote_plus(obj.key),
            etag=obj.etag.strip('"'),
            size=int(obj.get("size") or 0),
            version_id=obj.version_id or None,
        )
        created.append(ObjectCreated(raw, record.event_time, bool(event.get(REDRIVE_MARKER))))
    return created


def created_files(created: list[ObjectCreated]) -> list[tuple[str, str]]:
    """The raw key and process id of each object a notification names (what its failure's log line names)."""
    return [(item.raw.key, item.raw.process_id) for item in created]
