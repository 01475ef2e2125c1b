"""EventBridge: publishing the pipeline's events to its custom bus."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import PublishError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef


# PutEvents takes at most ten entries (and 256 KiB) a call.
MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024

Event = tuple[str, str, dict[str, Any]]  # source, detail type, detail


class EventPublisher:
    """Puts the pipeline's events on its bus, one at a time or many per call."""

    def __init__(self, events: EventBridgeClient, bus: str) -> None:
        self._events = events
        self.bus = bus

    def _entry(self, source: str, detail_type: str, detail: dict[str, Any]) -> PutEventsRequestEntryTypeDef:
        return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail, default=str),
                "EventBusName": self.bus}

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        """Put one event; a refused call or a refused entry raises :class:`PublishError`."""
        error = self.publish_all([(source, detail_type, detail)])[0]
        if error is not None:
            raise error

    def publish_all(self, events: list[Event]) -> list[PublishError | None]:
        """Put many events in as few calls as PutEvents allows; for each event, None when the bus accepted it, else
        the :class:`PublishError` that says why not (a refused call refuses each of its entries)."""
        entries = [self._entry(*event) for event in events]
        refused: list[PublishError | None] = []
        for chunk in _chunks(entries):
            refused.extend(self._put(chunk))
        return refused

    def _put(self, entries: list[PutEventsRequestEntryTypeDef]) -> list[PublishError | None]:
        try:
            response = self._events.put_events(Entries=entries)
        except ClientError as error:
            refused = [PublishError(f"{e['DetailType']} not sent to {self.bus}: {error_code(error)}") for e in entries]
            for publish_error in refused:
                publish_error.__cause__ = error
            return list(refused)
        results = response.get("Entries", [])
        if not response.get("FailedEntryCount") and len(results) == len(entries):
            return [None] * len(entries)
        # The response's entries answer the request's, in order; one without an EventId was refused.
        return [
            None if index < len(results) and results[index].get("EventId") and not results[index].get("ErrorCode")
            else PublishError(f"{entry['DetailType']} not accepted by {self.bus}: "
                              f"{_field(results, index, 'ErrorCode')} {_field(results, index, 'ErrorMessage')}")
            for index, entry in enumerate(entries)
        ]


def _field(results: list[Any], index: int, name: str) -> str | None:
    return results[index].get(name) if index < len(results) else "no answer"


def _chunks(entries: list[PutEventsRequestEntryTypeDef]) -> list[list[PutEventsRequestEntryTypeDef]]:
    """Runs of at most ten entries and 256 KiB (an entry's size counted as its detail's)."""
    chunks: list[list[PutEventsRequestEntryTypeDef]] = []
    size = 0
    for entry in entries:
        entry_size = len(entry["Detail"].encode()) + len(entry["Source"]) + len(entry["DetailType"])
        if not chunks or len(chunks[-1]) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks
