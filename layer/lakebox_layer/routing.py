"""Where a judged file goes: pure naming, no AWS."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lakebox_layer.records import FileFormat, RawObject, relative_name
from lakebox_layer.settings import Settings

PROCESSED_PREFIX = "validated"
QUARANTINE_PREFIX = "quarantine"
ERROR_REPORT_SUFFIX = ".error.json"
# Record mode: why each quarantined record was set aside, a line per record, beside the quarantined records.
RECORD_ERRORS_SUFFIX = ".errors.jsonl"


@dataclass(frozen=True)
class Destination:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def of(cls, uri: str) -> Destination:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return cls(bucket, key)


def output_name(raw: RawObject, file_format: FileFormat | None = None) -> str:
    """The name a file's records get below their dataset folder. A whole file keeps its name; records written
    out in record mode (CSV, or JSON Lines for every JSON input, uncompressed) keep it too when it already says so,
    else get the output's suffix added (`a.json` -> `a.json.jsonl`), so two raw files never share an output."""
    name = relative_name(raw.key)
    if file_format is None:
        return name
    suffix = ".csv" if file_format is FileFormat.CSV else ".jsonl"
    return name if name.lower().endswith(suffix) else f"{name}{suffix}"


# S3 keys are at most 1024 bytes; leave room for the report's ".error.json" and an output suffix.
MAX_KEY_BYTES = 1000


def _bounded(prefix: str, name: str) -> str:
    """`prefix/name`, or, when that would be too long for S3, the name's digest and its last characters."""
    key = f"{prefix}/{name}"
    if len(key.encode()) <= MAX_KEY_BYTES:
        return key
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    tail = name[-120:]
    while len(tail.encode()) > 120:
        tail = tail[1:]
    return f"{prefix}/{digest}-{tail}"


def processed_destination(raw: RawObject, settings: Settings, file_format: FileFormat | None = None) -> Destination:
    """Where a whole file (no format) or its good records (record mode: the format) go."""
    return Destination(settings.processed_bucket,
                       _bounded(f"{PROCESSED_PREFIX}/{raw.dataset}", output_name(raw, file_format)))


def quarantine_destination(raw: RawObject, settings: Settings, file_format: FileFormat | None = None) -> Destination:
    """Where a whole file (no format) or its bad records (record mode: the format) go."""
    return Destination(settings.quarantine_bucket,
                       _bounded(f"{QUARANTINE_PREFIX}/{raw.dataset}", output_name(raw, file_format)))


def error_report_destination(quarantined: Destination) -> Destination:
    """The JSON error report lives beside the quarantined copy."""
    return Destination(quarantined.bucket, quarantined.key + ERROR_REPORT_SUFFIX)


def record_errors_destination(quarantined: Destination) -> Destination:
    """Record mode's reasons, one line per quarantined record, live beside the quarantined records."""
    return Destination(quarantined.bucket, quarantined.key + RECORD_ERRORS_SUFFIX)


CURATED_PREFIX = "curated"


def curated_location(settings: Settings, dataset: str) -> str:
    """The S3 location of a dataset's curated Parquet: its Glue table's location, partitioned below by `dt=`."""
    return f"s3://{settings.processed_bucket}/{CURATED_PREFIX}/{dataset}/"


def curated_key(dataset: str, day: str, process_id: str, index: int = 0) -> str:
    """One curated file's key: a process writes one file per day, so a retry overwrites instead of adding."""
    return f"{CURATED_PREFIX}/{dataset}/dt={day}/{process_id}_{index}.parquet"
