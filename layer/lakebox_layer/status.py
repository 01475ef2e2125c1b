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

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["status"] = self.status.value
        return row


def _stage_order(record: dict[str, Any]) -> str:
    # The sort key ends with "#<order>-<stage>"; the later stage wins.
    return str(record["Timestamp"]).rsplit("#", 1)[-1]


def fold_status(records: Iterable[dict[str, Any]]) -> list[FileRow]:
    """One row per raw key: its latest object version, at the furthest stage recorded for it."""
    furthest: dict[str, dict[str, Any]] = {}
    for record in records:
        current = furthest.get(record["ProcessId"])
        if current is None or _stage_order(record) > _stage_order(current):
            furthest[record["ProcessId"]] = record
    latest: dict[str, dict[str, Any]] = {}
    for record in furthest.values():
        current = latest.get(record["RawKey"])
        if current is None or str(record["Timestamp"]) > str(current["Timestamp"]):
            latest[record["RawKey"]] = record
    rows = [
        FileRow(
            key=record["RawKey"],
            status=FileStatus(record["Status"]),
            quality_score=record.get("QualityScore"),
            errors=list(record.get("Errors", [])),
            destination=record.get("Destination"),
            process_id=record["ProcessId"],
            records_total=record.get("RecordsTotal"),
            records_valid=record.get("RecordsValid"),
        )
        for record in latest.values()
    ]
    return sorted(rows, key=lambda row: row.key)
