"""The stream batcher's pure core: Kinesis records as Lambda delivers them, in; raw objects and poison, out."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lakebox_layer.stream_batches import (
    MAX_LAMBDA_BATCH_RECORDS,
    BatchPlan,
    Bounds,
    Poison,
    StreamRecord,
    plan_batch,
    read_record,
)

SHARD = "shardId-000000000000"
# 2026-11-28 10:59:58 UTC: a batch that starts here crosses into the next hour after two seconds.
ARRIVAL = 1_795_863_598.0
# AWS sequence numbers are long decimal strings; numeric order is their order.
FIRST_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898


def kinesis_record(data: bytes | str | dict[str, Any], *, sequence: int, partition_key: str = "sensors",
                   arrival: float = ARRIVAL, shard: str = SHARD) -> dict[str, Any]:
    """One record of a Lambda event from Kinesis, shaped as Lambda (and MiniStack's poller) delivers it."""
    if isinstance(data, dict):
        data = json.dumps(data)
    raw = data.encode() if isinstance(data, str) else data
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": str(sequence),
                    "data": base64.b64encode(raw).decode("ascii"), "approximateArrivalTimestamp": arrival},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{shard}:{sequence}",
        "eventName": "aws:kinesis:record", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/lakebox-ingest",
    }


def reading(n: int, sensor: str = "s-1") -> dict[str, Any]:
    return {"id": f"r-{n}", "timestamp": "2026-11-28T10:00:00Z", "data": {"sensor": sensor, "celsius": 20 + n % 7}}


def envelope(dataset: str, record: Any) -> dict[str, Any]:
    return {"dataset": dataset, "record": record}


def readings(count: int, *, start: int = 0, dataset: str = "sensors", arrival: float = ARRIVAL) -> list[dict[str, Any]]:
    return [kinesis_record(envelope(dataset, reading(n)), sequence=FIRST_SEQUENCE + n, partition_key=f"s-{n % 3}",
                           arrival=arrival) for n in range(start, start + count)]


def lines(plan: BatchPlan) -> list[dict[str, Any]]:
    return [json.loads(line) for o in plan.objects for line in o.body.decode().splitlines()]


def test_a_batch_becomes_one_json_lines_object_under_its_dataset_and_hour() -> None:
    plan = plan_batch(readings(3))

    (only,) = plan.objects
    first, last = FIRST_SEQUENCE, FIRST_SEQUENCE + 2
    assert only.key == f"input/sensors/stream/2026/11/28/10/{SHARD}-{first}-{last}.jsonl"
    assert (only.dataset, only.count, only.first_sequence, only.last_sequence) == ("sensors", 3, str(first), str(last))
    assert only.body == b"".join(json.dumps(reading(n), separators=(",", ":")).encode() + b"\n" for n in range(3))
    assert plan.poison == () and plan.quarantine is None
    assert plan.through == str(last)


def test_order_within_a_partition_key_is_kept_in_each_dataset_across_objects() -> None:
    records = [kinesis_record(envelope("sensors" if n % 2 else "meters", reading(n, sensor=f"s-{n % 3}")),
                              sequence=FIRST_SEQUENCE + n, partition_key=f"s-{n % 3}") for n in range(40)]
    plan = plan_batch(records, Bounds(max_records=4))

    # A dataset's objects, read in key order (the order their first sequence numbers give), replay each partition
    # key's records in the order they were sent.
    seen: dict[tuple[str | None, str], list[int]] = {}
    for stored in plan.objects:
        for line in stored.body.decode().splitlines():
            record = json.loads(line)
            seen.setdefault((stored.dataset, record["data"]["sensor"]), []).append(int(record["id"][2:]))
    assert all(ids == sorted(ids) for ids in seen.values())
    assert sum(len(ids) for ids in seen.values()) == 40
    firsts = [int(o.first_sequence) for o in plan.objects]
    assert firsts == sorted(firsts)


def test_objects_respect_the_record_bound() -> None:
    plan = plan_batch(readings(23), Bounds(max_records=5))

    assert [o.count for o in plan.objects] == [5, 5, 5, 5, 3]
    assert [r["id"] for r in lines(plan)] == [f"r-{n}" for n in range(23)]
    # Consecutive objects meet: the next starts right after the last one ended.
    for before, after in zip(plan.objects, plan.objects[1:], strict=False):
        assert int(after.first_sequence) == int(before.last_sequence) + 1


