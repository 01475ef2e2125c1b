"""EventBridge: publishing the pipeline's events to its custom bus."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import PublishError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventPublisher:
    """Puts one event at a time on the pipeline's bus."""

    def __init__(self, events: EventBridgeClient, bus: str) -> None:
        self._events = events
        self.bus = bus

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        """Put one event; a refused call or a refused entry raises :class:`PublishError`."""
        try:
            response = self._events.put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail, default=str),
                        "EventBusName": self.bus,
                    }
                ]
            )
        except ClientError as error:
            raise PublishError(f"{detail_type} not sent to {self.bus}: {error_code(error)}") from error
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise PublishError(
                f"{detail_type} not accepted by {self.bus}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
