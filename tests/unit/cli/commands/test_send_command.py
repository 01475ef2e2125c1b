"""`lakebox send` through the command: what reaches the stream (file, stdin, the sensor sample with its poison lines),
what is refused before anything is sent, pacing, progress, the output and its exit codes, and `--wait`."""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from rich.console import Console
from rich.text import Text
from typer.testing import CliRunner

from lakebox import cli
from lakebox.commands import common
from lakebox.lake.target import Target
from lakebox.send import entries
from lakebox.send import landing as landing_module
from lakebox.send.entries import sample_entries
from lakebox.send.sensor_sample import sensor_sample
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.stream_batches import StreamRecord, quarantine_key, read_record, stream_key
from lakebox_layer.stream_puts import SEND_DEADLINE_S, envelopes
from tests.fakes.status import StatusLake

runner = CliRunner()
STREAM = "lakebox-ingest"
SHARD_A = "shardId-000000000000"
SHARD_B = "shardId-000000000001"
# AWS sequence numbers have 56 digits; these grow past a power of ten, where text and number order differ.
FIRST = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898
RECORDS: list[dict[str, Any]] = [{"id": "r-1", "celsius": 20.5}, {"id": "b-2", "celsius": 21.0},
                                 {"id": "r-3", "note": "é"}]