def test_objects_respect_the_byte_bound_exactly_at_the_limit() -> None:
    one_line = len(plan_batch(readings(1)).objects[0].body)
    at_limit = plan_batch(readings(4), Bounds(max_bytes=2 * one_line))
    just_under = plan_batch(readings(4), Bounds(max_bytes=2 * one_line - 1))

    assert [o.count for o in at_limit.objects] == [2, 2]
    assert all(len(o.body) <= 2 * one_line for o in at_limit.objects)
    assert [o.count for o in just_under.objects] == [1, 1, 1, 1]


def test_a_record_larger_than_the_byte_bound_gets_an_object_of_its_own() -> None:
    big = reading(1) | {"blob": "x" * 5000}
    records = [*readings(1), kinesis_record(envelope("sensors", big), sequence=FIRST_SEQUENCE + 1),
               *readings(1, start=2)]
    plan = plan_batch(records, Bounds(max_bytes=1000))

    assert [o.count for o in plan.objects] == [1, 1, 1]
    assert len(plan.objects[1].body) > 1000
    assert plan.records == 3


def test_the_largest_lambda_batch_fits_the_default_bounds_in_two_objects() -> None:
    plan = plan_batch(readings(MAX_LAMBDA_BATCH_RECORDS))

    assert [o.count for o in plan.objects] == [5000, 5000]
    assert plan.records == MAX_LAMBDA_BATCH_RECORDS


@pytest.mark.parametrize("bounds", [{"max_records": 0}, {"max_records": MAX_LAMBDA_BATCH_RECORDS + 1},
                                    {"max_bytes": 0}])
