"""One raw file's story, gathered for `lakebox trace`: its object versions, each stage's record as a timeline, the
events the stages emitted, the outputs (checked in S3), the lineage from raw version to table, and the function log
lines of its process id.

Times, all UTC:
- `uploaded_at`: the raw object version's Last-Modified (S3's upload time, whole seconds on AWS), which is also
  the arrival time in every stage record's key.
- a stage's `started_at`: when its input existed: the upload for ingestion, ingestion's record for validation,
  validation's record for quality and curation. A stage publishes its event just before it writes its record, so
  a duration includes the wait in the stage's queue (and the batch the file shared), not only the function's run.
- a stage's `ended_at`: the `RecordedAt` of its record, the stage's last step for that file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from lakebox.trace.logs import LogLine, LogsUnavailable
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.registry import FILE_STAGES, Stage, StageSpec, producer
from lakebox_layer.routing import ERROR_REPORT_SUFFIX, RECORD_ERRORS_SUFFIX
from lakebox_layer.status import arrival_of, rows_by_process, stage_of
from lakebox_layer.stream_batches import STREAM_FOLDER, key_span

PROCESS_ID = re.compile(r"^[0-9a-f]{32}$")
# Log lines are read from a little before the upload: a clock apart between S3 and the functions costs nothing.
LOG_LEAD = timedelta(minutes=1)
TIMES = {
    "uploaded_at": "the raw object version's Last-Modified (S3's upload time); the arrival time of every record",
    "started_at": "when the stage's input existed: the upload (ingestion), ingestion's record (validation), "
                  "validation's record (quality, curation); so a duration includes the wait in the stage's queue",
    "ended_at": "RecordedAt of the stage's record: the stage's last step for this file",
}
_PARTITION = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


class TraceNotFound(LakeboxError):
    """No raw object and no stage record answer to the key (or process id, or version) asked for."""


@dataclass(frozen=True)
class RawVersion:
    """One version of the raw object, as S3 lists it or, once deleted, as its records remember it."""

    key: str
    version_id: str | None
    process_id: str
    size: int | None
    etag: str | None
    uploaded_at: str | None
    latest: bool = False
    in_s3: bool = True
    status: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StageStep:
    """One stage of the timeline; `recorded` False while (or because) the stage has not run for the file."""

    stage: str
    recorded: bool
    status: str
    started_at: str | None
    ended_at: str | None
    duration_s: float | None
    event: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Output:
    """An object a stage wrote: `validated`, `quarantined`, `error_report` or `curated` (with its partition).
    `exists` is None when S3 would not say (no permission)."""

    kind: str
    uri: str
    exists: bool | None
    size: int | None = None
    partition: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Lineage:
    """A node of the lineage tree: raw version, then its outputs, then curated partitions, then the table."""

    kind: str
    name: str
    exists: bool | None = None
    children: list[Lineage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "exists": self.exists,
                "children": [child.to_json() for child in self.children]}


@dataclass(frozen=True)
class Trace:
    """Everything `lakebox trace` shows of one raw object version."""

    raw_bucket: str
    raw: RawVersion
    versions: list[RawVersion]
    dataset: str | None
    status: str
    stages: list[StageStep]
    outputs: list[Output]
    table: str | None
    database: str
    logs: list[LogLine]
    logs_error: str | None = None

    @property
    def contract_version(self) -> str | None:
        return self._validation_detail("contract_version")

    @property
    def mode(self) -> str | None:
        return self._validation_detail("mode")

    def _validation_detail(self, name: str) -> str | None:
        value = next((s.details.get(name) for s in self.stages if s.stage == Stage.VALIDATION.value), None)
        return None if value is None else str(value)

    @property
    def partitions(self) -> list[str]:
        return sorted({output.partition for output in self.outputs if output.partition})

    @property
    def events(self) -> list[dict[str, str | None]]:
        """The events the stages emitted, as their records tell (a record is written only once its event is on
        the bus, so each is published just before its stage's `ended_at`)."""
        found = []
        for step in self.stages:
            if step.event is not None:
                emitted = Stage(step.stage).spec.emits
                found.append({"detail_type": step.event, "source": emitted.source if emitted else None,
                              "stage": step.stage, "before": step.ended_at})
        return found

    @property
    def lineage(self) -> Lineage:
        return lineage_of(self)

    @property
    def stream(self) -> dict[str, str] | None:
        """Where a raw file the stream batcher wrote came from, as its key says: the shard, and the sequence numbers
        of its first and last record. None for any other file."""
        span = key_span(self.raw.key) if f"/{STREAM_FOLDER}/" in self.raw.key else None
        return None if span is None else {"shard": span[0], "first_sequence": span[1], "last_sequence": span[2]}

    def to_json(self) -> dict[str, Any]:
        """`lakebox trace --json`: field names documented in README's command table."""
        return {
            "key": self.raw.key, "process_id": self.raw.process_id, "dataset": self.dataset, "status": self.status,
            "contract_version": self.contract_version, "mode": self.mode,
            "raw": {"bucket": self.raw_bucket, **self.raw.to_json()}, "stream": self.stream,
            "version_count": len(self.versions), "versions": [v.to_json() for v in self.versions],
            "stages": [step.to_json() for step in self.stages], "events": self.events,
            "outputs": [output.to_json() for output in self.outputs],
            "table": {"database": self.database, "name": self.table, "partitions": self.partitions}
            if self.table else None,
            "lineage": self.lineage.to_json(),
            "logs": [line.to_json() for line in self.logs], "logs_error": self.logs_error,
            "times": TIMES,
        }


class TraceSources(Protocol):
    """What a trace reads; :class:`lakebox.trace.sources.LakeSources` reads it from the lake."""

    raw_bucket: str
    database: str

    def versions(self, key: str) -> list[dict[str, Any]]:
        """S3's versions of the raw key (`VersionId`, `Size`, `ETag`, `LastModified`, `IsLatest`)."""

    def key_records(self, key: str) -> list[dict[str, Any]]:
        """Every stage record of every version of the raw key."""

    def process_records(self, process_id: str) -> list[dict[str, Any]]:
        """Every stage record of one process."""

    def head(self, uri: str) -> tuple[bool | None, int | None]:
        """Whether the object exists (None: S3 would not say) and its size."""

    def log_lines(self, process_id: str, start: datetime) -> list[LogLine]:
        """The function log lines of one process, from `start` on."""


def _s3_versions(sources: TraceSources, key: str) -> list[RawVersion]:
    found = []
    for listed in sources.versions(key):
        version_id = listed.get("VersionId")
        version_id = None if version_id in (None, "null") else str(version_id)
        etag, size = str(listed["ETag"]).strip('"'), int(listed["Size"])
        modified = listed["LastModified"]
        uploaded = modified.isoformat() if isinstance(modified, datetime) else str(modified)
        process_id = RawObject(sources.raw_bucket, key, etag, size, version_id).process_id
        found.append(RawVersion(key, version_id, process_id, size, etag, uploaded, bool(listed.get("IsLatest"))))
    return found


def _recorded_version(process_id: str, records: list[dict[str, Any]]) -> RawVersion:
    """A version S3 no longer has, as its records remember it."""
    merged: dict[str, Any] = {}
    for record in records:
        merged = {**record, **merged}
    return RawVersion(str(merged["RawKey"]), merged.get("VersionId") or merged.get("RawVersionId"), process_id,
                      merged.get("Size"), merged.get("ETag"), arrival_of(records[0]), in_s3=False)


def all_versions(sources: TraceSources, key: str) -> list[RawVersion]:
    """Every version of a raw key, newest first, each with the status its records give."""
    records = sources.key_records(key)
    rows = rows_by_process(records)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(str(record["ProcessId"]), []).append(record)
    versions = _s3_versions(sources, key)
    listed = {version.process_id for version in versions}
    versions += [_recorded_version(pid, group) for pid, group in grouped.items() if pid not in listed]
    versions = [RawVersion(**{**asdict(v), "status": rows[v.process_id].status.value if v.process_id in rows
                              else None}) for v in versions]
    return sorted(versions, key=lambda v: (v.latest, v.uploaded_at or ""), reverse=True)


def _chosen(versions: list[RawVersion], reference: str, process_id: str | None, version: str | None) -> RawVersion:
    if process_id is not None:
        return next(v for v in versions if v.process_id == process_id)
    if version is None:
        return versions[0]
    for candidate in versions:
        if candidate.version_id == version:
            return candidate
    known = ", ".join(str(v.version_id) for v in versions)
    raise TraceNotFound(f"{reference} has no version {version}; its {len(versions)} version(s): {known}")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


SKIPPED = "skipped"
PENDING = "pending"


def _failed(spec: StageSpec, record: dict[str, Any]) -> bool:
    field_ = spec.trace.status_field if spec.trace else None
    return field_ is not None and record.get(field_) == FileStatus.FAILED.value


def _shown_status(spec: StageSpec, record: dict[str, Any]) -> str:
    row = spec.trace
    if row is None or row.status_field is None:
        return "recorded"
    status = str(record.get(row.status_field, ""))
    return row.renamed.get(status, status)


def _step(spec: StageSpec, record: dict[str, Any] | None, started_at: str | None, never: bool) -> StageStep:
    if record is None:
        # A stage after a file that ended before it never runs for it: curation of a quarantined file, say.
        return StageStep(spec.name, False, SKIPPED if never else PENDING, None, None, None, None)
    ended_at = str(record.get("RecordedAt")) if record.get("RecordedAt") else None
    start, end = _time(started_at), _time(ended_at)
    duration = round((end - start).total_seconds(), 3) if start and end else None
    emitted = spec.emits if spec.emits_on_failure or not _failed(spec, record) else None
    details = {name: record[attribute] for attribute, name in (spec.trace.details if spec.trace else {}).items()
               if record.get(attribute) is not None}
    return StageStep(spec.name, True, _shown_status(spec, record), started_at, ended_at, duration,
                     emitted.detail_type if emitted else None, details)


def timeline(records: list[dict[str, Any]], arrival: str | None) -> list[StageStep]:
    """Every stage that records files, in pipeline order, from one process's records. A stage starts when its input
    existed (the upload, or the record of the stage whose event it takes), and is skipped when that input never came
    for this file: the stage before it emitted nothing, or not for a file of this status."""
    by_stage = {stage_of(record): record for record in records}
    steps: dict[Stage, StageStep] = {}
    for spec in FILE_STAGES:
        source = producer(spec)
        upstream = by_stage.get(source.name) if source else None
        if source is None:
            started_at, never = arrival, False
        elif upstream is None:
            started_at, never = None, steps[source.stage].status == SKIPPED
        else:
            started_at = str(upstream["RecordedAt"]) if upstream.get("RecordedAt") else None
            never = ((_failed(source, upstream) and not source.emits_on_failure)
                     or (spec.only is not None and upstream.get("Status") != spec.only.value))
        steps[spec.stage] = _step(spec, by_stage.get(spec.name), started_at, never)
    return list(steps.values())


def outputs_of(records: list[dict[str, Any]], head: Callable[[str], tuple[bool | None, int | None]]) -> list[Output]:
    """What validation and curation wrote for the process, each checked in S3 (`head(uri)`)."""
    by_stage = {stage_of(record): record for record in records}
    validation = by_stage.get(Stage.VALIDATION.value, {})
    named: list[tuple[str, str]] = []
    destination, quarantined = validation.get("Destination"), validation.get("QuarantineDestination")
    if destination and validation.get("Status") == FileStatus.PROCESSED.value:
        named.append(("validated", str(destination)))
    quarantined = quarantined or (destination if validation.get("Status") == FileStatus.QUARANTINED.value else None)
    if quarantined:
        named += [("quarantined", str(quarantined)), ("error_report", f"{quarantined}{ERROR_REPORT_SUFFIX}")]
        # Record mode also says why each quarantined record was set aside (a whole quarantined file has the report).
        if validation.get("Mode") == "record" and validation.get("Status") == FileStatus.PROCESSED.value:
            named.append(("record_errors", f"{quarantined}{RECORD_ERRORS_SUFFIX}"))
    named += [("curated", str(uri)) for uri in by_stage.get(Stage.CURATION.value, {}).get("CuratedObjects", [])]
    found = []
    for kind, uri in named:
        exists, size = head(uri)
        day = _PARTITION.search(uri) if kind == "curated" else None
        found.append(Output(kind, uri, exists, size, f"dt={day.group(1)}" if day else None))
    return found


def lineage_of(trace: Trace) -> Lineage:
    """raw version → validated / quarantined objects (→ error report, record errors) → curated partitions → table."""
    version = f" (version {trace.raw.version_id})" if trace.raw.version_id else ""
    table = [Lineage("table", f"{trace.database}.{trace.table}")] if trace.table else []
    curated = [Lineage("partition", f"{o.partition}: {o.uri}", o.exists, list(table))
               for o in trace.outputs if o.kind == "curated"]
    report = [Lineage(o.kind, o.uri, o.exists) for o in trace.outputs if o.kind in ("error_report", "record_errors")]
    children = [Lineage(o.kind, o.uri, o.exists, curated if o.kind == "validated" else report)
                for o in trace.outputs if o.kind in ("validated", "quarantined")]
    return Lineage("raw", f"s3://{trace.raw_bucket}/{trace.raw.key}{version}", trace.raw.in_s3, children)


def _logs(sources: TraceSources, raw: RawVersion) -> tuple[list[LogLine], str | None]:
    uploaded = _time(raw.uploaded_at)
    if uploaded is None:
        return [], "no upload time to read the log lines from"
    try:
        return sources.log_lines(raw.process_id, uploaded - LOG_LEAD), None
    except LogsUnavailable as error:
        return [], str(error)


def gather(sources: TraceSources, reference: str, version: str | None = None) -> Trace:
    """The trace of a raw key (its latest version, or `version`) or of a process id."""
    process_id: str | None = None
    key = reference
    if PROCESS_ID.match(reference):
        records = sources.process_records(reference)
        if records:
            process_id, key = reference, str(records[0]["RawKey"])
    versions = all_versions(sources, key)
    if not versions:
        raise TraceNotFound(f"no raw file {reference!r} in s3://{sources.raw_bucket} and no record of it "
                            f"(a key as stored, e.g. input/<dataset>/<name>, or a process id)")
    raw = _chosen(versions, reference, process_id, version)
    records = sources.process_records(raw.process_id)
    rows = rows_by_process(records)
    by_stage = {stage_of(record): record for record in records}
    lines, logs_error = _logs(sources, raw)
    return Trace(
        raw_bucket=sources.raw_bucket, raw=raw, versions=versions,
        dataset=next((str(r["Dataset"]) for r in records if r.get("Dataset")), None),
        status=rows[raw.process_id].status.value if raw.process_id in rows else "not ingested",
        stages=timeline(records, raw.uploaded_at), outputs=outputs_of(records, sources.head),
        table=by_stage.get(Stage.CURATION.value, {}).get("Table"), database=sources.database,
        logs=lines, logs_error=logs_error,
    )
