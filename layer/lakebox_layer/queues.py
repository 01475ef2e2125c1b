"""Reading the stage queues' messages: an S3 notification for ingestion, an EventBridge event for the others."""

from __future__ import annotations

import json
from typing import Any


def message_json(body: str) -> dict[str, Any]:
    """A queue message's body as a JSON object."""
    value = json.loads(body)
    if not isinstance(value, dict):
        raise ValueError("a stage queue message must be a JSON object")
    return value


def event_detail(body: str) -> dict[str, Any]:
    """The detail of the EventBridge event a rule delivered to a stage queue."""
    detail = message_json(body).get("detail")
    if not isinstance(detail, dict):
        raise ValueError("the queued event has no detail object")
    return detail
