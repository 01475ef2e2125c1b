"""Folding stage records into one status row per raw file: what `lakebox status` shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lakebox_layer.records import FileStatus


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

    @property
    def records_invalid(self) -> int | None:
        """Always records_total - records_valid, so valid + invalid == total holds by construction."""
        if self.records_total is None or self.records_valid is None:
            return None
        return self.records_total - self.records_valid

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["status"] = self.status.value
        row["records_invalid"] = self.records_invalid
        return row


def _stage_order(record: dict[str, Any]) -> str:
    # The sort key ends with "#<order>-<stage>"; the later stage wins.
    return str(record["Timestamp"]).rsplit("#", 1)[-1]


def row_of(record: dict[str, Any]) -> FileRow:
    return FileRow(
        key=record["RawKey"],
        status=FileStatus(record["Status"]),
        quality_score=record.get("QualityScore"),
        errors=list(record.get("Errors", [])),
        destination=record.get("Destination"),
        process_id=record["ProcessId"],
        records_total=record.get("RecordsTotal"),
        records_valid=record.get("RecordsValid"),
    )


def rows_by_process(records: Iterable[dict[str, Any]]) -> dict[str, FileRow]:
    """Each process (raw object version) at the furthest stage recorded for it."""
    furthest: dict[str, dict[str, Any]] = {}
    for record in records:
        current = furthest.get(record["ProcessId"])
        if current is None or _stage_order(record) > _stage_order(current):
            furthest[record["ProcessId"]] = record
    return {process_id: row_of(record) for process_id, record in furthest.items()}


def fold_status(records: Iterable[dict[str, Any]]) -> list[FileRow]:
    """One row per raw key: its latest object version, at the furthest stage recorded for it."""
    records = list(records)
    arrival = {record["ProcessId"]: str(record["Timestamp"]).rsplit("#", 1)[0] for record in records}
    latest: dict[str, FileRow] = {}
    for row in rows_by_process(records).values():
        current = latest.get(row.key)
        if current is None or arrival[row.process_id] > arrival[current.process_id]:
            latest[row.key] = row
    return sorted(latest.values(), key=lambda row: row.key)
