"""What `lakebox send` shows: a live bar of the records sent, the send's summary, where the records landed, and the
one JSON object of `--json`. No AWS calls.

The JSON object, its fields stable:

    stream          the ingest stream's name
    dataset         the dataset the records were sent to
    sent            records the stream took
    failed          entries it did not take by the deadline: position (from 0, in the input's order), partitionKey,
                    errorCode, errorMessage, attempts
    shards          {shard id: [first, last]}: sequence numbers (decimal strings) of the records each shard took
    sample          with --sample: readings, valid, invalid, poison, invalid_by_kind (what an end-to-end run must find)
    files           with --wait: each raw file the records landed in, in shard and sequence order, as a status row
                    (key, status, quality_score, errors, destination, process_id, records_total, records_valid,
                    records_invalid, stages) with version_id, shard, first_sequence and last_sequence
    poison_objects  with --wait: quarantine bucket keys of the objects holding poison records sent
    poison_records  with --wait: how many records sent were set aside as poison
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from lakebox.ingest.outcomes import ProgressCallback
from lakebox.ingest.progress import IngestProgress
from lakebox.send.entries import Sent
from lakebox.send.landing import Landed
from lakebox_layer.stream_puts import SendProgress

_STATUS_WIDTH = 12
T = TypeVar("T")


class SendBar:
    """A rich progress bar of the records the stream took, on `console` for the time of a `with` block; `update`
    is a `SendProgress`."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(TextColumn("records"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=console)
        self._task: TaskID | None = None

    def __enter__(self) -> SendBar:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._progress.stop()

    def update(self, sent: int, total: int | None) -> None:
        """Show `sent` records taken out of `total` (None: not known)."""
        if self._task is None:
            self._task = self._progress.add_task("records", total=total, completed=sent)
        else:
            self._progress.update(self._task, total=total, completed=sent)


class SendWatch:
    """The bars of a send while a person watches (`console` given), nothing otherwise. Each bar lives for the call it
    shows and stops before its result or error is printed, so an error is the last thing on the screen."""

    def __init__(self, console: Console | None) -> None:
        self.console = console

    def records(self, send: Callable[[SendProgress | None], T]) -> T:
        """`send(on_progress)` under a bar of the records sent."""
        if self.console is None:
            return send(None)
        with SendBar(self.console) as bar:
            return send(bar.update)

    def files(self, wait: Callable[[ProgressCallback | None], T]) -> T:
        """`wait(on_progress)` under the bar of `lakebox ingest --wait`: files with a terminal status, by status."""
        if self.console is None:
            return wait(None)
        with IngestProgress(self.console) as bar:
            return wait(bar.update)


def send_json(sent: Sent, landed: Landed | None = None) -> dict[str, Any]:
    """The one JSON object `lakebox send --json` prints (fields in the module docstring)."""
    report = sent.report.to_json()
    value: dict[str, Any] = {"stream": report["stream"], "dataset": sent.dataset, "sent": report["sent"],
                             "failed": report["failed"], "shards": report["shards"]}
    if sent.sample is not None:
        value["sample"] = sent.sample
    if landed is not None:
        value.update(landed.to_json())
    return value


def send_lines(sent: Sent) -> list[str]:
    """The send's summary: the stream and dataset, what each shard took, and every entry that failed with its error
    (plain text, no markup)."""
    report = sent.report
    lines = [f"sent {report.sent} record(s) to stream {report.stream}, dataset {sent.dataset}"]
    if sent.sample is not None:
        sample = sent.sample
        lines.append(f"sample: {sample['readings']} reading(s), {sample['invalid']} invalid, "
                     f"{sample['poison']} poison line(s)")
    lines.extend(f"  {shard}  sequence numbers {first} to {last}"
                 for shard, (first, last) in sorted(report.shards.items()))
    if report.failed:
        lines.append(f"failed: {len(report.failed)} record(s) the stream did not take")
        lines.extend(f"  record {f.entry.position + 1} (partition key {f.entry.partition_key}): {f.error_code}: "
                     f"{f.error_message} (tried {f.attempts} time(s))" for f in report.failed)
    return lines


def landed_lines(landed: Landed) -> list[str]:
    """Each raw file with its terminal status, then the quarantine objects of poison records (plain text)."""
    if not landed.files and not landed.poison_objects:
        return ["no raw file holds the records sent"]
    lines = [f"{row.status.value:<{_STATUS_WIDTH}} {row.key}" for _, row in landed.files]
    if landed.poison_objects:
        lines.append(f"poison: {landed.poison_records} record(s) set aside in the quarantine bucket")
        lines.extend(f"{'':<{_STATUS_WIDTH}} {key}" for key in landed.poison_objects)
    return lines
