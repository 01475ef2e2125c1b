"""`lakebox ingest`: local files and folders uploaded to the raw bucket under `input/<dataset>/`, and with --wait
each file's outcome (:mod:`lakebox.ingest.outcomes`)."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
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

# Files up to this size are sent in one PUT (s3transfer's own multipart threshold); larger ones through upload_file,
# in parts.
SINGLE_PUT_BYTES = 8 * 1024 * 1024
# Files uploaded at once: S3 (and the emulator) take concurrent PUTs, and each waits mostly on the network.
UPLOAD_THREADS = 8


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
    """Upload each file to the raw bucket, UPLOAD_THREADS at a time; what S3 stored (etag, version) names the
    process to wait for. In the order given."""
    s3 = target.clients.s3
    bucket = target.settings.raw_bucket

    def one(path: Path, relative: str) -> Upload:
        key = raw_key(relative, dataset)
        size = path.stat().st_size
        if size <= SINGLE_PUT_BYTES:
            # The PUT's answer names what S3 stored: no second call.
            with path.open("rb") as body:
                stored: dict[str, Any] = dict(s3.put_object(Bucket=bucket, Key=key, Body=body))
        else:
            s3.upload_file(str(path), bucket, key)
            listed = current_version(s3, bucket, key)  # listed: the operator may not head a raw file
            if listed is None:
                raise LakeboxError(f"s3://{bucket}/{key} is not listed right after its upload")
            stored = dict(listed)
        version = stored.get("VersionId")
        return Upload(path, RawObject(bucket, key, str(stored["ETag"]).strip('"'), size,
                                      None if version in (None, "null") else str(version)))

    if len(files) == 1:
        return [one(*files[0])]
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        return list(pool.map(lambda file: one(*file), files))


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
