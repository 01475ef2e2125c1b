"""One lake's story in memory, as `lakebox trace` reads it: versions of a raw key, its stage records, its outputs and
its log lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakebox.trace.logs import LogLine, LogsUnavailable
from lakebox_layer.records import RawObject

RAW = "raw-bucket"
PROCESSED = "s3://processed-bucket"
QUARANTINE = "s3://quarantine-bucket"
UPLOADED = datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)
ARRIVAL = UPLOADED.isoformat()


def version(key: str, etag: str, version_id: str, *, latest: bool = True, when: datetime = UPLOADED,
            size: int = 10) -> dict[str, Any]:
    return {"Key": key, "VersionId": version_id, "ETag": f'"{etag}"', "Size": size, "LastModified": when,
            "IsLatest": latest}


def pid(key: str, listed: dict[str, Any]) -> str:
    return RawObject(RAW, key, listed["ETag"].strip('"'), listed["Size"], listed["VersionId"]).process_id


def record(process_id: str, key: str, stage: str, order: int, recorded: str, arrival: str = ARRIVAL,
           **fields: Any) -> dict[str, Any]:
    return {"ProcessId": process_id, "Timestamp": f"{arrival}#{order}-{stage}", "Stage": stage, "RawKey": key,
            "RecordedAt": recorded, "Pipeline": "lakebox", **fields}


def processed_records(process_id: str, key: str, *, mode: str = "file", bad: str | None = None,
                      arrival: str = ARRIVAL) -> list[dict[str, Any]]:
    name = key.split("/", 1)[1]
    curated = f"{PROCESSED}/curated/orders/dt=2026-01-02/{process_id}_0.parquet"
    return [
        record(process_id, key, "ingestion", 1, "2026-01-15T10:30:00.200+00:00", arrival, Status="in_progress",
               Dataset="orders", Format="csv", Size=10, VersionId="v1"),
        record(process_id, key, "validation", 2, "2026-01-15T10:30:00.700+00:00", arrival, Status="processed",
               Dataset="orders", ContractVersion="1.1.0+abc", Mode=mode, QualityScore=90.0, RecordsTotal=4,
               RecordsValid=3 if bad else 4, Errors=["record 2: amount: below 0"] if bad else [],
               Destination=f"{PROCESSED}/validated/{name}", QuarantineDestination=bad),
        record(process_id, key, "quality", 3, "2026-01-15T10:30:00.900+00:00", arrival, QualityScore=90.0),
        record(process_id, key, "curation", 4, "2026-01-15T10:30:01.700+00:00", arrival, Dataset="orders",
               CurationStatus="curated", Table="orders", CuratedRows=3, Partitions=["2026-01-02"],
               CuratedObjects=[curated]),
    ]


@dataclass
class FakeSources:
    """A lake as the trace reads it: S3 versions, stage records, existing objects, log lines."""

    listed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)
    lines: list[LogLine] = field(default_factory=list)
    logs_refused: bool = False
    raw_bucket: str = RAW
    database: str = "lakebox_catalog"
    log_reads: list[tuple[str, datetime]] = field(default_factory=list)

    def versions(self, key: str) -> list[dict[str, Any]]:
        return self.listed.get(key, [])

    def key_records(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["RawKey"] == key]

    def process_records(self, process_id: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["ProcessId"] == process_id]

    def head(self, uri: str) -> tuple[bool | None, int | None]:
        return (True, self.objects[uri]) if uri in self.objects else (False, None)

    def log_lines(self, process_id: str, start: datetime) -> list[LogLine]:
        if self.logs_refused:
            raise LogsUnavailable("AccessDenied")
        self.log_reads.append((process_id, start))
        return [line for line in self.lines if line.process_id == process_id]


def log_line(process_id: str, stage: str, message: str) -> LogLine:
    return LogLine(UPLOADED, stage, "INFO", message, None, process_id, 0, "stream")


def processed_lake(key: str = "input/orders/a.csv", **options: Any) -> tuple[FakeSources, str]:
    listed = version(key, "e1", "v1")
    process_id = pid(key, listed)
    records = processed_records(process_id, key, **options)
    objects = {uri: 100 for r in records for uri in (r.get("Destination"), *r.get("CuratedObjects", [])) if uri}
    lines = [log_line(process_id, stage, message) for stage, message in
             (("ingestion", "ingested"), ("validation", "validated"), ("quality", "quality recorded"),
              ("curation", "curated"))]
    return FakeSources({key: [listed]}, records, objects, lines), process_id
