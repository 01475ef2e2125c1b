"""Waiting for uploaded files' outcomes: poll each file's stage records until it has a terminal status, and say
what is still in flight when the deadline passes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lakebox.lake.metrics import QualityFigures
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_layer.records import RawObject
from lakebox_layer.status import FileRow, awaiting, rows_by_process

WAIT_DEADLINE_S = 120.0
# A timeout names this many of the files still in flight (each read once more, so the message says where it is now).
NAMED_IN_FLIGHT = 20
# Called after each poll with the terminal rows so far and the number of files awaited.
ProgressCallback = Callable[[list[FileRow], int], None]


def wait_for_outcomes(target: Target, raws: Sequence[RawObject], deadline_s: float = WAIT_DEADLINE_S,
                      interval_s: float = 0.2, on_progress: ProgressCallback | None = None) -> dict[str, FileRow]:
    """Poll until every upload has a terminal status; rows by process id.

    Each poll reads the records of the files still waiting, one process at a time (a Query on its key, whatever the
    lake holds), in upload order, and stops at the first that is not terminal yet: a poll costs one read plus one
    per file that finished since the last, never a read of the whole status index. After each poll `on_progress`
    gets the terminal rows so far and the number of uploads. Past the deadline the TimeoutError names the files
    still in flight (the first NAMED_IN_FLIGHT, each read once more) and what each awaits."""
    wanted = {raw.process_id: raw.key for raw in raws}
    rows: dict[str, FileRow] = {}

    def all_terminal() -> bool:
        try:
            for pid in [pid for pid in wanted if pid not in rows]:
                row = rows_by_process(target.metadata.process_status_records(pid)).get(pid)
                if row is None or not row.status.terminal:
                    return False
                rows[pid] = row
            return True
        finally:
            if on_progress is not None:
                on_progress(list(rows.values()), len(wanted))

    def in_flight() -> str:
        waiting = [pid for pid in wanted if pid not in rows]
        named = [(wanted[pid], awaiting(rows_by_process(target.metadata.process_status_records(pid)).get(pid)))
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
