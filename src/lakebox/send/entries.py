"""`lakebox send`: records from a JSON Lines file, stdin or a generated sample, put to the ingest stream.

Everything to send is read and checked before the first call: a line that is not a JSON object, a dataset name the
pipeline would refuse or a record larger than a Kinesis record stops the command with nothing sent. The sample's
poison lines are the exception by design: they go as they are, not in an envelope, so the stream batcher sets them
aside the way it would a malformed record from any other producer (`lakebox send --sample sensors --poison-every P`
reproduces that end to end).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from botocore.exceptions import ClientError

from lakebox.exceptions import DatasetNameRefused
from lakebox.send.sensor_sample import SensorSample, sensor_sample
from lakebox_layer.adapters.errors import error_code
from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import NotAJsonObject
from lakebox_layer.records import DEFAULT_DATASET
from lakebox_layer.stream_puts import (
    SEND_DEADLINE_S,
    Entry,
    KinesisPutRecords,
    SendAborted,
    SendProgress,
    SendReport,
    checked_size,
    envelope,
    envelopes,
    pace,
    read_json_lines,
    send_all,
)

if TYPE_CHECKING:
    from lakebox.lake.target import Target

SENSORS = "sensors"
# What `--sample` can generate, and the dataset each goes to unless `--dataset` says otherwise.
SAMPLE_DATASETS = {SENSORS: SENSORS}
STDIN = "-"
_STREAM_MISSING = "ResourceNotFoundException"


@dataclass(frozen=True)
class SampleRequest:
    """What `--sample NAME --count N [--seed K] [--invalid-every K] [--poison-every P]` ask for; each None when not
    given (`usage_problem` says whether they make a sample)."""

    name: str | None = None
    count: int | None = None
    seed: int | None = None
    invalid_every: int | None = None
    poison_every: int | None = None

    def generate(self) -> SensorSample:
        """The sample asked for; the same request gives the same sample."""
        if self.name is None or self.count is None:
            raise ValueError("a sample needs a name and a count")
        return sensor_sample(self.count, seed=self.seed or 0, invalid_every=self.invalid_every,
                             poison_every=self.poison_every)


@dataclass(frozen=True)
class Sent:
    """What a send did, for the wait and the output: the dataset, the stream's report, when the first call was about
    to be made (UTC wall clock: the earliest hour folder the records can land in) and, for a sample, what it holds."""

    dataset: str
    report: SendReport
    started_at: datetime
    sample: dict[str, Any] | None = None


def usage_problem(file: Path | None, sample: SampleRequest, rate: float | None) -> str | None:
    """Why the options cannot make a send (a usage error), or None."""
    if rate is not None and not rate > 0:
        return f"--rate must be a positive number of records a second, not {rate}"
    if sample.name is None:
        if any(o is not None for o in (sample.count, sample.seed, sample.invalid_every, sample.poison_every)):
            return "--count, --seed, --invalid-every and --poison-every go with --sample"
        return None
    if sample.name not in SAMPLE_DATASETS:
        return f"no sample {sample.name!r}: choose one of {', '.join(SAMPLE_DATASETS)}"
    if file is not None:
        return "--sample sends the generated sample: leave out FILE"
    if sample.count is None:
        return "--sample needs --count N, the number of readings"
    return None


def default_dataset(sample: SampleRequest) -> str:
    """The dataset when `--dataset` is not given: the sample's own, else the one `ingest` uses."""
    return SAMPLE_DATASETS[sample.name] if sample.name is not None else DEFAULT_DATASET


def _check_dataset(dataset: str) -> None:
    problem = dataset_name_problem(dataset)
    if problem is not None:
        raise DatasetNameRefused(problem)


def line_entries(lines: Iterable[str], dataset: str) -> list[Entry]:
    """Every record of a JSON Lines text in its envelope, read to the end first so that a bad line (NotAJsonObject),
    a refused dataset name or a record too large stops the send before anything goes."""
    _check_dataset(dataset)
    try:
        entries = list(envelopes(read_json_lines(lines), dataset))
    except UnicodeDecodeError as error:
        raise NotAJsonObject(f"not UTF-8 text: {error.reason} at byte {error.start}") from error
    return [checked_size(entry) for entry in entries]


def file_entries(file: Path | None, dataset: str, stdin: TextIO) -> list[Entry]:
    """The entries of a JSON Lines file, or of `stdin` when `file` is None or `-`."""
    if file is None or str(file) == STDIN:
        return line_entries(stdin, dataset)
    with file.open(encoding="utf-8") as text:
        return line_entries(text, dataset)


def entries_to_send(file: Path | None, sample: SampleRequest, dataset: str,
                    stdin: TextIO) -> tuple[list[Entry], dict[str, Any] | None]:
    """The entries to send, and for a sample what it holds (`SampleReport.to_json`, the counts an end-to-end run must
    find); nothing is sent yet."""
    if sample.name is None:
        return file_entries(file, dataset, stdin), None
    generated = sample.generate()
    return sample_entries(generated, dataset), generated.report().to_json()


def sample_entries(sample: SensorSample, dataset: str) -> list[Entry]:
    """The sample's lines as entries, in the order of `sample.lines()` and numbered so (position = line from
    0): each reading in its envelope under its id, each poison line as its bare bytes under the dataset's name, so
    the stream batcher reads it as a malformed record and sets it aside."""
    _check_dataset(dataset)
    return [checked_size(Entry(line.encode("utf-8"), dataset, position) if isinstance(line, str)
                         else envelope(line, dataset, position))
            for position, line in enumerate(sample.lines())]


def aborted_message(error: SendAborted, stream: str, where: str) -> str:
    """What to tell when the stream refused a call for good: a missing stream means the pipeline is not up."""
    cause = error.__cause__
    sent = f"; {error.report.sent} record(s) were taken before" if error.report.sent else ""
    if isinstance(cause, ClientError) and error_code(cause) == _STREAM_MISSING:
        return f"no stream {stream} at {where} ({_STREAM_MISSING}){sent}: run `lakebox up` first"
    return f"{error}{sent}"


def send_entries(target: Target, entries: list[Entry], dataset: str, *, rate: float | None = None,
                 on_progress: SendProgress | None = None, deadline_s: float = SEND_DEADLINE_S,
                 sample: dict[str, Any] | None = None) -> Sent:
    """Put `entries` to the ingest stream, `rate` records a second at most (None: unpaced). Entries still failing
    at the deadline are in the report; a call refused for good raises SendAborted saying what to do about it."""
    stream = target.names.ingest_stream
    # Read at call time: a test gives this module a `time` whose clock moves only when slept on.
    sleep, clock = time.sleep, time.monotonic
    pacer = pace(rate, clock=clock, sleep=sleep) if rate else None
    started_at = datetime.now(UTC)
    try:
        report = send_all(cast(KinesisPutRecords, target.kinesis), stream, entries, deadline_s=deadline_s,
                          sleep=sleep, clock=clock, on_progress=on_progress, pacer=pacer)
    except SendAborted as error:
        raise SendAborted(aborted_message(error, stream, target.where), error.report) from error
    return Sent(dataset, report, started_at, sample)