def test_bounds_outside_what_a_batch_can_be_are_refused(bounds: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Bounds(**bounds)


def test_the_same_records_give_the_same_keys_and_bytes() -> None:
    records = [*readings(50), kinesis_record("not json", sequence=FIRST_SEQUENCE + 50)]
    first = plan_batch(records, Bounds(max_records=7))
    again = plan_batch(json.loads(json.dumps(records)), Bounds(max_records=7))

    assert [(o.key, o.body) for o in first.objects] == [(o.key, o.body) for o in again.objects]
    assert first.quarantine is not None and again.quarantine is not None
    assert (first.quarantine.key, first.quarantine.body) == (again.quarantine.key, again.quarantine.body)


def test_a_redelivered_batch_that_grew_gives_the_first_attempts_objects_up_to_its_last_record() -> None:
    """A retry starts at the same checkpoint but may hold records that arrived since; planned up to the failed
    attempt's last record, it is that attempt byte for byte, and the rest is planned after it."""
    attempt = plan_batch(readings(12), Bounds(max_records=5))
    retry = readings(20)

    replayed = plan_batch(retry, Bounds(max_records=5), up_to=attempt.through)
    rest = plan_batch(retry, Bounds(max_records=5), committed_through=attempt.through)

    assert [(o.key, o.body) for o in replayed.objects] == [(o.key, o.body) for o in attempt.objects]
    assert [o.sha256 for o in replayed.objects] == [o.sha256 for o in attempt.objects]
    assert [r["id"] for r in lines(rest)] == [f"r-{n}" for n in range(12, 20)]


def test_a_redelivered_batch_already_written_plans_nothing() -> None:
    attempt = plan_batch(readings(10))
    again = plan_batch(readings(10), committed_through=attempt.through)

    assert again.objects == () and again.poison == () and again.through is None


def test_an_hour_boundary_cuts_an_object() -> None:
    records = readings(2) + readings(2, start=2, arrival=ARRIVAL + 3)
    plan = plan_batch(records)

    assert [o.key.split("/")[6] for o in plan.objects] == ["10", "11"]
    assert [o.count for o in plan.objects] == [2, 2]


def test_the_dataset_comes_from_the_partition_key_when_there_is_no_envelope() -> None:
    plan = plan_batch([kinesis_record(reading(1), sequence=FIRST_SEQUENCE, partition_key="meters"),
                       kinesis_record(reading(2) | {"dataset": "sensors"}, sequence=FIRST_SEQUENCE + 1,
                                      partition_key="meters")])

    (only,) = plan.objects
    assert only.dataset == "meters" and only.count == 2
    # A record with a `dataset` field but not exactly the envelope's two keys is a record: written as sent.
    assert lines(plan)[1]["dataset"] == "sensors"


@pytest.mark.parametrize(("data", "partition_key", "reason"), [
    (b"not json", "sensors", "not JSON"),
    (b"\xff\xfe{}", "sensors", "not UTF-8 text"),
    (b"[1, 2]", "sensors", "not a JSON object"),
    (b'{"id": 1, "id": 2}', "sensors", "duplicate key 'id'"),
    (b'{"id": NaN}', "sensors", "not JSON"),
    (json.dumps(envelope("Sensors", reading(1))).encode(), "x", 'dataset "Sensors" is not a valid dataset name'),
    (json.dumps(envelope("sensors", [1])).encode(), "x", "envelope record is not a JSON object"),
    (json.dumps({"dataset": 7, "record": reading(1)}).encode(), "x", "envelope dataset is not a string"),
    (json.dumps(reading(1)).encode(), "../etc", 'dataset "../etc" is not a valid dataset name'),
])
def test_a_poison_record_is_set_aside_with_its_reason_and_the_rest_go_on(data: bytes, partition_key: str,
                                                                          reason: str) -> None:
    records = [*readings(2), kinesis_record(data, sequence=FIRST_SEQUENCE + 2, partition_key=partition_key),
               *readings(2, start=3)]
    plan = plan_batch(records)

    (poison,) = plan.poison
    assert reason in poison.reason
    assert poison.data == data and poison.sequence_number == str(FIRST_SEQUENCE + 2)
    assert [r["id"] for r in lines(plan)] == ["r-0", "r-1", "r-3", "r-4"]
    assert plan.through == str(FIRST_SEQUENCE + 4)
    quarantine = plan.quarantine
    assert quarantine is not None
    assert quarantine.key == f"quarantine/stream/2026/11/28/10/{SHARD}-{FIRST_SEQUENCE + 2}-{FIRST_SEQUENCE + 2}.jsonl"
    (line,) = [json.loads(x) for x in quarantine.body.splitlines()]
    assert line["reason"] == poison.reason and base64.b64decode(line["data"]) == data


def test_a_batch_of_only_poison_writes_only_its_quarantine_object() -> None:
    plan = plan_batch([kinesis_record(b"{", sequence=FIRST_SEQUENCE + n) for n in range(3)])

    assert plan.objects == ()
    assert plan.quarantine is not None and plan.quarantine.count == 3
    assert plan.through == str(FIRST_SEQUENCE + 2)


def test_data_that_is_not_base64_is_poison() -> None:
    record = kinesis_record(reading(1), sequence=FIRST_SEQUENCE)
    record["kinesis"]["data"] = "***"

    decoded = StreamRecord.from_lambda(record)

    assert isinstance(decoded, Poison) and decoded.reason == "data is not base64"


def test_an_event_record_without_a_sequence_number_is_not_a_record() -> None:
    record = kinesis_record(reading(1), sequence=FIRST_SEQUENCE)
    del record["kinesis"]["sequenceNumber"]

    with pytest.raises(ValueError, match="not a Kinesis event record"):
        plan_batch([record])


def test_a_batch_spanning_two_shards_is_refused() -> None:
    records = [kinesis_record(reading(1), sequence=1), kinesis_record(reading(2), sequence=2, shard="shardId-1")]

    with pytest.raises(ValueError, match="one shard"):
        plan_batch(records)


def test_sequence_numbers_order_by_value_not_by_text() -> None:
    records = [kinesis_record(reading(n), sequence=s) for n, s in enumerate([99, 100, 101])]
    plan = plan_batch(list(reversed(records)))

    (only,) = plan.objects
    assert (only.first_sequence, only.last_sequence) == ("99", "101")
    assert [r["id"] for r in lines(plan)] == ["r-0", "r-1", "r-2"]


def test_a_line_is_compact_json_and_keeps_non_ascii_text() -> None:
    record = StreamRecord(SHARD, "1", "sensors", json.dumps({"place": "Zürich", "n": 1.5}, indent=2).encode(),
                          ARRIVAL)

    assert read_record(record) == ("sensors", '{"place":"Zürich","n":1.5}\n'.encode())
