"""`lakebox send`, client side: reading JSON Lines, envelopes, PutRecords chunks, retries of failed entries only."""

from __future__ import annotations

import base64
import io
import json
import random
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_layer.exceptions import NotAJsonObject, RecordTooLarge
from lakebox_layer.stream_batches import StreamRecord, read_record
from lakebox_layer.stream_puts import (
    BACKOFF_FIRST_S,
    BACKOFF_MAX_S,
    MAX_CALL_BYTES,
    MAX_ENTRIES_PER_CALL,
    MAX_ENTRY_BYTES,
    Entry,
    KinesisPutRecords,
    SendAborted,
    backoff_delays,
    chunks,
    envelopes,
    pace,
    read_json_lines,
    send_all,
)

STREAM = "lakebox-ingest"
SHARD_A = "shardId-000000000000"
SHARD_B = "shardId-000000000001"


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def kinesis() -> Iterator[tuple[KinesisPutRecords, Stubber]]:
    client = boto3.client("kinesis", region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    with Stubber(client) as stubber:
        yield cast(KinesisPutRecords, client), stubber
        stubber.assert_no_pending_responses()


def entries(count: int) -> list[Entry]:
    return list(envelopes(({"id": f"r-{i}", "n": i} for i in range(count)), "sensors"))


def ok(shard: str, sequence: str) -> dict[str, str]:
    return {"ShardId": shard, "SequenceNumber": sequence}


def error(code: str = "ProvisionedThroughputExceededException") -> dict[str, str]:
    return {"ErrorCode": code, "ErrorMessage": f"{code} for this entry"}


def expect(stubber: Stubber, sent: list[Entry], answers: list[dict[str, str]]) -> None:
    failed = sum(1 for a in answers if "ErrorCode" in a)
    # The service model gives FailedRecordCount a minimum of 1: a call without failures leaves it out.
    response: dict[str, Any] = {"Records": answers} | ({"FailedRecordCount": failed} if failed else {})
    stubber.add_response("put_records", response,
                         {"StreamName": STREAM, "Records": [e.request() for e in sent]})


# --- reading JSON Lines ------------------------------------------------------------------------------------------

def test_read_json_lines_gives_objects_and_skips_blank_lines() -> None:
    text = io.StringIO('{"id": 1}\n\n   \n{"id": 2, "data": {"x": [1]}}\n')
    assert list(read_json_lines(text)) == [{"id": 1}, {"id": 2, "data": {"x": [1]}}]


@pytest.mark.parametrize(("line", "said"), [
    ("[1, 2]", "line 3: a record must be a JSON object, not list"),
    ('"text"', "line 3: a record must be a JSON object, not str"),
    ("not json", "line 3: not JSON"),
    ('{"id": 1, "id": 2}', "line 3: ambiguous JSON"),
])
def test_read_json_lines_refuses_a_line_that_is_not_an_object_by_number(line: str, said: str) -> None:
    records = read_json_lines(io.StringIO(f'{{"id": 1}}\n\n{line}\n{{"id": 4}}\n'))
    assert next(records) == {"id": 1}
    with pytest.raises(NotAJsonObject, match=said):
        next(records)


# --- envelopes ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("record", "key"), [
    ({"id": "abc"}, "abc"), ({"id": 42}, "42"), ({"id": True}, "sensors"), ({"id": 1.5}, "sensors"),
    ({"id": None}, "sensors"), ({}, "sensors"), ({"id": ""}, "sensors"), ({"id": "x" * 257}, "sensors"),
])
def test_partition_key_is_the_id_when_kinesis_can_take_it_else_the_dataset(record: dict[str, Any], key: str) -> None:
    (entry,) = envelopes([record], "sensors")
    assert entry.partition_key == key
    assert json.loads(entry.data) == {"dataset": "sensors", "record": record}


def test_an_envelope_is_what_the_stream_batcher_reads_back() -> None:
    record = {"id": "r-1", "timestamp": "2026-01-01T00:00:00Z", "data": {"celsius": 21.5}, "note": "é"}
    (entry,) = envelopes([record], "sensors")
    event = {"eventID": f"{SHARD_A}:1", "kinesis": {
        "sequenceNumber": "1", "partitionKey": entry.partition_key, "approximateArrivalTimestamp": 0.0,
        "data": base64.b64encode(entry.data).decode()}}
    stream_record = StreamRecord.from_lambda(event)
    assert isinstance(stream_record, StreamRecord)
    dataset, line = cast(tuple[str, bytes], read_record(stream_record))
    assert (dataset, json.loads(line)) == ("sensors", record)


def test_envelopes_refuse_a_dataset_the_pipeline_would_refuse() -> None:
    with pytest.raises(ValueError, match="dataset"):
        list(envelopes([{"id": 1}], "../etc"))


