"""`lakebox send --wait`: the ledger read until each shard is written through what was sent, the raw and quarantine
objects found by hour folder and sequence span, and their outcomes awaited, all within one deadline."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lakebox.send import landing
from lakebox.send.entries import Sent
from lakebox.send.landing import (
    Landed,
    find_poison,
    find_stream_files,
    hour_folders,
    overlaps,
    wait_for_commits,
    wait_for_landing,
)
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.stream_batches import key_span
from lakebox_layer.stream_puts import SendReport
from tests.fakes.status import StatusLake

STREAM = "lakebox-ingest"
SHARD_A = "shardId-000000000000"
SHARD_B = "shardId-000000000001"
HOUR = "2026/11/28/10"
RAW_PREFIX = f"input/sensors/stream/{HOUR}/"
POISON_PREFIX = f"quarantine/stream/{HOUR}/"


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def version(key: str, version_id: str = "v1", latest: bool = True) -> dict[str, Any]:
    return {"Key": key, "VersionId": version_id, "IsLatest": latest, "ETag": '"etag-of-it"', "Size": 42}


def poison_line(shard: str, sequence: int) -> bytes:
    return json.dumps({"shardId": shard, "sequenceNumber": str(sequence), "reason": "not JSON"}).encode() + b"\n"


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


# --- names, spans and hours --------------------------------------------------------------------------------------

def test_a_key_gives_its_shard_and_span_even_though_shard_ids_have_hyphens() -> None:
    assert key_span(f"{RAW_PREFIX}{SHARD_B}-49590338-49590412.jsonl") == (SHARD_B, "49590338", "49590412")


@pytest.mark.parametrize("key", [
    f"{RAW_PREFIX}{SHARD_A}-1-2.json", f"{RAW_PREFIX}{SHARD_A}-x-2.jsonl", f"{RAW_PREFIX}1-2.jsonl",
    f"{RAW_PREFIX}-1-2.jsonl", f"{RAW_PREFIX}orders.jsonl",
])
def test_a_key_of_another_shape_has_no_span(key: str) -> None:
    assert key_span(key) is None


def test_spans_overlap_as_numbers_not_as_text() -> None:
    # As text "12" < "9": a span 10-12 would seem to end before 9-10 begins.
    assert overlaps("10", "12", ("9", "10"))
    assert not overlaps("11", "12", ("9", "10"))
    assert not overlaps("1", "8", ("9", "10"))
    assert overlaps("1", "100", ("9", "10"))


def test_hour_folders_cover_every_utc_hour_from_start_to_end_across_a_year() -> None:
    start = datetime(2026, 12, 31, 22, 59, 30, tzinfo=UTC)
    assert hour_folders(start, datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC)) == [
        "2026/12/31/22", "2026/12/31/23", "2027/01/01/00"]
    assert hour_folders(start, start) == ["2026/12/31/22"]


# --- the ledger --------------------------------------------------------------------------------------------------

@dataclass
class Ledger:
    """Each shard's `committed` per poll; a poll moves on when the wait sleeps."""

    polls: list[dict[str, str | None]]
    reads: list[str] = field(default_factory=list)

    def read(self, stream: str, shard: str) -> str | None:
        assert stream == STREAM
        self.reads.append(shard)
        return self.polls[0].get(shard)

    def next_poll(self, seconds: float) -> None:
        if len(self.polls) > 1:
            self.polls.pop(0)


