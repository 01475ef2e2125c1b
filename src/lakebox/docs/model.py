"""The data docs' model: every dataset and file as the site shows them, and what the site is read from. No AWS
calls and no HTML: :mod:`lakebox.docs.site` gathers it, :mod:`lakebox.docs.html` renders it.

A dataset's figures are over its files as `lakebox status` shows them: each raw key once, at its latest version.
Files are ordered by arrival (the raw version's upload time in its records); the quality chart and the trend follow
that order.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from lakebox.trace.story import TraceSources
from lakebox_layer.contracts import Contract
from lakebox_layer.privacy import PII_COMMENT
from lakebox_layer.routing import ERROR_REPORT_SUFFIX

MAX_FILE_PAGES = 200
TREND_POINTS = 10
LATEST_QUARANTINES = 10
_SAFE_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class FileDoc:
    """One raw file (its latest version) as the docs show it."""

    key: str
    process_id: str
    dataset: str
    status: str
    arrived_at: str
    quality_score: float | None = None
    records_total: int | None = None
    records_valid: int | None = None
    errors: list[str] = field(default_factory=list)
    rule_counts: dict[str, int] = field(default_factory=dict)
    quarantine: str | None = None
    contract_version: str | None = None
    page: bool = False
    # Personal data: the columns validation found it in (column -> class) and those of them the contract does not
    # declare; how curation protected each column (its table comment). Names and classes, never values.
    pii: dict[str, str] = field(default_factory=dict)
    undeclared_pii: list[str] = field(default_factory=list)
    protected: dict[str, str] = field(default_factory=dict)

    @property
    def report_uri(self) -> str | None:
        return f"{self.quarantine}{ERROR_REPORT_SUFFIX}" if self.quarantine else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Quarantine:
    """A file with quarantined records and what its error report says (already masked by validation)."""

    file: FileDoc
    report_uri: str
    found: bool
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.file.key, "process_id": self.file.process_id, "report": self.report_uri,
                "found": self.found, "samples": self.samples, "errors": self.errors}


@dataclass(frozen=True)
class PersonalColumn:
    """A column of a dataset that holds personal data, as the docs show it (no values)."""

    column: str
    pii_class: str | None
    declared: bool
    curated_as: str | None  # the protection curation last gave it (encrypt, token, mask, drop), None when none
    files: int  # files in which validation found personal data in it


@dataclass(frozen=True)
class DatasetDoc:
    """One dataset: its contract, its files in arrival order and its latest quarantines."""

    name: str
    contract: Contract | None
    files: list[FileDoc]
    quarantines: list[Quarantine] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return page_name(self.name)

    @property
    def records_total(self) -> int:
        return sum(f.records_total or 0 for f in self.files)

    @property
    def records_valid(self) -> int:
        return sum(f.records_valid or 0 for f in self.files)

    @property
    def valid_share(self) -> float | None:
        return self.records_valid / self.records_total if self.records_total else None

    @property
    def scores(self) -> list[float]:
        return [float(f.quality_score) for f in self.files if f.quality_score is not None]

    @property
    def latest_score(self) -> float | None:
        return self.scores[-1] if self.scores else None

    @property
    def trend(self) -> list[float]:
        return self.scores[-TREND_POINTS:]

    @property
    def direction(self) -> str:
        """`up`, `down` or `steady`: the latest score against the mean of the trend's earlier ones."""
        if len(self.trend) < 2:
            return "steady"
        earlier = sum(self.trend[:-1]) / (len(self.trend) - 1)
        return "up" if self.trend[-1] > earlier else "down" if self.trend[-1] < earlier else "steady"

    @property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for file in self.files:
            counts[file.status] = counts.get(file.status, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def rule_failures(self) -> list[tuple[str, int, int]]:
        """(rule, failures, files failing it), most failures first."""
        failures: dict[str, list[int]] = {}
        for file in self.files:
            for rule, count in file.rule_counts.items():
                seen = failures.setdefault(rule, [0, 0])
                seen[0] += int(count)
                seen[1] += 1
        return sorted(((rule, n, files) for rule, (n, files) in failures.items()), key=lambda r: (-r[1], r[0]))

    @property
    def personal_data(self) -> list[PersonalColumn]:
        """Each column the contract declares personal data, validation found it in or curation protects, by name."""
        declared = set(self.contract.pii_fields) if self.contract else set()
        found: dict[str, str] = {}
        counts: dict[str, int] = {}
        curated: dict[str, str] = {}
        for file in self.files:  # in arrival order: the latest class and protection win
            for column, kind in file.pii.items():
                found[column] = kind
                counts[column] = counts.get(column, 0) + 1
            curated.update(file.protected)
        names = sorted(declared | set(found) | set(curated))
        return [PersonalColumn(name, found.get(name) or _class_of(curated.get(name)), name in declared,
                               _mode_of(curated.get(name)), counts.get(name, 0)) for name in names]

    @property
    def paged(self) -> list[FileDoc]:
        return [f for f in self.files if f.page]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "contract_version": self.contract.version if self.contract else None,
                "files": len(self.files), "records_total": self.records_total, "records_valid": self.records_valid,
                "valid_share": self.valid_share, "latest_score": self.latest_score, "trend": self.trend,
                "status_counts": self.status_counts, "rule_failures": [list(r) for r in self.rule_failures],
                "quarantines": [q.to_json() for q in self.quarantines],
                "personal_data": [asdict(column) for column in self.personal_data]}


def _mode_of(comment: str | None) -> str | None:
    """The protection a curated column's comment names (`lakebox:pii=encrypt;class=email` -> encrypt)."""
    if not comment or not comment.startswith(PII_COMMENT):
        return None
    return comment[len(PII_COMMENT):].split(";", 1)[0]


def _class_of(comment: str | None) -> str | None:
    _, _, kind = (comment or "").partition(";class=")
    return kind or None


@dataclass(frozen=True)
class Site:
    """Every dataset of the pipeline, and where and when the site was built from."""

    where: str
    built_at: str
    datasets: list[DatasetDoc]
    max_file_pages: int = MAX_FILE_PAGES

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "built_at": self.built_at, "max_file_pages": self.max_file_pages,
                "datasets": [d.to_json() for d in self.datasets]}


class DocsReads(Protocol):
    """What the site is built from; :class:`lakebox.docs.sources.DocsSources` reads it from the lake."""

    def records(self) -> list[dict[str, Any]]: ...

    def contract(self, dataset: str) -> Contract | None: ...

    def error_report(self, uri: str) -> dict[str, Any] | None: ...

    def trace_sources(self, records: list[dict[str, Any]]) -> TraceSources: ...


def page_name(dataset: str) -> str:
    """A file name for a dataset's page: the name itself when it is a plain one, else a digest of it."""
    if _SAFE_NAME.match(dataset):
        return dataset
    return "dataset-" + hashlib.sha256(dataset.encode()).hexdigest()[:16]
