"""Accounting for every raw file: `lakebox reconcile` lists the raw object versions that are not finished and the
outcomes whose raw object is gone (`lakebox redrive`, in :mod:`lakebox.reconcile.redrive`, resubmits the former).

A file is finished once it has a terminal status and every stage after validation that it goes through has recorded
it: quality for every file, curation for a processed one."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lakebox.health.model import CircuitReader, held_by
from lakebox.lake.target import Target
from lakebox_layer.records import INPUT_PREFIX, DataValidated, FileFormat, FileStatus, RawObject, dataset_of
from lakebox_layer.registry import Stage
from lakebox_layer.status import arrival_of, missing, rows_by_process, stage_of, waits_for


@dataclass(frozen=True)
class Unfinished:
    key: str
    version_id: str | None
    process_id: str
    # What is missing: "not ingested" (no stage recorded anything), "in_progress" (no terminal status yet),
    # "awaiting validation", "awaiting quality" or "awaiting curation".
    status: str
    # Why it waits when the stage it waits for is held: "curation paused since 10:02 UTC, glue failing".
    held: str | None = None


@dataclass(frozen=True)
class Orphan:
    key: str
    process_id: str
    status: str


@dataclass
class Reconciliation:
    raw_objects: int = 0
    unfinished: list[Unfinished] = field(default_factory=list)
    orphaned: list[Orphan] = field(default_factory=list)
    raw: dict[str, RawObject] = field(default_factory=dict, repr=False)
    # The "Data Validated" event of each unfinished file that validation recorded, rebuilt from its record.
    validated: dict[str, DataValidated] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"raw_objects": self.raw_objects, "unfinished": [asdict(u) for u in self.unfinished],
                "orphaned": [asdict(o) for o in self.orphaned]}


def raw_versions(target: Target) -> list[RawObject]:
    """Every version of every raw object under input/ (delete markers are not objects)."""
    bucket = target.settings.raw_bucket
    pages = target.clients.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=INPUT_PREFIX)
    return [
        RawObject(bucket, v["Key"], v["ETag"].strip('"'), v["Size"], v.get("VersionId") or None)
        for page in pages for v in page.get("Versions", [])
    ]


def validated_event(record: dict[str, Any]) -> DataValidated:
    """The "Data Validated" event validation published, rebuilt from the validation record it wrote."""
    key = record["RawKey"]
    output_format = record.get("OutputFormat")
    return DataValidated(
        process_id=record["ProcessId"],
        key=key,
        dataset=record.get("Dataset") or dataset_of(key),
        arrived_at=arrival_of(record),
        status=FileStatus(record["Status"]),
        quality_score=float(record.get("QualityScore", 0.0)),
        records_total=int(record.get("RecordsTotal", 0)),
        records_valid=int(record.get("RecordsValid", 0)),
        errors=list(record.get("Errors", [])),
        destination=record.get("Destination"),
        format=FileFormat(output_format) if output_format else None,
        compression=record.get("OutputCompression"),
        version_id=record.get("RawVersionId"),
        contract_version=record.get("ContractVersion"),
        # What curation protects beyond the contract: a redriven file is protected as the first delivery was.
        pii=dict(record.get("PiiColumns") or {}),
        undeclared_pii=list(record.get("UndeclaredPii") or []),
    )


def reconcile(target: Target, circuits: CircuitReader | None = None, now: float | None = None) -> Reconciliation:
    """Raw object versions that are not finished, and outcomes whose raw object version is gone; with `circuits`,
    each unfinished file that waits for a held stage says why (one circuit read per stage waited for)."""
    records = target.metadata.file_records(target.settings.project)
    rows = rows_by_process(records)
    validations: dict[str, dict[str, Any]] = {}
    for record in records:
        if stage_of(record) == Stage.VALIDATION.value:
            current = validations.get(record["ProcessId"])
            if current is None or str(record["Timestamp"]) > str(current["Timestamp"]):
                validations[record["ProcessId"]] = record
    found = Reconciliation()
    stages: dict[str, Stage | None] = {}
    for raw in raw_versions(target):
        found.raw_objects += 1
        found.raw[raw.process_id] = raw
        row = rows.get(raw.process_id)
        waiting = missing(row)
        if waiting is None:
            continue
        found.unfinished.append(Unfinished(raw.key, raw.version_id, raw.process_id, waiting))
        stages[raw.process_id] = waits_for(row)
        validation = validations.get(raw.process_id)
        # Validation recorded it: what it awaits comes after validation, and takes its "Data Validated" again.
        if validation is not None:
            found.validated[raw.process_id] = validated_event(validation)
    found.orphaned = [Orphan(row.key, pid, row.status.value) for pid, row in rows.items() if pid not in found.raw]
    if circuits is not None:
        held = held_by(circuits, stages, time.time() if now is None else now)
        found.unfinished = [replace(u, held=held.get(u.process_id)) for u in found.unfinished]
    found.unfinished.sort(key=lambda u: u.key)
    found.orphaned.sort(key=lambda o: o.key)
    return found
