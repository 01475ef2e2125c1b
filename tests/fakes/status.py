"""A lake's status records in memory, for the CLI's waits (`wait_for_outcomes`, `ingest --wait`): what a target's
metadata reader answers for one process, and a target that holds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.registry import Stage
from lakebox_layer.stages.recorder import stage_record

ARRIVED = "2026-01-15T10:30:00+00:00"


@dataclass
class StatusLake:
    """Stage records by process id: a file absent from `statuses` has none yet, one `in_progress` only its
    ingestion record, a terminal one its validation record too; `keys` names raw keys (else input/<id>.json);
    `reads` lists the process ids read, in order."""

    statuses: dict[str, FileStatus] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def stage_records(self, process_id: str) -> list[dict[str, Any]]:
        self.reads.append(process_id)
        status = self.statuses.get(process_id)
        if status is None:
            return []
        key = self.keys.get(process_id, f"input/{process_id}.json")
        records = [stage_record(process_id, ARRIVED, Stage.INGESTION, RawKey=key,
                                Status=FileStatus.IN_PROGRESS.value)]
        if status.terminal:
            records.append(stage_record(process_id, ARRIVED, Stage.VALIDATION, RawKey=key, Status=status.value))
        return records

    def process_status_records(self, process_id: str) -> list[dict[str, Any]]:
        return self.stage_records(process_id)

    def file_records(self, pipeline: str) -> list[dict[str, Any]]:
        raise AssertionError("the wait must not read the whole status index")


@dataclass
class ProjectSettings:
    project: str = "lakebox"


@dataclass
class FakeTarget:
    metadata: StatusLake
    settings: ProjectSettings = field(default_factory=ProjectSettings)


def raws(*names: str) -> list[RawObject]:
    return [RawObject("raw", f"input/{name}.json", "e", 1, "v1") for name in names]