@dataclass
class FakeKinesis:
    """PutRecords in memory: a key starting with "b" goes to shard B, any other to A; keys in `refuse` fail every
    time; `refused` makes every call fail with that error code."""

    refuse: set[str] = field(default_factory=set)
    refused: str | None = None
    calls: list[list[tuple[bytes, str]]] = field(default_factory=list)
    next_sequence: int = FIRST

    def put_records(self, *, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        assert StreamName == STREAM
        if self.refused is not None:
            raise ClientError({"Error": {"Code": self.refused, "Message": "Stream lakebox-ingest not found"}},
                              "PutRecords")
        self.calls.append([(r["Data"], r["PartitionKey"]) for r in Records])
        answers = []
        for record in Records:
            if record["PartitionKey"] in self.refuse:
                answers.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"})
                continue
            self.next_sequence += 1
            answers.append({"ShardId": SHARD_B if record["PartitionKey"].startswith("b") else SHARD_A,
                            "SequenceNumber": str(self.next_sequence)})
        return {"Records": answers}

    @property
    def taken(self) -> list[tuple[bytes, str]]:
        return [entry for call in self.calls for entry in call]


class FakeTime:
    """The `time` the send paces and backs off with: a clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now, self.slept = 0.0, list[float]()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class FakeS3:
    """Buckets in memory, listed by prefix as the wait lists them."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def get_paginator(self, operation: str) -> Any:
        return self

    def paginate(self, *, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        found = [(k, b) for (bucket, k), b in sorted(self.objects.items()) if bucket == Bucket and k.startswith(Prefix)]
        return [{"Versions": [{"Key": k, "VersionId": "v1", "IsLatest": True, "ETag": '"e"', "Size": len(b)}
                              for k, b in found],
                 "Contents": [{"Key": k} for k, _ in found]}]

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}


class SendTarget:
    """A pipeline in memory: the stream, the status records, the buckets."""

    def __init__(self, kinesis: Any = None) -> None:
        self.kinesis = kinesis or FakeKinesis()
        self.metadata = StatusLake()
        self.clients = SimpleNamespace(s3=FakeS3())
        self.names = SimpleNamespace(ingest_stream=STREAM)
        self.settings = SimpleNamespace(raw_bucket="raw", quarantine_bucket="quarantine", metadata_table="meta")
        self.where = "http://emulator"


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> SendTarget:
    lake = SendTarget()
    monkeypatch.setattr(Target, "resolve", staticmethod(lambda: lake))
    return lake


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(entries, "time", fake)
    return fake


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return path


def stdout_json(output: str) -> Any:
    return json.loads(Text.from_ansi(output).plain)


def seq(n: int) -> str:
    return str(FIRST + n)


# --- the sample's entries ----------------------------------------------------------------------------------------

def test_sample_entries_keep_the_lines_order_with_poison_lines_sent_raw() -> None:
    sample = sensor_sample(5, seed=3, poison_every=2)
    entries = sample_entries(sample, "sensors")

    assert [e.position for e in entries] == list(range(7))
    assert [e.data.decode() + "\n" if not e.data.startswith(b'{"dataset"') else None for e in entries] == [
        None, None, sample.poison[0][1] + "\n", None, None, sample.poison[1][1] + "\n", None]
    assert [e.partition_key for e in entries] == [
        "reading-000001", "reading-000002", "sensors", "reading-000003", "reading-000004", "sensors",
        "reading-000005"]
    read = [read_record(StreamRecord(SHARD_A, "1", e.partition_key, e.data, 0.0)) for e in entries]
    assert [r[0] if isinstance(r, tuple) else "poison" for r in read] == [
        "sensors", "sensors", "poison", "sensors", "sensors", "poison", "sensors"]
    assert [json.loads(r[1]) for r in read if isinstance(r, tuple)] == list(sample.readings)


# --- what is sent ------------------------------------------------------------------------------------------------

def test_a_file_goes_to_the_stream_in_envelopes_as_put_records_asks(
        monkeypatch: pytest.MonkeyPatch, records_file: Path) -> None:
    client = boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    monkeypatch.setattr(Target, "resolve", staticmethod(lambda: SendTarget(kinesis=client)))
    entries = list(envelopes(RECORDS, "orders"))
    with Stubber(client) as stubber:
        stubber.add_response("put_records", {"Records": [
            {"ShardId": SHARD_A, "SequenceNumber": "9"}, {"ShardId": SHARD_B, "SequenceNumber": "5"},
            {"ShardId": SHARD_A, "SequenceNumber": "10"}]}, {"StreamName": STREAM,
                                                            "Records": [e.request() for e in entries]})
        result = runner.invoke(cli.app, ["send", str(records_file), "--dataset", "orders", "--json"])
        stubber.assert_no_pending_responses()

    assert result.exit_code == 0, result.output
    assert stdout_json(result.stdout) == {"stream": STREAM, "dataset": "orders", "sent": 3, "failed": [],
                                          "shards": {SHARD_A: ["9", "10"], SHARD_B: ["5", "5"]}}


@pytest.mark.parametrize("args", [["send", "-"], ["send"]], ids=["dash", "no-file"])
def test_stdin_is_read_when_there_is_no_file_or_a_dash(target: SendTarget, args: list[str]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in RECORDS)

    result = runner.invoke(cli.app, args, input=text)

    assert result.exit_code == 0, result.output
    assert [json.loads(data) for data, _ in target.kinesis.taken] == [
        {"dataset": "default", "record": r} for r in RECORDS]
    assert result.stdout.splitlines() == [
        f"sent 3 record(s) to stream {STREAM}, dataset default",
        f"  {SHARD_A}  sequence numbers {seq(1)} to {seq(3)}",
        f"  {SHARD_B}  sequence numbers {seq(2)} to {seq(2)}",
    ]


def test_the_sample_goes_to_its_own_dataset_with_its_poison_lines_raw(target: SendTarget) -> None:
    result = runner.invoke(cli.app, ["send", "--sample", "sensors", "--count", "4", "--seed", "2",
                                     "--invalid-every", "3", "--poison-every", "2", "--json"])

    assert result.exit_code == 0, result.output
    sample = sensor_sample(4, seed=2, invalid_every=3, poison_every=2)
    assert target.kinesis.taken == [(e.data, e.partition_key) for e in sample_entries(sample, "sensors")]
    shown = stdout_json(result.stdout)
    assert (shown["dataset"], shown["sent"]) == ("sensors", 6)
    assert shown["sample"] == {"readings": 4, "valid": 3, "invalid": 1, "poison": 2,
                               "invalid_by_kind": {"bad email": 1}}


def test_rate_paces_the_records(target: SendTarget, clock: FakeTime) -> None:
    result = runner.invoke(cli.app, ["send", "--sample", "sensors", "--count", "5", "--rate", "2"])

    assert result.exit_code == 0, result.output
    # One record a call (a tenth of a second's worth, at least one); a bucket of two tokens: two records at once,
    # then half a second each.
    assert [len(call) for call in target.kinesis.calls] == [1, 1, 1, 1, 1]
    assert sum(clock.slept) == pytest.approx(1.5)


# --- refused before anything is sent -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "said"), [
    ('{"id": 1}\n[1, 2]\n', "line 2: a record must be a JSON object, not list"),
    ('{"id": 1}\nnot json\n', "line 2: not JSON"),
])
def test_a_line_that_is_no_json_object_is_refused_and_nothing_is_sent(
        target: SendTarget, text: str, said: str) -> None:
    result = runner.invoke(cli.app, ["send"], input=text)

    assert result.exit_code == 1
    assert said in result.output
    assert target.kinesis.calls == []


