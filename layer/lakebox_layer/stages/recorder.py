"""Stage records, shared by every stage: how one is built, and "write once", which turns a duplicate delivery into
no second record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.metadata import stage_sort_key
from lakebox_layer.exceptions import MetadataError, StageAlreadyRecorded
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.registry import Stage


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
        # What one batch's read told: (process id, sort key) -> recorded. Only for the batch it was read for.
        self._known: dict[tuple[str, str], bool] = {}

    def look_up(self, stage: Stage, files: list[tuple[str, str]]) -> None:
        """Read in one go whether the stage has recorded each of a batch's files (process id, arrival time), so
        that `recorded` answers them without a read each; what was known of an earlier batch is forgotten."""
        keys = [(process_id, stage_sort_key(arrived_at, stage)) for process_id, arrived_at in files]
        self._known = {}
        try:
            found = self.metadata.stages_recorded(keys) if keys else set()
        except MetadataError as error:  # each file then reads its own, and fails alone if that fails too
            self.logger.warning("batch look-up of stage records failed", extra={"error": str(error)})
            return
        self._known = {key: key in found for key in keys}

    def recorded(self, process_id: str, arrived_at: str, stage: Stage) -> bool:
        """Whether the stage has recorded this file already: from the batch's look-up when it covered the file,
        else a read of its own. A record seen or written in this batch stays seen; one not seen at the look-up
        may have been written since by a concurrent delivery, which the record's conditional write still stops."""
        key = (process_id, stage_sort_key(arrived_at, stage))
        known = self._known.get(key)
        if known is not None:
            return known
        return self.metadata.has_stage(*key)

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
        key = (item["ProcessId"], item["Timestamp"])
        try:
            self.metadata.put_stage(item)
        except StageAlreadyRecorded:
            self.logger.info("stage already recorded by a concurrent delivery", extra={"stage": item["Stage"]})
            self._known[key] = True
            return False
        self._known[key] = True  # a copy of this file later in the batch is a duplicate
        return True
