"""`lakebox ingest`: upload files or folders to the raw bucket; with --wait, every file's terminal status."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.ingest.outcomes import WAIT_DEADLINE_S
from lakebox.ingest.progress import IngestProgress
from lakebox.ingest.uploads import ingest_paths
from lakebox.lake.target import Target
from lakebox_layer.records import DEFAULT_DATASET, FileStatus


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to upload")],
    dataset: Annotated[str, typer.Option(help="dataset the files belong to")] = DEFAULT_DATASET,
    wait: Annotated[bool, typer.Option("--wait", help="wait for every file's terminal status")] = False,
    timeout: Annotated[float, typer.Option(
        min=0, help="seconds to wait with --wait; past them, the files still in flight are named and it exits 1")]
    = WAIT_DEADLINE_S,
    json_output: JsonOption = False,
) -> None:
    """Upload files or folders to the raw bucket under input/<dataset>/; with --wait, a live progress bar on a
    terminal."""
    target = Target.resolve()
    # The bar goes to stderr, and only when a person watches: not for --json, not into a pipe or a file. It stops
    # before any error is printed, so the error is the last thing on the screen.
    progress = IngestProgress(common.err) if wait and not json_output and common.out.is_terminal else None
    with progress or nullcontext():
        results = ingest_paths(target, paths, dataset, wait=wait, deadline_s=timeout,
                               on_progress=progress.update if progress else None)
    if json_output:
        common.print_json(results)
        return
    for result in results:
        common.out.print(f"{result['status']:<12} {result['key']}", highlight=False)
    if wait and any(r["status"] == FileStatus.FAILED.value for r in results):
        raise typer.Exit(1)