def test_a_dataset_the_pipeline_would_refuse_is_refused_before_sending(target: SendTarget) -> None:
    result = runner.invoke(cli.app, ["send", "--dataset", "../etc"], input='{"id": 1}\n')

    assert result.exit_code == 1
    assert "error:" in result.output
    assert target.kinesis.calls == []


@pytest.mark.parametrize(("args", "said"), [
    (["x.jsonl", "--sample", "sensors", "--count", "3"], "leave out FILE"),
    (["--count", "3"], "go with --sample"),
    (["--poison-every", "3"], "go with --sample"),
    (["--sample", "sensors"], "needs --count"),
    (["--sample", "cars", "--count", "1"], "no sample 'cars'"),
    (["--rate", "0"], "--rate must be a positive number"),
])
def test_options_that_make_no_send_are_usage_errors(args: list[str], said: str) -> None:
    result = runner.invoke(cli.app, ["send", *args], input="")

    assert result.exit_code == 2
    assert said in result.output


# --- failures of the stream --------------------------------------------------------------------------------------

def test_entries_still_failing_are_listed_and_exit_1(target: SendTarget, clock: FakeTime) -> None:
    target.kinesis.refuse = {"b-2"}
    text = "".join(json.dumps(r) + "\n" for r in RECORDS)

    result = runner.invoke(cli.app, ["send", "--json"], input=text)

    assert result.exit_code == 1
    shown = stdout_json(result.stdout)
    assert shown["sent"] == 2
    assert [(f["position"], f["partitionKey"], f["errorCode"]) for f in shown["failed"]] == [
        (1, "b-2", "ProvisionedThroughputExceededException")]
    assert shown["failed"][0]["attempts"] == len(target.kinesis.calls) > 1
    assert 0 < clock.now <= SEND_DEADLINE_S
    table = runner.invoke(cli.app, ["send"], input=text)
    assert table.exit_code == 1
    assert table.stdout.splitlines()[-2] == "failed: 1 record(s) the stream did not take"
    assert table.stdout.splitlines()[-1].startswith(
        "  record 2 (partition key b-2): ProvisionedThroughputExceededException: Rate exceeded")


def test_a_missing_stream_says_to_run_up_first(target: SendTarget) -> None:
    target.kinesis.refused = "ResourceNotFoundException"

    result = runner.invoke(cli.app, ["send", "--json"], input='{"id": 1}\n')

    assert result.exit_code == 1
    assert result.stdout == ""
    assert ("no stream lakebox-ingest at http://emulator (ResourceNotFoundException): run `lakebox up` first"
            in " ".join(result.output.split()))


def test_another_refusal_is_told_as_the_stream_said_it(target: SendTarget) -> None:
    target.kinesis.refused = "AccessDeniedException"

    result = runner.invoke(cli.app, ["send"], input='{"id": 1}\n')

    assert result.exit_code == 1
    assert "refused PutRecords: AccessDeniedException" in " ".join(result.output.split())
    assert "lakebox up" not in result.output


# --- progress ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("terminal", "args", "bar"), [
    (True, [], True), (True, ["--json"], False), (False, [], False)], ids=["terminal", "json", "pipe"])
def test_a_bar_of_records_only_when_a_person_watches(monkeypatch: pytest.MonkeyPatch, target: SendTarget,
                                                     terminal: bool, args: list[str], bar: bool) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(common, "out", Console(file=io.StringIO(), force_terminal=terminal, width=160))
    monkeypatch.setattr(common, "err", Console(file=stderr, force_terminal=True, width=160))

    result = runner.invoke(cli.app, ["send", "--sample", "sensors", "--count", "3", *args])

    assert result.exit_code == 0, result.output
    shown = Text.from_ansi(stderr.getvalue()).plain
    assert ("records" in shown and "3/3" in shown.splitlines()[-1]) if bar else shown == ""


# --- --wait ------------------------------------------------------------------------------------------------------

