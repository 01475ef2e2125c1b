"""Ingestion: look at each new raw object, decide its format and announce it with "Data Received"."""

from __future__ import annotations

from datetime import UTC

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.adapters.metadata import MetadataStore
from lakebox_layer.adapters.objects import ObjectPeek, ObjectStore
from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import IngestionFailed, RawObjectMissing
from lakebox_layer.formats import SNIFF_BYTES, detect_format
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.records import DataReceived, FileStatus, RawObject
from lakebox_layer.registry import DATA_RECEIVED, Stage
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batch import Announcement, Outcome, announce, single
from lakebox_layer.stages.recorder import StageRecorder, now

# A created object as a notification tells it: the object, the event's time, and whether it is a redrive.
Created = tuple[RawObject, str | None, bool]


def _arrival(peek: ObjectPeek) -> str:
    """When the object version arrived: its Last-Modified, in UTC."""
    return peek.head.last_modified.astimezone(UTC).isoformat()


class Ingestion:
    """The ingestion stage: S3 notifications in, one "Data Received" event per raw object out."""

    def __init__(self, settings: Settings, *, objects: ports.ObjectStore, metadata: ports.MetadataStore,
                 events: ports.EventPublisher, logger: Logger) -> None:
        self.objects = objects
        self.events = events
        self.logger = logger
        self.recorder = StageRecorder(metadata, settings.project, logger)

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, clients: AwsClients | None = None) -> Ingestion:
        """The stage on the AWS clients the settings name; a function builds one per cold start."""
        clients = clients or AwsClients(settings)
        return cls(
            settings,
            objects=ObjectStore(clients.s3),
            metadata=MetadataStore(clients.dynamodb, settings.metadata_table),
            events=EventPublisher(clients.events, settings.event_bus),
            logger=logger,
        )

    def ingest(self, raw: RawObject, event_time: str | None = None, *, redrive: bool = False) -> DataReceived | None:
        """Look at a new raw object, decide its format and announce it; None for a duplicate delivery. A redrive
        announces again a file that was ingested but never validated (its event was lost)."""
        return single(self._ingest_all([(raw, event_time, redrive)])[0])

    def _ingest_all(self, created: list[Created]) -> list[Outcome[DataReceived]]:
        """Peek at every object (one GET each: its arrival time and first bytes), ask once which of them are
        already ingested, then announce the rest together."""
        peeks: dict[int, ObjectPeek | Exception] = {}
        for index, (raw, _, _) in enumerate(created):
            try:
                peeks[index] = self.objects.peek(raw, SNIFF_BYTES)
            except Exception as error:  # a missing object is recorded as failed; anything else fails the file
                peeks[index] = error
        self.recorder.look_up(Stage.INGESTION, [(created[index][0].process_id, _arrival(peek))
                                                for index, peek in peeks.items() if isinstance(peek, ObjectPeek)])
        return announce(self.events, [(item, peeks[index]) for index, item in enumerate(created)], self._look,
                        key=lambda looked: (looked[0][0].process_id, looked[0][2]))

    def _look(self, looked: tuple[Created, ObjectPeek | Exception]) -> Announcement[DataReceived] | None:
        """A raw object looked at: what remains is its "Data Received", then its ingestion record."""
        (raw, event_time, redrive), peek = looked
        process_id = raw.process_id
        self.logger.set_correlation_id(process_id)
        if isinstance(peek, RawObjectMissing):
            arrived_at = event_time or now()
            reason = f"raw object deleted before ingestion: {peek}"
            self.logger.warning(reason, extra={"key": raw.key})
            self.recorder.write_once(self.recorder.file_record(
                raw, process_id, arrived_at, Stage.INGESTION, FileStatus.FAILED, Errors=[reason]))
            return None
        if isinstance(peek, Exception):
            raise peek
        arrived_at = _arrival(peek)
        if self._already_ingested(process_id, arrived_at, redrive=redrive):
            self.logger.info("duplicate delivery: ingestion already recorded", extra={"key": raw.key})
            return None
        detection = detect_format(raw.key, peek.start, raw.size)
        # A file under a folder that cannot be a dataset (a table) is refused here, where the key is known; the
        # reason travels with the event and validation quarantines the file like one of unsupported format.
        refused_dataset = dataset_name_problem(raw.dataset)
        if refused_dataset is not None:
            self.logger.warning(refused_dataset, extra={"key": raw.key})
        received = DataReceived(
            process_id=process_id, bucket=raw.bucket, key=raw.key, etag=raw.etag, size=raw.size,
            dataset=raw.dataset, format=detection.format, arrived_at=arrived_at, version_id=raw.version_id,
            reason=refused_dataset or detection.reason, compression=detection.compression,
        )
        record = self.recorder.file_record(
            raw, process_id, arrived_at, Stage.INGESTION, FileStatus.IN_PROGRESS,
            Format=detection.format.value, Compression=detection.compression, Size=raw.size, ETag=raw.etag,
            VersionId=raw.version_id,
        )

        def finish() -> DataReceived:
            # Written only once "Data Received" is on the bus: the record is the stage's last step.
            self.logger.set_correlation_id(process_id)
            self.recorder.write_once(record)
            self.logger.info("ingested", extra={"key": raw.key, "format": detection.format.value})
            return received

        return Announcement(DATA_RECEIVED, received.to_detail(), finish)

    def _already_ingested(self, process_id: str, arrived_at: str, *, redrive: bool) -> bool:
        """Whether this delivery is a duplicate. A redrive of a file whose validation never happened is not: its
        "Data Received" event was lost, so ingestion announces the file again."""
        if not self.recorder.recorded(process_id, arrived_at, Stage.INGESTION):
            return False
        return not redrive or self.recorder.recorded(process_id, arrived_at, Stage.VALIDATION)

    def ingest_all(self, created: list[ObjectCreated]) -> list[str]:
        """Ingest every object of a notification; if any fails, raise after trying all of them."""
        return single(self.ingest_batch([created])[0]) or []

    def ingest_batch(self, notifications: list[list[ObjectCreated]]) -> list[Outcome[list[str]]]:
        """Ingest the objects of a batch of notifications: each looked at in turn, then every "Data Received"
        published in as few calls as the bus allows, then the record of each object whose event was accepted. Per
        notification: the process ids it announced, or :class:`IngestionFailed` naming its objects that failed
        (the others are done)."""
        announced = self._ingest_all([(item.raw, item.event_time, item.redrive)
                                      for created in notifications for item in created])
        outcomes = iter(announced)
        results: list[Outcome[list[str]]] = []
        for created in notifications:
            ingested: list[str] = []
            failed: list[str] = []
            for item, outcome in zip(created, outcomes, strict=False):
                if isinstance(outcome, BaseException):
                    self.logger.error("ingestion failed", exc_info=outcome, extra={"key": item.raw.key})
                    failed.append(item.raw.key)
                elif outcome is not None:
                    ingested.append(outcome.process_id)
            results.append(IngestionFailed(f"ingestion failed for {len(failed)} of {len(created)} objects: "
                                           f"{failed}") if failed else ingested)
        return results