def test_the_ledger_is_read_until_each_shard_is_committed_through_its_last_sequence(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # "99" sorts after "120" as text: only a numeric comparison keeps waiting for shard A.
    ledger = Ledger([{SHARD_B: "9"}, {SHARD_A: "99", SHARD_B: "9"}, {SHARD_A: "120", SHARD_B: "9"}])
    monkeypatch.setattr("lakebox.polling.time.sleep", ledger.next_poll)

    wait_for_commits(ledger.read, STREAM, {SHARD_A: ("5", "120"), SHARD_B: ("7", "9")}, deadline_s=5, interval_s=0)

    # Shard B is done at the first poll and not read again.
    assert ledger.reads == [SHARD_A, SHARD_B, SHARD_A, SHARD_A]


def test_a_ledger_timeout_names_each_shard_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger([{SHARD_B: "8", "shardId-000000000002": "30"}])
    monkeypatch.setattr("lakebox.polling.time.sleep", ledger.next_poll)
    shards = {SHARD_A: ("5", "120"), SHARD_B: ("7", "9"), "shardId-000000000002": ("20", "30")}

    with pytest.raises(TimeoutError) as raised:
        wait_for_commits(ledger.read, STREAM, shards, deadline_s=0, interval_s=0)

    assert str(raised.value).splitlines() == [
        f"gave up after 0 s waiting for the stream batcher to write the records sent to 3 shard(s) of {STREAM}; "
        "2 shard(s) behind:",
        f"  {SHARD_A}  nothing committed yet, sent through 120",
        f"  {SHARD_B}  committed through 8, sent through 9",
    ]


# --- finding the objects -----------------------------------------------------------------------------------------

def test_raw_objects_of_a_shard_sent_to_whose_span_overlaps_are_found_in_every_hour(
        s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    later = "input/sensors/stream/2026/11/28/11/"
    stubber.add_response("list_object_versions", {"Versions": [
        version(f"{RAW_PREFIX}{SHARD_A}-150-200.jsonl", "null"),
        version(f"{RAW_PREFIX}{SHARD_A}-100-149.jsonl"),
        version(f"{RAW_PREFIX}{SHARD_A}-100-149.jsonl", "v0", latest=False),
        version(f"{RAW_PREFIX}{SHARD_A}-1-99.jsonl"),  # before what was sent: another send's
        version(f"{RAW_PREFIX}{SHARD_B}-100-200.jsonl"),  # a shard not sent to
        version(f"{RAW_PREFIX}notes.txt"),
    ]}, {"Bucket": "raw", "Prefix": RAW_PREFIX})
    stubber.add_response("list_object_versions", {"Versions": [version(f"{later}{SHARD_A}-201-250.jsonl", "v9")]},
                         {"Bucket": "raw", "Prefix": later})

    found = find_stream_files(client, "raw", "sensors", {SHARD_A: ("120", "201")}, [HOUR, "2026/11/28/11"])

    assert [(f.raw.key, f.first, f.last) for f in found] == [
        (f"{RAW_PREFIX}{SHARD_A}-100-149.jsonl", "100", "149"),
        (f"{RAW_PREFIX}{SHARD_A}-150-200.jsonl", "150", "200"),
        (f"{later}{SHARD_A}-201-250.jsonl", "201", "250"),
    ]
    assert found[0].raw == RawObject("raw", f"{RAW_PREFIX}{SHARD_A}-100-149.jsonl", "etag-of-it", 42, "v1")
    assert found[1].raw.version_id is None  # S3's "null" version: the notification names none


def test_poison_objects_count_only_the_records_sent(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    mixed = f"{POISON_PREFIX}{SHARD_A}-90-130.jsonl"
    stubber.add_response("list_objects_v2", {"Contents": [
        {"Key": mixed}, {"Key": f"{POISON_PREFIX}{SHARD_A}-1-50.jsonl"}, {"Key": f"{POISON_PREFIX}{SHARD_B}-1-9.jsonl"},
    ]}, {"Bucket": "quarantine", "Prefix": POISON_PREFIX})
    # Another producer's poison at 90 shares the object; only 110 and 130 were sent.
    data = poison_line(SHARD_A, 90) + poison_line(SHARD_A, 110) + poison_line(SHARD_A, 130)
    stubber.add_response("get_object", {"Body": body(data)}, {"Bucket": "quarantine", "Key": mixed})

    keys, records = find_poison(client, "quarantine", {SHARD_A: ("100", "140")}, [HOUR])

    assert (keys, records) == ([mixed], 2)


# --- the whole wait ----------------------------------------------------------------------------------------------

@dataclass
class Clients:
    s3: Any


@dataclass
class LakeSettings:
    raw_bucket: str = "raw"
    quarantine_bucket: str = "quarantine"
    metadata_table: str = "meta"
    project: str = "lakebox"


@dataclass
class WaitTarget:
    metadata: StatusLake
    clients: Clients
    settings: LakeSettings = field(default_factory=LakeSettings)


def sent_to(shards: dict[str, tuple[str, str]]) -> Sent:
    report = SendReport(STREAM, sent=10, shards=shards)
    return Sent("sensors", report, datetime(2026, 11, 28, 10, 30, tzinfo=UTC))


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch, s3: tuple[Any, Stubber]) -> tuple[WaitTarget, Stubber, StatusLake]:
    """A send to shard A (100-160) at 10:30, now 10:40; the ledger is written through 160 at once."""
    monkeypatch.setattr(landing, "utc_now", lambda: datetime(2026, 11, 28, 10, 40, tzinfo=UTC))
    monkeypatch.setattr(landing, "committed_reader", lambda target: lambda stream, shard: "160")
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)
    statuses = StatusLake()
    return WaitTarget(statuses, Clients(s3[0])), s3[1], statuses


def expect_objects(stubber: Stubber, raw: list[str], poison: dict[str, bytes]) -> None:
    stubber.add_response("list_object_versions", {"Versions": [version(k) for k in raw]},
                         {"Bucket": "raw", "Prefix": RAW_PREFIX})
    stubber.add_response("list_objects_v2", {"Contents": [{"Key": k} for k in poison]},
                         {"Bucket": "quarantine", "Prefix": POISON_PREFIX})
    for key, data in poison.items():
        stubber.add_response("get_object", {"Body": body(data)}, {"Bucket": "quarantine", "Key": key})


def test_landing_finds_the_files_and_poison_and_waits_for_each_outcome(
        lake: tuple[WaitTarget, Stubber, StatusLake]) -> None:
    target, stubber, statuses = lake
    keys = [f"{RAW_PREFIX}{SHARD_A}-100-140.jsonl", f"{RAW_PREFIX}{SHARD_A}-142-160.jsonl"]
    poison = f"{POISON_PREFIX}{SHARD_A}-141-141.jsonl"
    expect_objects(stubber, keys, {poison: poison_line(SHARD_A, 141)})
    pids = [RawObject("raw", k, "etag-of-it", 42, "v1").process_id for k in keys]
    statuses.statuses = {pids[0]: FileStatus.PROCESSED, pids[1]: FileStatus.FAILED}
    statuses.keys = dict(zip(pids, keys, strict=True))

    landed = wait_for_landing(target, sent_to({SHARD_A: ("100", "160")}), deadline_s=5)  # type: ignore[arg-type]

    assert [(row.key, row.status) for _, row in landed.files] == [
        (keys[0], FileStatus.PROCESSED), (keys[1], FileStatus.FAILED)]
    assert (landed.poison_objects, landed.poison_records) == ([poison], 1)
    assert [row.key for row in landed.failed] == [keys[1]]
    shown = landed.to_json()
    assert shown["files"][0] == {
        "key": keys[0], "status": "processed", "quality_score": None, "errors": [], "destination": None,
        "process_id": pids[0], "records_total": None, "records_valid": None, "records_invalid": None,
        "stages": ["ingestion", "validation"], "version_id": "v1", "shard": SHARD_A, "first_sequence": "100",
        "last_sequence": "140"}
    assert (shown["poison_objects"], shown["poison_records"]) == ([poison], 1)


def test_one_deadline_covers_the_ledger_and_the_outcomes(lake: tuple[WaitTarget, Stubber, StatusLake]) -> None:
    target, stubber, _ = lake
    expect_objects(stubber, [f"{RAW_PREFIX}{SHARD_A}-100-160.jsonl"], {})
    ticks = iter([0.0, 40.0, 40.0])  # the ledger wait took 40 s of 30

    with pytest.raises(TimeoutError, match=r"^gave up after 0 s waiting for a terminal status for 1 uploaded file"):
        wait_for_landing(target, sent_to({SHARD_A: ("100", "160")}), deadline_s=30,  # type: ignore[arg-type]
                         clock=lambda: next(ticks))


def test_a_send_that_reached_no_shard_waits_for_nothing() -> None:
    landed = wait_for_landing(object(), sent_to({}), deadline_s=0)  # type: ignore[arg-type]
    assert landed == Landed([], [], 0)