@pytest.fixture
def landing(monkeypatch: pytest.MonkeyPatch, target: SendTarget) -> tuple[SendTarget, dict[str, str | None]]:
    """The batcher commits each shard as the test says and has written shard A's records in the current hour:
    the readings in two raw files, the poison line in a quarantine object."""
    committed: dict[str, str | None] = {}
    monkeypatch.setattr(landing_module, "committed_reader", lambda lake: lambda stream, shard: committed.get(shard))
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)
    now = time.time()
    s3 = target.clients.s3
    s3.objects[("raw", stream_key("sensors", SHARD_A, seq(1), seq(2), now))] = b"{}\n{}\n"
    s3.objects[("raw", stream_key("sensors", SHARD_A, seq(4), seq(4), now))] = b"{}\n"
    s3.objects[("raw", stream_key("sensors", SHARD_A, seq(0), seq(0), now))] = b"{}\n"  # an earlier send's
    s3.objects[("quarantine", quarantine_key(SHARD_A, seq(3), seq(3), now))] = json.dumps(
        {"shardId": SHARD_A, "sequenceNumber": seq(3), "data": base64.b64encode(b"[1, 2, 3]").decode()}).encode()
    return target, committed


def test_wait_shows_each_file_with_its_status_and_the_poison(
        landing: tuple[SendTarget, dict[str, str | None]]) -> None:
    target, committed = landing
    committed[SHARD_A] = seq(4)
    raw = sorted(k for b, k in target.clients.s3.objects if b == "raw" and seq(0) not in k)
    sizes = {k: len(v) for (_, k), v in target.clients.s3.objects.items()}
    pids = {RawObject("raw", k, "e", sizes[k], "v1").process_id: k for k in raw}
    target.metadata.statuses, target.metadata.keys = dict.fromkeys(pids, FileStatus.PROCESSED), pids
    args = ["send", "--sample", "sensors", "--count", "3", "--poison-every", "2", "--wait"]

    result = runner.invoke(cli.app, [*args, "--json"])

    assert result.exit_code == 0, result.output
    shown = stdout_json(result.stdout)
    assert [(f["status"], f["shard"], f["first_sequence"], f["last_sequence"]) for f in shown["files"]] == [
        ("processed", SHARD_A, seq(1), seq(2)), ("processed", SHARD_A, seq(4), seq(4))]
    assert shown["poison_records"] == 1
    assert [k.startswith("quarantine/stream/") for k in shown["poison_objects"]] == [True]

    target.kinesis.next_sequence = FIRST
    table = runner.invoke(cli.app, args)

    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[-4:] == [
        f"processed    {raw[0]}", f"processed    {raw[1]}",
        "poison: 1 record(s) set aside in the quarantine bucket", f"             {shown['poison_objects'][0]}"]


def test_a_failed_file_makes_the_wait_exit_1(landing: tuple[SendTarget, dict[str, str | None]]) -> None:
    target, committed = landing
    committed[SHARD_A] = seq(4)
    objects = target.clients.s3.objects
    target.metadata.statuses = {RawObject("raw", k, "e", len(v), "v1").process_id: FileStatus.FAILED
                                for (b, k), v in objects.items() if b == "raw"}

    result = runner.invoke(cli.app, ["send", "--sample", "sensors", "--count", "3", "--poison-every", "2",
                                     "--wait", "--json"])

    assert result.exit_code == 1
    assert {f["status"] for f in stdout_json(result.stdout)["files"]} == {"failed"}


def test_a_ledger_behind_at_the_timeout_is_named_and_exits_1(
        landing: tuple[SendTarget, dict[str, str | None]]) -> None:
    _, committed = landing
    committed[SHARD_A] = seq(2)

    result = runner.invoke(cli.app, ["send", "--sample", "sensors", "--count", "3", "--poison-every", "2",
                                     "--wait", "--timeout", "0"])

    assert result.exit_code == 1
    # The send is told before the wait begins; the error names the shard still behind.
    assert result.stdout.startswith(f"sent 4 record(s) to stream {STREAM}, dataset sensors")
    said = result.output[result.output.index("error:"):]
    assert "waiting for the stream batcher to write the records sent to 1 shard(s) of lakebox-ingest" in said
    assert f"{SHARD_A}  committed through {seq(2)}, sent through {seq(4)}" in said
