"""From a batch of Kinesis records, as Lambda delivers them, to the raw objects the stream batcher writes. Pure, no AWS.

Each record is decoded (base64, UTF-8, strict JSON) and given its dataset: the envelope's
(`{"dataset": NAME, "record": {...}}`, exactly those two keys), else the partition key. A record that cannot be read,
or whose dataset is not a valid dataset name, is poison: it is set aside with its reason and never stops the rest.

Good records are grouped by shard, dataset and arrival hour, in sequence order, and cut into JSON Lines objects of at
most `Bounds.max_records` records and `Bounds.max_bytes` bytes. An object's key names its shard and the sequence
numbers of its first and last record, and its body depends on nothing but those records, so the same records give the
same keys and the same bytes, however often the batch is delivered:

    input/<dataset>/stream/YYYY/MM/DD/HH/<shard>-<first sequence>-<last sequence>.jsonl

Poison records of a batch go to one JSON Lines object under `quarantine/stream/` (the quarantine bucket), one line
per record with its reason and its bytes in base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.records import INPUT_PREFIX
from lakebox_layer.routing import QUARANTINE_PREFIX
from lakebox_layer.strict_json import StrictJson

STREAM_FOLDER = "stream"
STREAM_EXTENSION = ".jsonl"
JSON_LINES_CONTENT_TYPE = "application/x-ndjson"
ENVELOPE_KEYS = frozenset({"dataset", "record"})

# What Lambda hands a function from Kinesis at most: 10,000 records, 6 MB of payload.
MAX_LAMBDA_BATCH_RECORDS = 10_000
DEFAULT_MAX_RECORDS = 5_000
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# A reason names at most this much of a value it quotes.
_SHOWN_CHARS = 80


@dataclass(frozen=True)
class Bounds:
    """How big one raw object may grow: records and bytes of its body. A single record larger than `max_bytes`
    still gets an object of its own (it is never dropped). Time is bounded by the mapping's batching window."""

    max_records: int = DEFAULT_MAX_RECORDS
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.max_records <= MAX_LAMBDA_BATCH_RECORDS:
            raise ValueError(f"max_records must be 1 to {MAX_LAMBDA_BATCH_RECORDS}, not {self.max_records}")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, not {self.max_bytes}")


@dataclass(frozen=True)
class StreamRecord:
    """One Kinesis record as Lambda delivers it, its data decoded from base64."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float  # approximateArrivalTimestamp: seconds since the epoch

    @classmethod
    def from_lambda(cls, record: Mapping[str, Any]) -> StreamRecord | Poison:
        """A record of a Lambda event from Kinesis; Poison when its data is not base64. An event record without a
        shard, sequence number or arrival time is not a record at all: ValueError (Lambda never sends one)."""
        try:
            kinesis = record["kinesis"]
            shard_id = str(record["eventID"]).rpartition(":")[0]
            sequence_number = str(kinesis["sequenceNumber"])
            partition_key = str(kinesis.get("partitionKey", ""))
            arrival = float(kinesis["approximateArrivalTimestamp"])
            encoded = kinesis.get("data") or ""
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a Kinesis event record: {error!r}") from error
        if not shard_id or not sequence_number.isdigit():
            raise ValueError(f"not a Kinesis event record: eventID {record.get('eventID')!r}")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return Poison(shard_id, sequence_number, partition_key, arrival, str(encoded).encode(),
                          "data is not base64")
        return cls(shard_id, sequence_number, partition_key, data, arrival)


@dataclass(frozen=True)
class Poison:
    """A record set aside: it cannot be read, or names no valid dataset. `data` is its bytes as sent."""

    shard_id: str
    sequence_number: str
    partition_key: str
    arrival: float
    data: bytes
    reason: str

    def to_line(self) -> dict[str, Any]:
        return {"shardId": self.shard_id, "sequenceNumber": self.sequence_number,
                "partitionKey": self.partition_key, "approximateArrivalTimestamp": self.arrival,
                "reason": self.reason, "data": base64.b64encode(self.data).decode("ascii")}


@dataclass(frozen=True)
class StreamObject:
    """One object to write: its key, what it holds, and its body."""

    key: str
    shard_id: str
    first_sequence: str
    last_sequence: str
    count: int
    body: bytes = field(repr=False)
    dataset: str | None = None  # None for the quarantine object of poison records

    @property
    def sha256(self) -> str:
        """The body's digest: a retried write compares it with what a plan recorded."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class BatchPlan:
    """What one delivered batch becomes: raw objects (in write order), the poison records and their quarantine
    object, and the last sequence number the batch covered (None when it covered nothing new)."""

    objects: tuple[StreamObject, ...]
    poison: tuple[Poison, ...]
    quarantine: StreamObject | None
    through: str | None

    @property
    def records(self) -> int:
        """How many records the raw objects hold."""
        return sum(o.count for o in self.objects)


