"""Records to the ingest stream with `PutRecords`: `lakebox send`'s, and the ingestion API's.

Records are read lazily and refused before anything is sent when a line is not a JSON object (the CLI refuses what it
can know is bad; the stream batcher sets aside what slips through). Each record travels in the envelope the batcher
reads, `{"dataset": NAME, "record": {...}}`, under the record's `id` as partition key (spreading ids over shards and
keeping one id's records in order), else the dataset's name.

Entries go in `PutRecords` calls within Kinesis' limits (500 entries, 5 MiB with partition keys, 1 MiB per entry). A
call can succeed for some entries and fail for others: only the entries whose answer names an `ErrorCode` are sent
again, in their original order, after an exponential backoff with jitter, while the deadline allows. Entries that
still fail are in the report with their last error, never dropped. Caveat (AWS): a retried entry lands after later
entries of the same partition key.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import LakeboxError, NotAJsonObject, RecordTooLarge
from lakebox_layer.strict_json import StrictJson

MAX_ENTRIES_PER_CALL = 500
MAX_CALL_BYTES = 5 * 1024 * 1024
# Kinesis counts a record's data and its partition key against this bound.
MAX_ENTRY_BYTES = 1024 * 1024
MAX_PARTITION_KEY_CHARS = 256
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 5.0
SEND_DEADLINE_S = 60.0
# A paced send spreads its records over this many calls a second rather than one call a second of a second's worth:
# a steady producer's records reach the stream as they would from a sensor, and the batching window (not a gap
# between calls) decides when a batch is written.
PACED_CALLS_PER_S = 10
# Errors of a whole call that pass with time: the call's entries are retried like entries that failed alone.
RETRYABLE_CALL_ERRORS = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "KMSThrottlingException",
    "InternalFailure", "ServiceUnavailable", "LimitExceededException",
})
_SHOWN_CHARS = 80

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# Called after each PutRecords call with the records sent so far and the number to send (None when not known).
SendProgress = Callable[[int, int | None], None]


class SendAborted(LakeboxError):
    """The stream refused a call for good (no such stream, no permission); `report` says what was sent before."""

    def __init__(self, message: str, report: SendReport) -> None:
        super().__init__(message)
        self.report = report


class KinesisPutRecords(Protocol):
    """What `send_all` needs of a Kinesis client."""

    def put_records(self, *, StreamName: str, Records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Entry:
    """One `PutRecords` entry: its bytes, partition key and place in what was read (from 0)."""

    data: bytes = field(repr=False)
    partition_key: str
    position: int

    @property
    def size(self) -> int:
        """What Kinesis counts against its limits: data and partition key bytes."""
        return len(self.data) + len(self.partition_key.encode("utf-8"))

    def request(self) -> dict[str, Any]:
        return {"Data": self.data, "PartitionKey": self.partition_key}


@dataclass(frozen=True)
class FailedEntry:
    """An entry the stream did not take by the deadline, with the last error it gave and how often it was tried."""

    entry: Entry
    error_code: str
    error_message: str
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {"position": self.entry.position, "partitionKey": self.entry.partition_key,
                "errorCode": self.error_code, "errorMessage": self.error_message, "attempts": self.attempts}


@dataclass
class SendReport:
    """What a send did: records the stream took, entries it did not, and per shard the first and last sequence
    number written (compared as numbers: their lengths vary)."""

    stream: str
    sent: int = 0
    failed: list[FailedEntry] = field(default_factory=list)
    shards: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def took(self, shard_id: str, sequence_number: str) -> None:
        """Count a record the stream took and widen its shard's range."""
        self.sent += 1
        seen = self.shards.get(shard_id)
        if seen is None:
            self.shards[shard_id] = (sequence_number, sequence_number)
            return
        first, last = seen
        value = int(sequence_number)
        self.shards[shard_id] = (sequence_number if value < int(first) else first,
                                 sequence_number if value > int(last) else last)

    def to_json(self) -> dict[str, Any]:
        return {"stream": self.stream, "sent": self.sent, "failed": [f.to_json() for f in self.failed],
                "shards": {shard: list(span) for shard, span in sorted(self.shards.items())}}


