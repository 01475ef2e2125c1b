"""Folding stage records into one status row per raw file: what `lakebox status` shows, and what reconcile, trace
and the data docs start from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lakebox_layer.records import FileStatus
from lakebox_layer.registry import FILE_STAGES, Stage


@dataclass(frozen=True)
class FileRow:
    key: str
    status: FileStatus
    quality_score: float | None
    errors: list[str]
    destination: str | None
    process_id: str
    records_total: int | None = None
    records_valid: int | None = None
    # Every stage that recorded this process, in pipeline order: a status is final only once the stages after it
    # (quality, curation) have recorded too.
    stages: tuple[str, ...] = ()

    @property
    def records_invalid(self) -> int | None:
        """Always records_total - records_valid, so valid + invalid == total holds by construction."""
        if self.records_total is None or self.records_valid is None:
            return None
        return self.records_total - self.records_valid

    def recorded(self, stage: Stage) -> bool:
        """Whether the stage has written its record of this process."""
        return stage.value in self.stages

    def to_json(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which deep-copies every value: `status --json` builds
        # one of these per file.
        return {
            "key": self.key, "status": self.status.value, "quality_score": self.quality_score,
            "errors": list(self.errors), "destination": self.destination, "process_id": self.process_id,
            "records_total": self.records_total, "records_valid": self.records_valid, "stages": list(self.stages),
            "records_invalid": self.records_invalid,
        }


def status_json(row: FileRow, held: Mapping[str, str]) -> dict[str, Any]:
    """A row of `lakebox status --json`: the row, and why the file waits when the stage it waits for is held
    (`held`, by process id; null otherwise)."""
    return {**row.to_json(), "held": held.get(row.process_id)}


def _stage_order(record: dict[str, Any]) -> str:
    # The sort key ends with "#<order>-<stage>"; the later stage wins.
    return str(record["Timestamp"]).rsplit("#", 1)[-1]


def stage_of(record: dict[str, Any]) -> str:
    """The stage that wrote a record, read from its sort key."""
    return _stage_order(record).partition("-")[2]


def arrival_of(record: dict[str, Any]) -> str:
    """When the raw object version of a record arrived: the sort key before its stage."""
    return str(record["Timestamp"]).rsplit("#", 1)[0]


def row_of(record: dict[str, Any], stages: tuple[str, ...] = ()) -> FileRow:
    """The row one record gives; a record without a status (quality, curation) says the file is in progress."""
    return FileRow(
        key=record["RawKey"],
        status=FileStatus(record.get("Status", FileStatus.IN_PROGRESS)),
        quality_score=record.get("QualityScore"),
        errors=list(record.get("Errors", [])),
        destination=record.get("Destination"),
        process_id=record["ProcessId"],
        records_total=record.get("RecordsTotal"),
        records_valid=record.get("RecordsValid"),
        stages=stages,
    )


def _furthest(records: list[dict[str, Any]]) -> dict[str, Any]:
    return max(records, key=lambda record: (_stage_order(record), str(record["Timestamp"])))


def _process_row(records: list[dict[str, Any]]) -> FileRow:
    """The status of the furthest record that has one; quality and curation records only add to the stages."""
    with_status = [record for record in records if "Status" in record]
    furthest = _furthest(with_status or records)
    orders = sorted({_stage_order(record) for record in records})
    return row_of(furthest, tuple(order.partition("-")[2] for order in orders))


def rows_by_process(records: Iterable[dict[str, Any]]) -> dict[str, FileRow]:
    """Each process (raw object version) at the furthest stage that recorded a status for it, with every stage
    recorded for it."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["ProcessId"], []).append(record)
    return {process_id: _process_row(group) for process_id, group in grouped.items()}


def latest_versions(records: Iterable[dict[str, Any]]) -> set[str]:
    """The process ids of each raw key's latest object version: the latest arrival, and, because S3's Last-Modified
    (which the arrival is) has whole seconds, between versions that arrived within one second the one ingested
    later (its first record written later)."""
    order: dict[str, tuple[str, str]] = {}
    keys: dict[str, str] = {}
    for record in records:
        pid, recorded = str(record["ProcessId"]), str(record.get("RecordedAt", ""))
        arrival, first = order.get(pid, (arrival_of(record), recorded))
        order[pid] = (arrival, min(first, recorded))
        keys[pid] = str(record["RawKey"])
    latest: dict[str, str] = {}
    for pid, key in keys.items():
        if key not in latest or order[pid] > order[latest[key]]:
            latest[key] = pid
    return set(latest.values())


def fold_status(records: Iterable[dict[str, Any]]) -> list[FileRow]:
    """One row per raw key: its latest object version, at the furthest stage recorded for it."""
    records = list(records)
    latest = latest_versions(records)
    rows = [row for pid, row in rows_by_process(records).items() if pid in latest]
    return sorted(rows, key=lambda row: row.key)


def waits_for(row: FileRow | None) -> Stage | None:
    """The stage a raw file waits for, or None when it is finished: ingestion when nothing recorded it, the first
    stage after ingestion that has not recorded it while it is in progress, else the first such stage that a file
    of its status reaches."""
    first, *after = FILE_STAGES
    if row is None:
        return first.stage
    reaches = (spec for spec in after if not row.status.terminal or spec.takes(row.status))
    return next((spec.stage for spec in reaches if not row.recorded(spec.stage)), None)


def missing(row: FileRow | None) -> str | None:
    """What a raw file still waits for, in the words of the stage registry, or None when it is finished: nothing
    recorded ("not ingested"), its status while it is in progress, or the first stage after the one that gave its
    status that a file of that status reaches and that has not recorded it ("awaiting quality")."""
    if row is not None and not row.status.terminal:
        return row.status.value
    stage = waits_for(row)
    return None if stage is None else stage.spec.awaiting


def awaiting(row: FileRow | None) -> str:
    """What a file without a terminal status waits for: nothing recorded ("not ingested"), or its status and the
    first stage that has not recorded it ("in_progress, awaiting validation")."""
    if row is None:
        return str(FILE_STAGES[0].awaiting)
    # A file with a status was ingested.
    waiting = next((spec.awaiting for spec in FILE_STAGES[1:] if not row.recorded(spec.stage)), None)
    return f"{row.status.value}, {waiting}" if waiting else row.status.value