# --- chunks ------------------------------------------------------------------------------------------------------

def test_chunks_hold_exactly_500_entries_at_most() -> None:
    assert [len(c) for c in chunks(entries(MAX_ENTRIES_PER_CALL))] == [500]
    assert [len(c) for c in chunks(entries(MAX_ENTRIES_PER_CALL * 2 + 1))] == [500, 500, 1]


def test_chunks_hold_exactly_5_mib_of_data_and_keys_at_most() -> None:
    # Five entries of 1 MiB each with their one-character key make exactly 5 MiB; a sixth byte-sized one goes on.
    big = [Entry(b"x" * (MAX_ENTRY_BYTES - 1), "k", i) for i in range(5)]
    assert sum(e.size for e in big) == MAX_CALL_BYTES
    cut = list(chunks([*big, Entry(b"y", "k", 5)]))
    assert [[e.position for e in c] for c in cut] == [[0, 1, 2, 3, 4], [5]]


def test_an_entry_of_exactly_1_mib_is_taken_and_a_byte_more_is_refused() -> None:
    assert len(next(chunks([Entry(b"x" * (MAX_ENTRY_BYTES - 2), "id", 0)]))) == 1
    too_big = [Entry(b"ok", "k", 0), Entry(b"x" * (MAX_ENTRY_BYTES - 1), "id", 1)]
    with pytest.raises(RecordTooLarge, match=f"record 2 is {MAX_ENTRY_BYTES + 1} bytes"):
        list(chunks(too_big))


# --- send_all ----------------------------------------------------------------------------------------------------

