"""`lakebox send --wait`: from the records the stream took to the raw files they became and each file's outcome.

Three steps share one deadline:

1. The stream batcher's ledger: each shard a record went to is polled until its `committed` sequence number reaches
   the last one sent there (compared as numbers). From then on every record sent to that shard is in an object.
2. The objects: the raw bucket is listed under `input/<dataset>/stream/<hour>/`, the quarantine bucket under
   `quarantine/stream/<hour>/`, for every UTC hour from the send's start (less CLOCK_SLACK) to now (plus CLOCK_SLACK):
   an object's hour is its first record's arrival at the stream, by the stream's clock. An object's name says its
   shard and the sequence numbers of its first and last record; it counts when its shard was sent to and that span
   overlaps the one sent there. A poison object counts the lines of records sent (its lines name their shard and
   sequence number), so records of other producers in the same object are not counted as ours.
3. The raw files' terminal status, with `wait_for_outcomes`, as `lakebox ingest --wait` waits for uploads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lakebox.ingest.outcomes import WAIT_DEADLINE_S, ProgressCallback, wait_for_outcomes
from lakebox.polling import wait_until
from lakebox.send.entries import Sent
from lakebox_layer.adapters.stream_ledger import StreamLedger
from lakebox_layer.records import INPUT_PREFIX, FileStatus, RawObject
from lakebox_layer.routing import QUARANTINE_PREFIX
from lakebox_layer.status import FileRow
from lakebox_layer.stream_batches import STREAM_FOLDER, key_span, sequence_value

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectTypeDef, ObjectVersionTypeDef

    from lakebox.lake.target import Target

# How far the stream's clock may be from ours when it stamps a record's arrival.
CLOCK_SLACK = timedelta(minutes=1)
LEDGER_INTERVAL_S = 0.2
# The ledger's `committed` for (stream, shard); None before the shard's first commit.
CommittedReader = Callable[[str, str], str | None]
Clock = Callable[[], float]
# S3's version id of an object written while the bucket was not versioned.
_NO_VERSION = "null"


@dataclass(frozen=True)
class StreamFile:
    """A raw object the stream batcher wrote: the object version, and the shard and sequence span its name gives."""

    raw: RawObject
    shard: str
    first: str
    last: str


@dataclass(frozen=True)
class Landed:
    """Where the records sent ended: each raw file with its terminal status row (in shard and sequence order), and
    the quarantine objects holding poison records sent, with how many of those records they hold."""

    files: list[tuple[StreamFile, FileRow]]
    poison_objects: list[str]
    poison_records: int

    @property
    def failed(self) -> list[FileRow]:
        """The files whose processing failed (quarantined is an outcome, failed is not)."""
        return [row for _, row in self.files if row.status is FileStatus.FAILED]

    def to_json(self) -> dict[str, Any]:
        return {"files": [{**row.to_json(), "version_id": file.raw.version_id, "shard": file.shard,
                           "first_sequence": file.first, "last_sequence": file.last} for file, row in self.files],
                "poison_objects": self.poison_objects, "poison_records": self.poison_records}


def utc_now() -> datetime:
    return datetime.now(UTC)


def committed_reader(target: Target) -> CommittedReader:
    """Each shard's `committed` from the batcher's ledger items in the metadata table."""
    ledger = StreamLedger(target.clients.dynamodb, target.settings.metadata_table)
    return lambda stream, shard: ledger.read(stream, shard).committed


def overlaps(first: str, last: str, sent: tuple[str, str]) -> bool:
    """Whether the sequence numbers `first` to `last` share one with the span `sent` (as numbers)."""
    return sequence_value(first) <= sequence_value(sent[1]) and sequence_value(last) >= sequence_value(sent[0])


def hour_folders(start: datetime, end: datetime) -> list[str]:
    """The `YYYY/MM/DD/HH` folder of every UTC hour from `start`'s to `end`'s, both included."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    folders = []
    while hour <= end:
        folders.append(hour.strftime("%Y/%m/%d/%H"))
        hour += timedelta(hours=1)
    return folders


def _reached(committed: str | None, last: str) -> bool:
    return committed is not None and sequence_value(committed) >= sequence_value(last)


def behind(committed: Mapping[str, str | None], shards: Mapping[str, tuple[str, str]]) -> list[str]:
    """The shards whose ledger has not reached the last sequence number sent to them, in order."""
    return [shard for shard, (_, last) in sorted(shards.items()) if not _reached(committed.get(shard), last)]


