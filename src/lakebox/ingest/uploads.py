"""`lakebox ingest`: local files and folders uploaded to the raw bucket under `input/<dataset>/`, and with --wait
each file's outcome (:mod:`lakebox.ingest.outcomes`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakebox.exceptions import DatasetNameRefused
from lakebox.ingest.outcomes import WAIT_DEADLINE_S, ProgressCallback, wait_for_outcomes
from lakebox.lake.listing import current_version
from lakebox.lake.target import Target
from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.records import DEFAULT_DATASET, INPUT_PREFIX, RawObject


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
        stored = current_version(s3, bucket, key)  # listed: the operator may not head a raw file
        if stored is None:
            raise LakeboxError(f"s3://{bucket}/{key} is not listed right after its upload")
        version = stored.get("VersionId")
        raw = RawObject(bucket, key, stored["ETag"].strip('"'), int(stored["Size"]),
                        None if version in (None, "null") else version)
        uploads.append(Upload(path, raw))
    return uploads


def ingest_paths(target: Target, paths: Iterable[Path], dataset: str, wait: bool = False,
                 deadline_s: float = WAIT_DEADLINE_S,
                 on_progress: ProgressCallback | None = None) -> list[dict[str, Any]]:
    """Upload files and folders under input/<dataset>/; one JSON row per file, in upload order.

    Without `wait` each row says `uploaded`; with it, each row is the file's terminal status row. A dataset name
    that cannot become a table name is refused before anything is uploaded. While waiting, `on_progress` hears
    after each poll how many files are terminal (see `wait_for_outcomes`).
    """
    problem = dataset_name_problem(dataset)
    if problem is not None:
        raise DatasetNameRefused(problem)
    uploads = upload(target, files_to_upload(paths), dataset)
    if not wait:
        return [{"key": u.raw.key, "process_id": u.raw.process_id, "status": "uploaded"} for u in uploads]
    rows = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=deadline_s, on_progress=on_progress)
    return [rows[u.raw.process_id].to_json() for u in uploads]