def test_only_the_failed_entries_are_sent_again_in_their_order(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(5)
    expect(stubber, sent, [ok(SHARD_A, "100"), error(), ok(SHARD_B, "200"), error("InternalFailure"), error()])
    expect(stubber, [sent[1], sent[3], sent[4]], [ok(SHARD_A, "101"), error(), ok(SHARD_B, "201")])
    expect(stubber, [sent[3]], [ok(SHARD_A, "102")])
    time = FakeTime()
    report = send_all(client, STREAM, sent, deadline_s=30, sleep=time.sleep, clock=time.clock,
                      rng=random.Random(1))
    assert report.ok and report.sent == 5 and report.calls == 3
    assert report.shards == {SHARD_A: ("100", "102"), SHARD_B: ("200", "201")}
    assert len(time.slept) == 2
    assert BACKOFF_FIRST_S / 2 <= time.slept[0] <= BACKOFF_FIRST_S
    assert BACKOFF_FIRST_S <= time.slept[1] <= BACKOFF_FIRST_S * 2


def test_entries_still_failing_at_the_deadline_are_reported_not_dropped(
        kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(3)
    expect(stubber, sent, [error(), ok(SHARD_A, "7"), error()])
    # Waits of 0.05-0.1, 0.1-0.2 and 0.2-0.4 s fit a 0.3 s deadline twice, not three times.
    expect(stubber, [sent[0], sent[2]], [error(), error("InternalFailure")])
    expect(stubber, [sent[0], sent[2]], [error("KMSThrottlingException"), error("InternalFailure")])
    time = FakeTime()
    report = send_all(client, STREAM, sent, deadline_s=0.3, sleep=time.sleep, clock=time.clock,
                      rng=random.Random(3))
    assert not report.ok and report.sent == 1
    assert [(f.entry.position, f.error_code, f.attempts) for f in report.failed] == [
        (0, "KMSThrottlingException", 3), (2, "InternalFailure", 3)]
    assert report.failed[1].error_message == "InternalFailure for this entry"
    assert time.now - 1000.0 <= 0.3
    assert report.to_json()["failed"][0] == {"position": 0, "partitionKey": "r-0", "errorCode":
                                             "KMSThrottlingException", "errorMessage":
                                             "KMSThrottlingException for this entry", "attempts": 3}


def test_every_chunk_is_tried_once_even_past_the_deadline(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(3)
    expect(stubber, sent[:2], [error(), ok(SHARD_A, "1")])
    expect(stubber, sent[2:], [ok(SHARD_A, "2")])
    time = FakeTime()
    report = send_all(client, STREAM, sent, deadline_s=0, sleep=time.sleep, clock=time.clock, max_entries=2)
    assert report.sent == 2 and [f.entry.position for f in report.failed] == [0] and time.slept == []


def test_shard_ranges_compare_sequence_numbers_as_numbers(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(4)
    # As text "9" > "10" and "100000000000000000000" < "99"; as numbers they are the other way round.
    expect(stubber, sent, [ok(SHARD_A, "10"), ok(SHARD_A, "9"), ok(SHARD_B, "100000000000000000000"),
                           ok(SHARD_B, "99")])
    report = send_all(client, STREAM, sent, deadline_s=5)
    assert report.shards == {SHARD_A: ("9", "10"), SHARD_B: ("99", "100000000000000000000")}
    assert report.to_json()["shards"] == {SHARD_A: ["9", "10"], SHARD_B: ["99", "100000000000000000000"]}


def test_progress_is_reported_after_each_call(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(5)
    expect(stubber, sent[:2], [ok(SHARD_A, "1"), error()])
    expect(stubber, sent[1:2], [ok(SHARD_A, "2")])
    expect(stubber, sent[2:4], [ok(SHARD_A, "3"), ok(SHARD_A, "4")])
    expect(stubber, sent[4:], [ok(SHARD_A, "5")])
    seen: list[tuple[int, int | None]] = []
    time = FakeTime()
    send_all(client, STREAM, sent, deadline_s=5, sleep=time.sleep, clock=time.clock, max_entries=2,
             on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 5), (2, 5), (4, 5), (5, 5)]


def test_progress_has_no_total_for_a_lazy_input(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(1)
    expect(stubber, sent, [ok(SHARD_A, "1")])
    seen: list[tuple[int, int | None]] = []
    send_all(client, STREAM, iter(sent), deadline_s=5, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, None)]


def test_a_throttled_call_is_retried_whole(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(2)
    stubber.add_client_error("put_records", "ProvisionedThroughputExceededException", "slow down")
    expect(stubber, sent, [ok(SHARD_A, "1"), ok(SHARD_A, "2")])
    time = FakeTime()
    report = send_all(client, STREAM, sent, deadline_s=5, sleep=time.sleep, clock=time.clock)
    assert report.ok and report.sent == 2 and report.calls == 2 and len(time.slept) == 1


def test_a_call_refused_for_good_aborts_with_the_report_so_far(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(3)
    expect(stubber, sent[:2], [ok(SHARD_A, "1"), ok(SHARD_A, "2")])
    stubber.add_client_error("put_records", "ResourceNotFoundException", "no such stream")
    with pytest.raises(SendAborted, match="ResourceNotFoundException") as raised:
        send_all(client, STREAM, sent, deadline_s=5, max_entries=2)
    assert raised.value.report.sent == 2
    assert [(f.entry.position, f.error_code) for f in raised.value.report.failed] == [(2, "ResourceNotFoundException")]


# --- backoff and pacing ------------------------------------------------------------------------------------------

def test_backoff_doubles_from_a_tenth_of_a_second_to_five_with_jitter() -> None:
    delays = backoff_delays(random.Random(0))
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    for ceiling in ceilings:
        assert ceiling / 2 <= next(delays) <= ceiling <= BACKOFF_MAX_S


def test_pace_holds_records_to_the_rate() -> None:
    time = FakeTime()
    pacer = pace(10, clock=time.clock, sleep=time.sleep)
    for _ in range(30):
        pacer.take()
    # The first second's worth goes at once, the next 20 records take 2 s.
    assert time.now - 1000.0 == pytest.approx(2.0)


def test_pace_takes_more_than_the_bucket_holds_in_parts() -> None:
    time = FakeTime()
    pacer = pace(2, clock=time.clock, sleep=time.sleep)
    pacer.take(2)
    pacer.take(5)
    assert time.now - 1000.0 == pytest.approx(2.5)
    with pytest.raises(ValueError, match="positive"):
        pace(0)


def test_a_paced_send_makes_about_ten_calls_a_second(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(45)
    # 30 records a second: calls of 3 records, a tenth of a second apart once the first second's bucket is spent.
    for first in range(0, 45, 3):
        expect(stubber, sent[first:first + 3], [ok(SHARD_A, str(n + 1)) for n in range(first, first + 3)])
    time = FakeTime()
    report = send_all(client, STREAM, sent, deadline_s=5, sleep=time.sleep, clock=time.clock,
                      pacer=pace(30, clock=time.clock, sleep=time.sleep))
    assert report.sent == 45 and report.calls == 15 and time.now - 1000.0 == pytest.approx(0.5)


def test_a_slow_paced_send_makes_calls_of_one_record(kinesis: tuple[KinesisPutRecords, Stubber]) -> None:
    client, stubber = kinesis
    sent = entries(5)
    for n in range(5):
        expect(stubber, sent[n:n + 1], [ok(SHARD_A, str(n + 1))])
    time = FakeTime()
    report = send_all(client, STREAM, sent, deadline_s=5, sleep=time.sleep, clock=time.clock,
                      pacer=pace(2, clock=time.clock, sleep=time.sleep))
    assert report.sent == 5 and time.now - 1000.0 == pytest.approx(1.5)
