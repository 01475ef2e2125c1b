"""The ingest stream as e2e tests drive it: entries to send, the shards' ledger, the objects a send became, and a
batch as Lambda delivers it, rebuilt from the stream itself."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lakebox.send.landing import overlaps
from lakebox_layer.adapters.stream_ledger import LedgerState, StreamLedger
from lakebox_layer.stream_batches import STREAM_FOLDER, key_span
from lakebox_layer.stream_puts import Entry, SendReport, send_all
from tests.e2e.lake import Lake

SEND_DEADLINE_S = 60.0


def raw_entry(data: bytes | str, partition_key: str) -> Entry:
    return Entry(data.encode() if isinstance(data, str) else data, partition_key, 0)


def send(lake: Lake, entries: Iterable[Entry]) -> SendReport:
    kinesis: Any = lake.target.kinesis
    report = send_all(kinesis, lake.names.ingest_stream, entries, deadline_s=SEND_DEADLINE_S)
    assert report.ok, report.to_json()
    return report


def ledger(lake: Lake) -> StreamLedger:
    return StreamLedger(lake.target.clients.dynamodb, lake.names.metadata_table)


def ledger_state(lake: Lake, shard: str) -> LedgerState:
    return ledger(lake).read(lake.names.ingest_stream, shard)


def wait_until_written(lake: Lake, report: SendReport) -> None:
    """Wait until every shard's ledger has committed the last record the send put to it."""
    def written() -> bool:
        for shard, (_, last) in report.shards.items():
            state = ledger_state(lake, shard)
            if state.committed is None or int(state.committed) < int(last) or state.pending is not None:
                return False
        return True

    lake.wait(written, f"the batcher to commit {report.to_json()['shards']}")


@dataclass(frozen=True)
class StreamFile:
    """An object the batcher wrote, named by its shard and sequence range, with its lines."""

    bucket: str
    key: str
    shard: str
    first: int
    last: int
    lines: list[bytes]


def files_of(lake: Lake, report: SendReport, bucket: str, prefix: str) -> list[StreamFile]:
    """The objects under `prefix` holding records of this send (their shard and range overlap what it sent)."""
    found = []
    for key in lake.keys(bucket, prefix):
        span = key_span(key)
        if span is None or span[0] not in report.shards or not overlaps(span[1], span[2], report.shards[span[0]]):
            continue
        body = lake.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        found.append(StreamFile(bucket, key, span[0], int(span[1]), int(span[2]), body.splitlines()))
    return sorted(found, key=lambda f: (f.shard, f.first))


def raw_files(lake: Lake, report: SendReport, dataset: str) -> list[StreamFile]:
    return files_of(lake, report, lake.names.raw_bucket, f"input/{dataset}/{STREAM_FOLDER}/")


def poison_files(lake: Lake, report: SendReport) -> list[StreamFile]:
    return files_of(lake, report, lake.names.quarantine_bucket, f"quarantine/{STREAM_FOLDER}/")


def ids(lines: Iterable[bytes]) -> list[str]:
    return [str(json.loads(line)["id"]) for line in lines]


def lambda_event(lake: Lake, shard: str, first: str, count: int) -> dict[str, Any]:
    """`count` records of `shard` from sequence number `first`, as Lambda's mapping hands them to the batcher."""
    kinesis: Any = lake.target.kinesis
    stream = lake.names.ingest_stream
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                          StartingSequenceNumber=first)["ShardIterator"]
    records: list[dict[str, Any]] = []
    while len(records) < count:
        page = kinesis.get_records(ShardIterator=iterator, Limit=count - len(records))
        if not page["Records"]:
            break
        records.extend(page["Records"])
        iterator = page["NextShardIterator"]
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    return {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                    "sequenceNumber": r["SequenceNumber"], "data": base64.b64encode(r["Data"]).decode("ascii"),
                    "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{shard}:{r['SequenceNumber']}",
        "eventName": "aws:kinesis:record", "awsRegion": lake.target.region, "eventSourceARN": arn,
    } for r in records]}


def batcher_mapping(lake: Lake) -> str:
    """The UUID of the batcher's mapping on the ingest stream."""
    lam = lake.client("lambda")
    [mapping] = lam.list_event_source_mappings(FunctionName=lake.names.function("batcher"))["EventSourceMappings"]
    return str(mapping["UUID"])
