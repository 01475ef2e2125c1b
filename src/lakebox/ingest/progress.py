"""`lakebox ingest --wait` on a terminal: a live bar of the files that reached their terminal status, with how many
ended in each status. No AWS calls: `wait_for_outcomes` hands it the rows after each poll."""

from __future__ import annotations

from collections import Counter
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lakebox_layer.records import FileStatus
from lakebox_layer.status import FileRow

_COLOURS = {FileStatus.PROCESSED: "green", FileStatus.QUARANTINED: "yellow", FileStatus.FAILED: "red",
            FileStatus.IN_PROGRESS: "cyan"}


def status_counts(rows: list[FileRow], total: int) -> dict[FileStatus, int]:
    """Files per status, every status named: the terminal rows by their status, the rest of `total` in progress."""
    counts = Counter(row.status for row in rows if row.status.terminal)
    done = sum(counts.values())
    return {status: (total - done if status is FileStatus.IN_PROGRESS else counts[status]) for status in FileStatus}


def counts_text(counts: dict[FileStatus, int]) -> str:
    """`processed 3  quarantined 1  failed 0  in progress 6`, each status in its `lakebox status` colour."""
    return "  ".join(f"[{_COLOURS[status]}]{status.value.replace('_', ' ')} {count}[/]"
                     for status, count in counts.items())


class IngestProgress:
    """A rich progress bar on `console` for the time of a `with` block; `update` is a `ProgressCallback`."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("outcomes"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(), console=console,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> IngestProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._progress.stop()

    def update(self, rows: list[FileRow], total: int) -> None:
        """Show `rows` (the terminal ones so far) out of `total` files."""
        counts = status_counts(rows, total)
        text = counts_text(counts)
        done = total - counts[FileStatus.IN_PROGRESS]
        if self._task is None:
            self._task = self._progress.add_task("outcomes", total=total, completed=done, counts=text)
        else:
            self._progress.update(self._task, total=total, completed=done, counts=text)
