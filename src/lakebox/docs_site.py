"""The data-docs site `lakebox docs` writes: a model of every dataset and file gathered from the metadata table, the
published contracts and the error reports, then written as static HTML (rendered by :mod:`lakebox.docs_html`).

A dataset's figures are over its files as `lakebox status` shows them: each raw key once, at its latest version.
Files are ordered by arrival (the raw version's upload time in its records); the quality chart and the trend follow
that order. Only the latest `max_file_pages` files of a dataset get a page of their own, so a big lake costs a
bounded number of S3 reads (each file page is a trace: the key's versions and a head per output).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lakebox.docs_html import dataset_page, file_page, index_page
from lakebox.status import arrival_of, latest_versions, rows_by_process, stage_of
from lakebox.trace import PROCESS_ID, Trace, TraceSources, gather
from lakebox_layer.contracts import Contract
from lakebox_layer.records import DEFAULT_DATASET, FileStatus, Stage
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
    def paged(self) -> list[FileDoc]:
        return [f for f in self.files if f.page]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "contract_version": self.contract.version if self.contract else None,
                "files": len(self.files), "records_total": self.records_total, "records_valid": self.records_valid,
                "valid_share": self.valid_share, "latest_score": self.latest_score, "trend": self.trend,
                "status_counts": self.status_counts, "rule_failures": [list(r) for r in self.rule_failures],
                "quarantines": [q.to_json() for q in self.quarantines]}


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
    """What the site is built from; :class:`lakebox.docs_sources.DocsSources` reads it from the lake."""

    def records(self) -> list[dict[str, Any]]: ...

    def contract(self, dataset: str) -> Contract | None: ...

    def error_report(self, uri: str) -> dict[str, Any] | None: ...

    def trace_sources(self, records: list[dict[str, Any]]) -> TraceSources: ...


def page_name(dataset: str) -> str:
    """A file name for a dataset's page: the name itself when it is a plain one, else a digest of it."""
    if _SAFE_NAME.match(dataset):
        return dataset
    return "dataset-" + hashlib.sha256(dataset.encode()).hexdigest()[:16]


def latest_files(records: Iterable[dict[str, Any]]) -> list[FileDoc]:
    """Each raw key's latest version as a file, in arrival order (then key)."""
    records = list(records)
    latest = latest_versions(records)  # as `lakebox status` chooses them
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record["ProcessId"] in latest:
            grouped.setdefault(str(record["ProcessId"]), []).append(record)
    rows = rows_by_process(record for group in grouped.values() for record in group)
    files: list[FileDoc] = []
    for process_id, group in grouped.items():
        row = rows[process_id]
        by_stage = {stage_of(record): record for record in group}
        validation = by_stage.get(Stage.VALIDATION.value, {})
        dataset = next((str(r["Dataset"]) for r in group if r.get("Dataset")), DEFAULT_DATASET)
        quarantine = validation.get("QuarantineDestination") or (
            row.destination if row.status is FileStatus.QUARANTINED else None)
        file = FileDoc(
            key=row.key, process_id=process_id, dataset=dataset, status=row.status.value,
            arrived_at=arrival_of(group[0]),
            quality_score=None if row.quality_score is None else float(row.quality_score),
            records_total=None if row.records_total is None else int(row.records_total),
            records_valid=None if row.records_valid is None else int(row.records_valid),
            errors=[str(e) for e in row.errors],
            rule_counts={str(k): int(v) for k, v in dict(validation.get("RuleCounts") or {}).items()},
            quarantine=str(quarantine) if quarantine else None,
            contract_version=validation.get("ContractVersion"),
        )
        files.append(file)
    return sorted(files, key=lambda f: (f.arrived_at, f.key))


def _quarantine(reads: DocsReads, file: FileDoc) -> Quarantine:
    uri = str(file.report_uri)
    report = reads.error_report(uri)
    if report is None:
        return Quarantine(file, uri, found=False, errors=list(file.errors))
    samples = [{"rule": rule, **sample} for rule, told in dict(report.get("rules") or {}).items()
               for sample in (told.get("first") or []) if isinstance(sample, dict)]
    return Quarantine(file, uri, found=True, samples=samples, errors=[str(e) for e in report.get("errors") or []])


def gather_site(reads: DocsReads, where: str, *, max_file_pages: int = MAX_FILE_PAGES,
                now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> tuple[Site, list[dict[str, Any]]]:
    """The site's model, and the records it was folded from (file pages trace from them)."""
    records = reads.records()
    by_dataset: dict[str, list[FileDoc]] = {}
    for file in latest_files(records):
        by_dataset.setdefault(file.dataset, []).append(file)
    datasets = []
    for name, files in sorted(by_dataset.items()):
        pageable = [f for f in files if PROCESS_ID.match(f.process_id)]
        paged = {f.process_id for f in pageable[-max_file_pages:]} if max_file_pages > 0 else set()
        files = [FileDoc(**{**asdict(f), "page": f.process_id in paged}) for f in files]
        quarantined = [f for f in files if f.quarantine][-LATEST_QUARANTINES:][::-1]
        datasets.append(DatasetDoc(name, reads.contract(name), files, [_quarantine(reads, f) for f in quarantined]))
    return Site(where, now().isoformat(timespec="seconds"), datasets, max_file_pages), records


@dataclass(frozen=True)
class Built:
    """What `lakebox docs` wrote: the index and how many pages of each kind."""

    index: Path
    dataset_pages: int
    file_pages: int

    @property
    def pages(self) -> int:
        return 1 + self.dataset_pages + self.file_pages


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_site(reads: DocsReads, out: Path, where: str, *, max_file_pages: int = MAX_FILE_PAGES) -> Built:
    """Gather the site and write it under `out`: index.html, datasets/<name>.html, files/<process id>.html."""
    site, records = gather_site(reads, where, max_file_pages=max_file_pages)
    _write(out / "index.html", index_page(site))
    files = 0
    sources = reads.trace_sources(records)
    for dataset in site.datasets:
        _write(out / "datasets" / f"{dataset.slug}.html", dataset_page(site, dataset))
        for file in dataset.paged:
            trace: Trace = gather(sources, file.process_id)
            _write(out / "files" / f"{file.process_id}.html", file_page(site, dataset, file, trace))
            files += 1
    return Built(out / "index.html", len(site.datasets), files)
