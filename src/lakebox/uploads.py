"""Uploading local files to the raw bucket and waiting for their outcomes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lakebox.metrics import QualityFigures
from lakebox.polling import wait_until
from lakebox.reconcile import AWAITING_VALIDATION, NOT_INGESTED
from lakebox.status import FileRow, rows_by_process
from lakebox.target import Target
from lakebox_layer.records import DEFAULT_DATASET, INPUT_PREFIX, RawObject

WAIT_DEADLINE_S = 120.0
# A timeout names this many of the files still in flight (each read once more, so the message says where it is now).
NAMED_IN_FLIGHT = 20
# Called after each poll with the terminal rows so far and the number of files awaited.
ProgressCallback = Callable[[list[FileRow], int], None]


@dataclass(frozen=True)
class Upload:
    path: Path
    raw: RawObject


def raw_key(relative: str, dataset: str) -> str:
    """`input/<relative>` for the default dataset, `input/<dataset>/<relative>` for any other."""
    relative = relative.lstrip("/")
    return f"{INPUT_PREFIX}{relative}" if dataset == DEFAULT_DATASET else f"{INPUT_PREFIX}{dataset}/{relative}"


def files_to_upload(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """Each file with the name it gets under the dataset: a file by its name, a folder's files by their path
    inside the folder. Hidden files are skipped."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                (file, file.relative_to(path).as_posix())
                for file in sorted(path.rglob("*"))
                if file.is_file() and not any(part.startswith(".") for part in file.relative_to(path).parts)
            )
        elif path.is_file():
            found.append((path, path.name))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def upload(target: Target, files: list[tuple[Path, str]], dataset: str) -> list[Upload]:
    """Upload each file to the raw bucket; what S3 stored (etag, version) names the process to wait for."""
    s3 = target.clients.s3
    bucket = target.settings.raw_bucket
    uploads = []
    for path, relative in files:
        key = raw_key(relative, dataset)
        s3.upload_file(str(path), bucket, key)
        head = s3.head_object(Bucket=bucket, Key=key)
        raw = RawObject(bucket, key, head["ETag"].strip('"'), head["ContentLength"], head.get("VersionId"))
        uploads.append(Upload(path, raw))
    return uploads


def awaiting(row: FileRow | None) -> str:
    """What a file that has no terminal status yet is waiting for, in `lakebox reconcile`'s words."""
    if row is None:
        return NOT_INGESTED
    return f"{row.status.value}, {AWAITING_VALIDATION}"


def wait_for_outcomes(target: Target, uploads: list[Upload], deadline_s: float = WAIT_DEADLINE_S,
                      interval_s: float = 0.2, on_progress: ProgressCallback | None = None) -> dict[str, FileRow]:
    """Poll until every upload has a terminal status; rows by process id.

    Each poll reads the records of the files still waiting, one process at a time (a Query on its key, whatever the
    lake holds), in upload order, and stops at the first that is not terminal yet: a poll costs one read plus one
    per file that finished since the last, never a read of the whole status index. After each poll `on_progress`
    gets the terminal rows so far and the number of uploads. Past the deadline the TimeoutError names the files
    still in flight (the first NAMED_IN_FLIGHT, each read once more) and what each awaits."""
    wanted = {u.raw.process_id: u.raw.key for u in uploads}
    rows: dict[str, FileRow] = {}

    def all_terminal() -> bool:
        try:
            for pid in [pid for pid in wanted if pid not in rows]:
                row = rows_by_process(target.metadata.stage_records(pid)).get(pid)
                if row is None or not row.status.terminal:
                    return False
                rows[pid] = row
            return True
        finally:
            if on_progress is not None:
                on_progress(list(rows.values()), len(wanted))

    def in_flight() -> str:
        waiting = [pid for pid in wanted if pid not in rows]
        named = [(wanted[pid], awaiting(rows_by_process(target.metadata.stage_records(pid)).get(pid)))
                 for pid in waiting[:NAMED_IN_FLIGHT]]
        width = max(len(key) for key, _ in named)
        lines = [f"  {key:<{width}}  {what}" for key, what in named]
        if len(waiting) > len(named):
            lines.append(f"  ... and {len(waiting) - len(named)} more")
        return f"; {len(waiting)} still in flight:\n" + "\n".join(lines)

    wait_until(all_terminal, deadline_s=deadline_s, interval_s=interval_s,
               what=f"a terminal status for {len(wanted)} uploaded file(s)", on_timeout=in_flight)
    return {pid: rows[pid] for pid in wanted}


def wait_for_metrics(target: Target, since: datetime, files: int, deadline_s: float = 60.0) -> QualityFigures:
    """Poll CloudWatch until the quality stage has published a datapoint for at least `files` files."""
    figures = target.metrics.since(since)

    def published() -> bool:
        nonlocal figures
        figures = target.metrics.since(since)
        return figures.files >= files

    wait_until(published, deadline_s=deadline_s, interval_s=0.5,
               what=f"quality metrics for {files} file(s) in CloudWatch",
               on_timeout=lambda: f"; {figures.files} published so far")
    return figures
