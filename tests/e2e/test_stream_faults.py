"""Nothing lost, nothing doubled on the stream path: a batcher killed mid-batch, a batch delivered again, malformed
records among good ones, each against the deployed batcher on the emulator."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from lakebox_infra.topology import Topology
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.stream_puts import envelopes
from tests.e2e.lake import Lake
from tests.e2e.stream_support import (
    batcher_mapping,
    ids,
    lambda_event,
    ledger_state,
    poison_files,
    raw_entry,
    raw_files,
    send,
    wait_until_written,
)

DATASET = "sensors"

# A batcher process that is killed (SIGKILL, as a timeout or an out-of-memory kill would) right after its first
# object is written: the real stage with the real adapters, on the emulator's S3 and DynamoDB.
KILLED_BATCHER = """
import json, os, signal, sys
from aws_lambda_powertools import Logger
from lakebox_layer.adapters.objects import ObjectStore
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batcher import StreamBatcher

put_once = ObjectStore.put_once

def put_once_then_die(self, *args, **kwargs):
    written = put_once(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
    return written

ObjectStore.put_once = put_once_then_die
StreamBatcher.from_settings(Settings.from_env(), Logger(service="killed-batcher")).batch(json.load(sys.stdin))
"""


def of_send(prefix: str, lines: list[str]) -> list[str]:
    """The ids of one test's records (a shard's objects may hold records other tests sent to it)."""
    return [i for i in lines if i.startswith(f"{prefix}-")]


def readings(prefix: str, count: int) -> list[dict[str, object]]:
    return [{"id": f"{prefix}-{n:04d}", "timestamp": "2026-01-02T03:04:05Z",
             "data": {"sensor": "sensor-01", "celsius": 20.5, "humidity": 40.0}} for n in range(count)]


@pytest.fixture
def paused_batcher(lake: Lake) -> Iterator[None]:
    """The batcher's mapping disabled for the test, and enabled again whatever happens."""
    lam = lake.client("lambda")
    uuid = batcher_mapping(lake)
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    try:
        yield
    finally:
        lam.update_event_source_mapping(UUID=uuid, Enabled=True)


def test_a_batcher_killed_mid_batch_leaves_every_record_in_exactly_one_file(lake: Lake, paused_batcher: None) -> None:
    # One partition key: one shard, in order. The killed process cuts objects of 100 records.
    entries = list(envelopes(readings("killed", 300), DATASET))
    entries = [raw_entry(e.data, "kill-mid-batch") for e in entries]
    report = send(lake, entries)
    [(shard, (first, last))] = report.shards.items()
    event = lambda_event(lake, shard, first, 300)
    assert len(event["Records"]) == 300

    credentials = lake.target.session.get_credentials()
    assert credentials is not None
    environment = {**os.environ, **Topology(lake.names).function_environment("batcher"),
                   "AWS_ENDPOINT_URL": lake.target.endpoint or "", "AWS_REGION": lake.target.region,
                   "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                   "STREAM_MAX_RECORDS": "100"}
    killed = subprocess.run([sys.executable, "-c", KILLED_BATCHER], input=json.dumps(event), text=True,
                            env=environment, capture_output=True, timeout=60, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # What the kill left: the plan claimed in the ledger, one of its three objects written.
    state = ledger_state(lake, shard)
    assert state.pending is not None and state.pending.through == last
    assert (state.pending.objects, state.pending.records, state.pending.bounds.max_records) == (3, 300, 100)
    assert len(raw_files(lake, report, DATASET)) == 1

    # The mapping delivers the batch (as it would after the failed invocation): the plan is finished, not redone.
    lake.client("lambda").update_event_source_mapping(UUID=batcher_mapping(lake), Enabled=True)
    wait_until_written(lake, report)
    files = raw_files(lake, report, DATASET)
    assert [(f.first, f.last) for f in files] == [(int(first), files[0].last), (files[1].first, files[1].last),
                                                   (files[2].first, int(last))]
    assert [len(f.lines) for f in files] == [100, 100, 100]
    assert [i for f in files for i in ids(f.lines)] == [f"killed-{n:04d}" for n in range(300)]
    # Each object was written once: one version each in the versioned raw bucket.
    for stored in files:
        versions = lake.s3.list_object_versions(Bucket=stored.bucket, Prefix=stored.key).get("Versions", [])
        assert len(versions) == 1, stored.key
    assert ledger_state(lake, shard).committed == last


def test_a_batch_delivered_again_writes_nothing_again(lake: Lake) -> None:
    entries = [raw_entry(e.data, "delivered-twice") for e in envelopes(readings("twice", 40), DATASET)]
    report = send(lake, entries)
    wait_until_written(lake, report)
    [(shard, (first, last))] = report.shards.items()
    before = raw_files(lake, report, DATASET)
    assert of_send("twice", [i for f in before for i in ids(f.lines)]) == [f"twice-{n:04d}" for n in range(40)]

    lam = lake.client("lambda")
    response = lam.invoke(FunctionName=lake.names.function("batcher"),
                          Payload=json.dumps(lambda_event(lake, shard, first, 40)).encode())
    assert "FunctionError" not in response, response["Payload"].read()

    after = raw_files(lake, report, DATASET)
    assert [(f.key, f.lines) for f in after] == [(f.key, f.lines) for f in before]
    for stored in after:
        versions = lake.s3.list_object_versions(Bucket=stored.bucket, Prefix=stored.key).get("Versions", [])
        assert len(versions) == 1, stored.key
    state = ledger_state(lake, shard)
    assert (state.committed, state.pending) == (last, None)


def test_malformed_records_are_set_aside_with_their_reason_and_do_not_block_their_shard(lake: Lake) -> None:
    good = [e.data for e in envelopes(readings("around-poison", 2), DATASET)]
    sent = [good[0], b"this is not JSON", b"[1, 2, 3]",
            json.dumps({"dataset": "Not A Dataset", "record": {"id": "x"}}).encode(), b"\xff\xfe not UTF-8", good[1]]
    report = send(lake, [raw_entry(data, "poison-in-the-middle") for data in sent])
    wait_until_written(lake, report)

    [poison] = poison_files(lake, report)
    lines = [json.loads(line) for line in poison.lines]
    reasons = [line["reason"] for line in lines]
    assert reasons[0].startswith("not JSON: ")
    assert reasons[1] == "not a JSON object: a record must be an object, not list"
    assert reasons[2].startswith('dataset "Not A Dataset" is not a valid dataset name')
    assert reasons[3].startswith("not UTF-8 text: ")
    assert [line["partitionKey"] for line in lines] == ["poison-in-the-middle"] * 4
    # Each poison record is kept as it was sent.
    assert [base64.b64decode(line["data"]) for line in lines] == sent[1:5]

    # The good records on either side of them went on, and through the pipeline.
    files = raw_files(lake, report, DATASET)
    assert of_send("around-poison", [i for f in files for i in ids(f.lines)]) == ["around-poison-0000",
                                                                                   "around-poison-0001"]
    for stored in files:
        head = lake.s3.head_object(Bucket=stored.bucket, Key=stored.key)
        row = lake.outcome(RawObject(stored.bucket, stored.key, head["ETag"].strip('"'), head["ContentLength"],
                                     head.get("VersionId")))
        assert row.status is FileStatus.PROCESSED, row