def wait_for_commits(read_committed: CommittedReader, stream: str, shards: Mapping[str, tuple[str, str]], *,
                     deadline_s: float, interval_s: float = LEDGER_INTERVAL_S) -> None:
    """Poll the ledger of each shard sent to until it is committed through the last record sent there; past the
    deadline the TimeoutError names each shard still behind, where its ledger is and where the send ended."""
    committed: dict[str, str | None] = {}

    def all_written() -> bool:
        for shard in behind(committed, shards):
            committed[shard] = read_committed(stream, shard)
        return not behind(committed, shards)

    def ledger(shard: str) -> str:
        through = committed.get(shard)
        return "nothing committed yet" if through is None else f"committed through {through}"

    def still_behind() -> str:
        lines = [f"  {shard}  {ledger(shard)}, sent through {shards[shard][1]}" for shard in behind(committed, shards)]
        return f"; {len(lines)} shard(s) behind:\n" + "\n".join(lines)

    wait_until(all_written, deadline_s=deadline_s, interval_s=interval_s, on_timeout=still_behind,
               what=f"the stream batcher to write the records sent to {len(shards)} shard(s) of {stream}")


def _versions(s3: S3Client, bucket: str, prefixes: list[str]) -> Iterator[ObjectVersionTypeDef]:
    for prefix in prefixes:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Versions", [])


def _objects(s3: S3Client, bucket: str, prefixes: list[str]) -> Iterator[ObjectTypeDef]:
    for prefix in prefixes:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Contents", [])


def find_stream_files(s3: S3Client, bucket: str, dataset: str, shards: Mapping[str, tuple[str, str]],
                      hours: list[str]) -> list[StreamFile]:
    """The latest version of every raw object of `dataset` written in those hours whose shard and span overlap
    what was sent, in shard and sequence order."""
    prefixes = [f"{INPUT_PREFIX}{dataset}/{STREAM_FOLDER}/{hour}/" for hour in hours]
    found = []
    for version in _versions(s3, bucket, prefixes):
        span = key_span(version["Key"])
        if not version.get("IsLatest", True) or span is None:
            continue
        shard, first, last = span
        if shard in shards and overlaps(first, last, shards[shard]):
            version_id = version.get("VersionId")
            raw = RawObject(bucket, version["Key"], str(version["ETag"]).strip('"'), int(version["Size"]),
                            None if version_id in (None, _NO_VERSION) else version_id)
            found.append(StreamFile(raw, shard, first, last))
    return sorted(found, key=lambda f: (f.shard, sequence_value(f.first)))


def _poison_sent(body: bytes, shards: Mapping[str, tuple[str, str]]) -> int:
    """How many lines of a quarantine object are records sent: their shard and sequence number within its span."""
    count = 0
    for line in body.splitlines():
        try:
            poison = json.loads(line)
            shard, sequence = str(poison["shardId"]), str(poison["sequenceNumber"])
        except (ValueError, KeyError, TypeError):
            continue
        if shard in shards and sequence.isdigit() and overlaps(sequence, sequence, shards[shard]):
            count += 1
    return count


def find_poison(s3: S3Client, bucket: str, shards: Mapping[str, tuple[str, str]],
                hours: list[str]) -> tuple[list[str], int]:
    """The quarantine objects of the stream written in those hours that hold poison records sent, in key order,
    and how many such records they hold."""
    prefixes = [f"{QUARANTINE_PREFIX}/{STREAM_FOLDER}/{hour}/" for hour in hours]
    keys, records = [], 0
    for listed in _objects(s3, bucket, prefixes):
        span = key_span(listed["Key"])
        if span is None or span[0] not in shards or not overlaps(span[1], span[2], shards[span[0]]):
            continue
        count = _poison_sent(s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read(), shards)
        if count:
            keys.append(listed["Key"])
            records += count
    return sorted(keys), records


def wait_for_landing(target: Target, sent: Sent, *, deadline_s: float = WAIT_DEADLINE_S,
                     on_progress: ProgressCallback | None = None, clock: Clock | None = None) -> Landed:
    """Wait for the stream batcher to write every record `sent`, find the raw and quarantine objects holding them,
    and wait for each raw file's terminal status; all within `deadline_s`."""
    clock = clock or time.monotonic
    deadline = clock() + deadline_s
    shards = sent.report.shards
    if not shards:
        return Landed([], [], 0)
    wait_for_commits(committed_reader(target), sent.report.stream, shards, deadline_s=max(0.0, deadline - clock()))
    hours = hour_folders(sent.started_at - CLOCK_SLACK, utc_now() + CLOCK_SLACK)
    s3, settings = target.clients.s3, target.settings
    files = find_stream_files(s3, settings.raw_bucket, sent.dataset, shards, hours)
    poison_objects, poison_records = find_poison(s3, settings.quarantine_bucket, shards, hours)
    rows: dict[str, FileRow] = {}
    if files:
        rows = wait_for_outcomes(target, [f.raw for f in files],
                                 deadline_s=max(0.0, deadline - clock()), on_progress=on_progress)
    return Landed([(f, rows[f.raw.process_id]) for f in files], poison_objects, poison_records)