def _shown(text: str) -> str:
    return json.dumps(text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "...", ensure_ascii=False)


def read_json_lines(stream: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines text, lazily; blank lines are skipped. A line that is not a JSON object
    (or is ambiguous JSON: a key twice, NaN) raises NotAJsonObject naming its line number."""
    decoder = StrictJson()
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = decoder.loads(line)
        except RecursionError:
            raise NotAJsonObject(f"line {number}: not JSON: nested too deeply") from None
        except ValueError as error:
            raise NotAJsonObject(f"line {number}: not JSON: {error}: {_shown(line.strip())}") from error
        problem = decoder.problem()
        if problem is not None:
            raise NotAJsonObject(f"line {number}: ambiguous JSON: {problem}")
        if not isinstance(value, dict):
            raise NotAJsonObject(f"line {number}: a record must be a JSON object, not {type(value).__name__}")
        yield value


def partition_key(record: Mapping[str, Any], dataset: str) -> str:
    """The record's `id` when it is a string or an integer Kinesis takes as a key, else the dataset."""
    value = record.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return dataset
    key = str(value)
    return key if 1 <= len(key) <= MAX_PARTITION_KEY_CHARS else dataset


def envelopes(records: Iterable[Mapping[str, Any]], dataset: str) -> Iterator[Entry]:
    """Each record in the envelope `{"dataset": dataset, "record": record}` as compact UTF-8 JSON, keyed by
    `partition_key`. A dataset name the pipeline would refuse is refused here, before anything is sent."""
    refused = dataset_name_problem(dataset)
    if refused is not None:
        raise ValueError(refused)
    for position, record in enumerate(records):
        yield envelope(record, dataset, position)


def envelope(record: Mapping[str, Any], dataset: str, position: int) -> Entry:
    """One record in its envelope (see `envelopes`, which checks the dataset's name first)."""
    body = json.dumps({"dataset": dataset, "record": record}, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return Entry(body.encode("utf-8"), partition_key(record, dataset), position)


def checked_size(entry: Entry) -> Entry:
    """The entry, if Kinesis takes it as one record; RecordTooLarge if not."""
    if entry.size > MAX_ENTRY_BYTES:
        raise RecordTooLarge(f"record {entry.position + 1} is {entry.size} bytes with its partition key; "
                             f"a Kinesis record holds at most {MAX_ENTRY_BYTES}")
    return entry


def chunks(entries: Iterable[Entry], max_entries: int = MAX_ENTRIES_PER_CALL) -> Iterator[list[Entry]]:
    """Consecutive runs of entries for one `PutRecords` call each: at most `max_entries` (≤ 500) entries and
    5 MiB of data and partition keys. An entry over 1 MiB raises RecordTooLarge when it is reached."""
    if not 1 <= max_entries <= MAX_ENTRIES_PER_CALL:
        raise ValueError(f"max_entries must be 1 to {MAX_ENTRIES_PER_CALL}, not {max_entries}")
    run: list[Entry] = []
    size = 0
    for entry in map(checked_size, entries):
        if run and (len(run) >= max_entries or size + entry.size > MAX_CALL_BYTES):
            yield run
            run, size = [], 0
        run.append(entry)
        size += entry.size
    if run:
        yield run


def backoff_delays(rng: random.Random) -> Iterator[float]:
    """Waits before each retry: 0.1 s doubling to at most 5 s, each drawn from its upper half (jitter)."""
    ceiling = BACKOFF_FIRST_S
    while True:
        yield rng.uniform(ceiling / 2, ceiling)
        ceiling = min(ceiling * 2, BACKOFF_MAX_S)


class Pacer:
    """A token bucket of `rate_per_s` tokens a second holding at most one second's worth (at least one token)."""

    def __init__(self, rate_per_s: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        if not rate_per_s > 0:
            raise ValueError(f"a rate must be positive, not {rate_per_s}")
        self.rate = float(rate_per_s)
        self.capacity = max(1.0, self.rate)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self, count: int = 1) -> None:
        """Wait until `count` tokens are there, and take them; more than the bucket holds are taken in parts."""
        remaining = float(count)
        while remaining > 0:
            part = min(remaining, self.capacity)
            self._refill()
            if self._tokens < part:
                self._sleep((part - self._tokens) / self.rate)
                self._refill()
            self._tokens -= part
            remaining -= part


def pace(rate_per_s: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> Pacer:
    """A token bucket pacing `lakebox send --rate N` to `rate_per_s` records a second."""
    return Pacer(rate_per_s, clock=clock, sleep=sleep)


def _put(client: KinesisPutRecords, stream_name: str, pending: list[Entry]) -> list[Mapping[str, Any]]:
    """One call's answer per entry; a whole call refused for a passing reason is every entry failing with it."""
    try:
        response = client.put_records(StreamName=stream_name, Records=[e.request() for e in pending])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in RETRYABLE_CALL_ERRORS:
            raise
        message = error.response.get("Error", {}).get("Message", "")
        return [{"ErrorCode": code, "ErrorMessage": message}] * len(pending)
    results: list[Mapping[str, Any]] = response["Records"]
    if len(results) != len(pending):
        raise ValueError(f"PutRecords answered {len(results)} entries for {len(pending)} sent")
    return results


def send_all(kinesis_client: KinesisPutRecords, stream_name: str, entries: Iterable[Entry], *, deadline_s: float,
             sleep: Sleep = time.sleep, clock: Clock = time.monotonic, on_progress: SendProgress | None = None,
             pacer: Pacer | None = None, rng: random.Random | None = None,
             max_entries: int = MAX_ENTRIES_PER_CALL) -> SendReport:
    """Put every entry to `stream_name`, one `PutRecords` call per chunk, and say what the stream took.

    Each entry is tried at least once. The entries of a call that fail (an `ErrorCode` in their answer, or the
    whole call throttled) are tried again, alone and in their original order, after a backoff; a retry whose wait
    would end past the deadline (counted from the start) is not made, and those entries are reported failed with
    their last error. A call refused for good raises SendAborted with the report so far. `on_progress` gets the
    records sent and the total after each call; `pacer` (see `pace`) takes a token per entry put, retries included.
    """
    report = SendReport(stream_name)
    total = len(entries) if isinstance(entries, Sized) else None
    deadline = clock() + deadline_s
    rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
    if pacer is not None:  # about PACED_CALLS_PER_S calls a second: records arrive as a steady trickle
        max_entries = min(max_entries, max(1, int(pacer.rate / PACED_CALLS_PER_S)))
    for chunk in chunks(entries, max_entries):
        pending = chunk
        attempts = 0
        delays = backoff_delays(rng)
        while pending:
            if pacer is not None:
                pacer.take(len(pending))
            attempts += 1
            report.calls += 1
            try:
                results = _put(kinesis_client, stream_name, pending)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", "")
                report.failed.extend(FailedEntry(e, code, message, attempts) for e in pending)
                raise SendAborted(f"stream {stream_name} refused PutRecords: {code}: {message}", report) from error
            failed: list[tuple[Entry, Mapping[str, Any]]] = []
            for entry, result in zip(pending, results, strict=True):
                if result.get("ErrorCode"):
                    failed.append((entry, result))
                else:
                    report.took(str(result["ShardId"]), str(result["SequenceNumber"]))
            if on_progress is not None:
                on_progress(report.sent, total)
            if not failed:
                break
            delay = next(delays)
            if clock() + delay > deadline:
                report.failed.extend(FailedEntry(e, str(r["ErrorCode"]), str(r.get("ErrorMessage", "")), attempts)
                                     for e, r in failed)
                break
            sleep(delay)
            pending = [e for e, _ in failed]
    return report
