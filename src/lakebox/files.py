"""`lakebox ingest`: upload files to the raw bucket and, with --wait, each file's outcome."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lakebox.exceptions import DatasetNameRefused
from lakebox.target import Target
from lakebox.uploads import WAIT_DEADLINE_S, ProgressCallback, files_to_upload, upload, wait_for_outcomes
from lakebox_layer.datasets import dataset_name_problem


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
    rows = wait_for_outcomes(target, uploads, deadline_s=deadline_s, on_progress=on_progress)
    return [rows[u.raw.process_id].to_json() for u in uploads]
