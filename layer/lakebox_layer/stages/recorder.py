"""Stage records, shared by every stage: how one is built, and "write once", which turns a duplicate delivery into
no second record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.metadata import stage_sort_key
from lakebox_layer.exceptions import StageAlreadyRecorded
from lakebox_layer.records import FileStatus, RawObject, Stage


def now() -> str:
    """The current time as stage records and reports carry it (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def stage_record(process_id: str, arrived_at: str, stage: Stage, **fields: Any) -> dict[str, Any]:
    """A stage's record, keyed so that a redelivered event writes the same key."""
    return {
        "ProcessId": process_id,
        "Timestamp": stage_sort_key(arrived_at, stage),
        "Stage": stage.value,
        "RecordedAt": now(),
        **fields,
    }


class StageRecorder:
    """Reads and writes one pipeline's stage records in the metadata table."""

    def __init__(self, metadata: ports.MetadataStore, pipeline: str, logger: Logger) -> None:
        self.metadata = metadata
        self.pipeline = pipeline
        self.logger = logger

    def recorded(self, process_id: str, arrived_at: str, stage: Stage) -> bool:
        """Whether the stage has recorded this file already."""
        return self.metadata.has_stage(process_id, stage_sort_key(arrived_at, stage))

    def file_record(self, raw: RawObject, process_id: str, arrived_at: str, stage: Stage, status: FileStatus,
                    **fields: Any) -> dict[str, Any]:
        """A stage record that carries the file's status (ingestion, validation). Every stage's record carries the
        pipeline and the raw key, so all of them enter the status index; only these decide the status."""
        return stage_record(
            process_id, arrived_at, stage,
            Pipeline=self.pipeline, RawBucket=raw.bucket, RawKey=raw.key, Dataset=raw.dataset,
            Status=status.value, **fields,
        )

    def write_once(self, item: dict[str, Any]) -> bool:
        """Write the record unless it exists; False when a concurrent delivery wrote it first."""
        try:
            self.metadata.put_stage(item)
        except StageAlreadyRecorded:
            self.logger.info("stage already recorded by a concurrent delivery", extra={"stage": item["Stage"]})
            return False
        return True
