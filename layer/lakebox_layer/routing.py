"""Where a judged file goes: pure naming, no AWS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from lakebox_layer.records import FileFormat, RawObject, relative_name
from lakebox_layer.settings import Settings

PROCESSED_PREFIX = "validated"
QUARANTINE_PREFIX = "quarantine"
ERROR_REPORT_SUFFIX = ".error.json"


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
    out in record mode are CSV (gzip removed) or JSON Lines (`.jsonl`)."""
    name = relative_name(raw.key)
    if file_format is None:
        return name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    if file_format is FileFormat.CSV:
        return name
    path = PurePosixPath(name)
    stem = path.with_suffix("") if path.suffix.lower() in (".json", ".jsonl", ".ndjson") else path
    return f"{stem}.jsonl"


def processed_destination(raw: RawObject, settings: Settings, file_format: FileFormat | None = None) -> Destination:
    """Where a whole file (no format) or its good records (record mode: the format) go."""
    return Destination(settings.processed_bucket, f"{PROCESSED_PREFIX}/{raw.dataset}/{output_name(raw, file_format)}")


def quarantine_destination(raw: RawObject, settings: Settings, file_format: FileFormat | None = None) -> Destination:
    """Where a whole file (no format) or its bad records (record mode: the format) go."""
    return Destination(settings.quarantine_bucket,
                       f"{QUARANTINE_PREFIX}/{raw.dataset}/{output_name(raw, file_format)}")


def error_report_destination(quarantined: Destination) -> Destination:
    """The JSON error report lives beside the quarantined copy."""
    return Destination(quarantined.bucket, quarantined.key + ERROR_REPORT_SUFFIX)