@dataclass(frozen=True)
class _Line:
    """A good record: its dataset, its JSON Lines line and where it came from."""

    record: StreamRecord
    dataset: str
    line: bytes


def sequence_value(sequence_number: str) -> int:
    """A sequence number's order: Kinesis compares them as numbers, and their lengths vary."""
    return int(sequence_number)


def hour_folder(arrival: float) -> str:
    """The `YYYY/MM/DD/HH` folder of an arrival time, in UTC."""
    return datetime.fromtimestamp(arrival, UTC).strftime("%Y/%m/%d/%H")


def stream_key(dataset: str, shard_id: str, first: str, last: str, arrival: float) -> str:
    """The raw key of an object holding one shard's records `first` to `last` of `dataset`."""
    return f"{INPUT_PREFIX}{dataset}/{STREAM_FOLDER}/{hour_folder(arrival)}/{shard_id}-{first}-{last}{STREAM_EXTENSION}"


def key_span(key: str) -> tuple[str, str, str] | None:
    """The shard, first and last sequence number a stream object's name `<shard>-<first>-<last>.jsonl` gives (a
    shard id has hyphens of its own), or None for a name of another shape."""
    name = key.rpartition("/")[2]
    if not name.endswith(STREAM_EXTENSION):
        return None
    parts = name[: -len(STREAM_EXTENSION)].rsplit("-", 2)
    if len(parts) != 3 or not parts[0] or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return parts[0], parts[1], parts[2]


def quarantine_key(shard_id: str, first: str, last: str, arrival: float) -> str:
    """The quarantine key of a batch's poison records `first` to `last` of a shard."""
    return f"{QUARANTINE_PREFIX}/{STREAM_FOLDER}/{hour_folder(arrival)}/{shard_id}-{first}-{last}{STREAM_EXTENSION}"


def _shown(value: str) -> str:
    shown = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "..."
    return json.dumps(shown, ensure_ascii=False)


def read_record(record: StreamRecord, decoder: StrictJson | None = None) -> tuple[str, bytes] | str:
    """A record's dataset and JSON Lines line (compact JSON and a newline), or why it is poison."""
    decoder = decoder or StrictJson()
    try:
        text = record.data.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"not UTF-8 text: {error.reason} at byte {error.start}"
    try:
        value = decoder.loads(text)
    except RecursionError:
        return "not JSON: nested too deeply"
    except ValueError as error:
        return f"not JSON: {error}"
    problem = decoder.problem()
    if problem is not None:
        return f"ambiguous JSON: {problem}"
    if not isinstance(value, dict):
        return f"not a JSON object: a record must be an object, not {type(value).__name__}"
    if value.keys() == ENVELOPE_KEYS:
        dataset, value = value["dataset"], value["record"]
        if not isinstance(dataset, str):
            return f"envelope dataset is not a string: {_shown(json.dumps(dataset))}"
        if not isinstance(value, dict):
            return f"envelope record is not a JSON object: {type(value).__name__}"
    elif record.partition_key:
        dataset = record.partition_key
    else:
        return "no dataset: neither an envelope nor a partition key names one"
    refused = dataset_name_problem(dataset)
    if refused is not None:
        return refused
    try:
        line = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError) as error:
        return f"cannot be written as UTF-8 JSON: {type(error).__name__}"
    return dataset, line + b"\n"


