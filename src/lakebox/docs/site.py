"""The data-docs site `lakebox docs` writes: its model (:mod:`lakebox.docs.model`) gathered from the metadata
table, the published contracts and the error reports, then written as static HTML (:mod:`lakebox.docs.html`).

Only the latest `max_file_pages` files of a dataset get a page of their own, so a big lake costs a bounded number of
S3 reads (each file page is a trace: the key's versions and a head per output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lakebox.docs.html import dataset_page, file_page, index_page
from lakebox.docs.model import LATEST_QUARANTINES, MAX_FILE_PAGES, DatasetDoc, DocsReads, FileDoc, Quarantine, Site
from lakebox.trace.story import PROCESS_ID, Trace, gather
from lakebox_layer.records import DEFAULT_DATASET, FileStatus
from lakebox_layer.registry import Stage
from lakebox_layer.status import arrival_of, latest_versions, rows_by_process, stage_of


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
        curation = by_stage.get(Stage.CURATION.value, {})
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
            pii={str(k): str(v) for k, v in dict(validation.get("PiiColumns") or {}).items()},
            undeclared_pii=[str(c) for c in validation.get("UndeclaredPii") or []],
            protected={str(k): str(v) for k, v in dict(curation.get("Protected") or {}).items()},
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
