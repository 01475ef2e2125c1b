"""Typed records at the pipeline's boundaries: raw objects, stage outcomes and the events between stages."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_DATASET = "default"
INPUT_PREFIX = "input/"
MAX_ERRORS_KEPT = 25


class FileFormat(StrEnum):
    JSON = "json"
    JSON_LINES = "jsonl"
    CSV = "csv"
    UNSUPPORTED = "unsupported"


class FileStatus(StrEnum):
    """The status `lakebox status` reports; every file ends in exactly one of the first three."""

    PROCESSED = "processed"
    QUARANTINED = "quarantined"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"

    @property
    def terminal(self) -> bool:
        return self is not FileStatus.IN_PROGRESS


def dataset_of(key: str) -> str:
    """The dataset a raw key belongs to: `input/<dataset>/<name>` or `default` directly under `input/`."""
    relative = key[len(INPUT_PREFIX) :] if key.startswith(INPUT_PREFIX) else key
    head, sep, _ = relative.partition("/")
    return head if sep and head else DEFAULT_DATASET


def relative_name(key: str) -> str:
    """The part of a raw key below its dataset folder, kept in processed and quarantine keys."""
    relative = key[len(INPUT_PREFIX) :] if key.startswith(INPUT_PREFIX) else key
    dataset = dataset_of(key)
    if dataset != DEFAULT_DATASET or relative.startswith(f"{DEFAULT_DATASET}/"):
        return relative.split("/", 1)[1]
    return relative


@dataclass(frozen=True)
class RawObject:
    """One version of a raw object: what an S3 notification names and what the pipeline accounts for."""

    bucket: str
    key: str
    etag: str
    size: int
    version_id: str | None = None

    @property
    def process_id(self) -> str:
        """Deterministic per object version, so a redelivered event maps to the same process."""
        identity = "\0".join([self.bucket, self.key, self.etag.strip('"'), self.version_id or ""])
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    @property
    def dataset(self) -> str:
        return dataset_of(self.key)


@dataclass(frozen=True)
class DataReceived:
    """Detail of the ingestion stage's event: a raw object was looked at and its format decided. `reason` is set
    when ingestion already knows the file cannot be processed (unsupported format, refused dataset name); validation
    then quarantines it with that reason."""

    process_id: str
    bucket: str
    key: str
    etag: str
    size: int
    dataset: str
    format: FileFormat
    arrived_at: str
    version_id: str | None = None
    reason: str | None = None
    compression: str | None = None

    @property
    def raw_object(self) -> RawObject:
        return RawObject(self.bucket, self.key, self.etag, self.size, self.version_id)

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> DataReceived:
        return cls(**{**detail, "format": FileFormat(detail["format"])})


@dataclass(frozen=True)
class ValidationOutcome:
    """What validation decided for one file; pure data, produced by :mod:`lakebox_layer.validation`."""

    passed: bool
    quality_score: float
    records_total: int
    records_valid: int
    completeness: float
    validity: float = 0.0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    contract_version: str | None = None
    mode: str | None = None
    # Personal data found in the file's sampled columns: column -> class (see lakebox_layer.classification), and
    # the columns of it the contract does not mark. Names and classes only, never values.
    pii_columns: dict[str, str] = field(default_factory=dict)
    undeclared_pii: list[str] = field(default_factory=list)

    @property
    def records_invalid(self) -> int:
        return self.records_total - self.records_valid


@dataclass(frozen=True)
class DataValidated:
    """Detail of the validation stage's event: where the file went and why."""

    process_id: str
    key: str
    dataset: str
    arrived_at: str
    status: FileStatus
    quality_score: float
    records_total: int
    records_valid: int
    errors: list[str]
    destination: str | None
    # What curation needs to read the processed output and to trace its rows back (absent in older events).
    format: FileFormat | None = None
    compression: str | None = None
    version_id: str | None = None
    contract_version: str | None = None
    # The file's columns of personal data (column -> class) and those the contract does not mark: what curation
    # protects beyond the contract's own fields. Names and classes only, never values.
    pii: dict[str, str] = field(default_factory=dict)
    undeclared_pii: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status is FileStatus.PROCESSED

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> DataValidated:
        file_format = detail.get("format")
        return cls(**{**detail, "status": FileStatus(detail["status"]),
                      "format": FileFormat(file_format) if file_format else None})


@dataclass(frozen=True)
class QualityTotals:
    """Running totals of one pipeline, kept in one metadata item and updated atomically per file."""

    files: int
    files_passed: int
    score_sum: float
    records: int

    @property
    def success_rate(self) -> float:
        return 100.0 * self.files_passed / self.files if self.files else 0.0

    @property
    def average_score(self) -> float:
        return self.score_sum / self.files if self.files else 0.0