def _cut(lines: Sequence[_Line], bounds: Bounds) -> Iterable[list[_Line]]:
    """Consecutive runs of lines within the bounds; a line alone past `max_bytes` is a run of its own."""
    run: list[_Line] = []
    size = 0
    for line in lines:
        if run and (len(run) >= bounds.max_records or size + len(line.line) > bounds.max_bytes):
            yield run
            run, size = [], 0
        run.append(line)
        size += len(line.line)
    if run:
        yield run


def _raw_object(run: list[_Line]) -> StreamObject:
    first, last = run[0].record, run[-1].record
    return StreamObject(
        key=stream_key(run[0].dataset, first.shard_id, first.sequence_number, last.sequence_number, first.arrival),
        shard_id=first.shard_id, first_sequence=first.sequence_number, last_sequence=last.sequence_number,
        count=len(run), body=b"".join(line.line for line in run), dataset=run[0].dataset)


def _quarantine_object(poison: Sequence[Poison]) -> StreamObject | None:
    if not poison:
        return None
    first, last = poison[0], poison[-1]
    body = b"".join(json.dumps(p.to_line(), sort_keys=True).encode() + b"\n" for p in poison)
    return StreamObject(key=quarantine_key(first.shard_id, first.sequence_number, last.sequence_number, first.arrival),
                        shard_id=first.shard_id, first_sequence=first.sequence_number,
                        last_sequence=last.sequence_number, count=len(poison), body=body)


def plan_batch(event_records: Sequence[Mapping[str, Any]], bounds: Bounds | None = None, *,
               committed_through: str | None = None, up_to: str | None = None) -> BatchPlan:
    """The objects one batch of a Lambda event from Kinesis (one shard's records) becomes.

    Only records after `committed_through` (the last sequence number earlier deliveries of this shard wrote) and up
    to `up_to` are planned: a retried batch may hold more records than the attempt that failed, and planning it
    up to that attempt's last record gives that attempt's objects again, byte for byte. Records keep their sequence
    order within each object and across a dataset's objects; objects come in order of their first record."""
    bounds = bounds or Bounds()
    low = sequence_value(committed_through) if committed_through is not None else None
    high = sequence_value(up_to) if up_to is not None else None
    decoded = [StreamRecord.from_lambda(r) for r in event_records]
    shards = {r.shard_id for r in decoded}
    if len(shards) > 1:
        raise ValueError(f"a Lambda batch from Kinesis holds one shard's records, not {sorted(shards)}")
    decoded.sort(key=lambda r: sequence_value(r.sequence_number))
    decoded = [r for r in decoded if (low is None or sequence_value(r.sequence_number) > low)
               and (high is None or sequence_value(r.sequence_number) <= high)]
    decoder = StrictJson()
    groups: dict[tuple[str, str, str], list[_Line]] = {}
    poison: list[Poison] = []
    for record in decoded:
        if isinstance(record, Poison):
            poison.append(record)
            continue
        read = read_record(record, decoder)
        if isinstance(read, str):
            poison.append(Poison(record.shard_id, record.sequence_number, record.partition_key, record.arrival,
                                 record.data, read))
            continue
        dataset, line = read
        groups.setdefault((record.shard_id, dataset, hour_folder(record.arrival)), []).append(
            _Line(record, dataset, line))
    objects = [_raw_object(run) for lines in groups.values() for run in _cut(lines, bounds)]
    objects.sort(key=lambda o: sequence_value(o.first_sequence))
    through = decoded[-1].sequence_number if decoded else None
    return BatchPlan(tuple(objects), tuple(poison), _quarantine_object(poison), through)
