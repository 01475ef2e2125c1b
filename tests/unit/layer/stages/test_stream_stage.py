"""The stream batcher on in-memory fakes: the ledger protocol keeps every record in exactly one object through
crashes at each step and redeliveries of the same or a longer batch, and poison records never block their shard."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox_layer.adapters.stream_ledger import LedgerState
from lakebox_layer.exceptions import StreamPlanMismatch
from lakebox_layer.stages.batcher import StreamBatcher, batch_source
from lakebox_layer.stream_batches import Bounds
from tests.fakes.stages import QUARANTINE, RAW, SETTINGS
from tests.fakes.stream import (
    FIRST_SEQUENCE,
    SHARD,
    STREAM,
    Crash,
    FakeCreateOnceStore,
    FakeLedger,
    event,
    kinesis_record,
    readings,
)

# Five records an object: the 12 records of a first delivery make three objects, [0-4] [5-9] [10-11]; planned
# afresh, a longer redelivery would cut [10-14] and hold records 10 and 11 a second time.
BOUNDS = Bounds(max_records=5)
POISON_AT = frozenset({7})


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def store() -> FakeCreateOnceStore:
    return FakeCreateOnceStore()


@pytest.fixture
def batcher(ledger: FakeLedger, store: FakeCreateOnceStore) -> StreamBatcher:
    return StreamBatcher(SETTINGS, ledger=ledger, objects=store, logger=Logger(service="lakebox-unit-test"),
                         bounds=BOUNDS)


def state(ledger: FakeLedger) -> LedgerState:
    return ledger.state(STREAM, SHARD)


def assert_exactly_once(store: FakeCreateOnceStore, count: int, poison_at: frozenset[int] = frozenset()) -> None:
    """Every good reading in exactly one raw object, every poison record in exactly one quarantine line, and no key
    written twice."""
    ids = [line["id"] for line in store.lines(RAW)]
    assert sorted(ids) == sorted(f"r-{n}" for n in range(count) if n not in poison_at)
    assert len(ids) == len(set(ids))
    quarantined = [int(line["sequenceNumber"]) - FIRST_SEQUENCE for line in store.lines(QUARANTINE)]
    assert quarantined == sorted(poison_at)
    assert set(store.writes.values()) <= {1}


def last(count: int) -> str:
    return str(FIRST_SEQUENCE + count - 1)


def test_a_batch_writes_its_objects_and_commits(batcher: StreamBatcher, ledger: FakeLedger,
                                                store: FakeCreateOnceStore) -> None:
    outcome = batcher.batch(event(readings(12)))

    first = FIRST_SEQUENCE
    assert outcome.written == [f"input/sensors/stream/2026/11/28/10/{SHARD}-{first + a}-{first + b}.jsonl"
                               for a, b in ((0, 4), (5, 9), (10, 11))]
    assert (outcome.records, outcome.poison, outcome.found, outcome.resumed) == (12, 0, [], False)
    assert state(ledger) == LedgerState(last(12), None)
    assert ledger.calls == ["read", "claim", "commit"]
    assert_exactly_once(store, 12)


def test_sequence_numbers_are_ordered_as_numbers_not_text(batcher: StreamBatcher, store: FakeCreateOnceStore,
                                                          ledger: FakeLedger) -> None:
    # 99 sorts after 100 as text: a ledger comparing text would take record 100 as written.
    batcher.batch(event([kinesis_record({"dataset": "sensors", "record": {"id": "r-0"}}, 99)]))
    batcher.batch(event([kinesis_record({"dataset": "sensors", "record": {"id": "r-1"}}, 100)]))

    assert state(ledger).committed == "100"
    assert sorted(line["id"] for line in store.lines(RAW)) == ["r-0", "r-1"]


# Where the first delivery dies: right after its claim, after one or two of its three raw objects, after the raw
# objects (before the quarantine object), and before its commit.
CRASHES = {"after claim": ("claim", None), "after object 1 of 3": (None, 1), "after object 2 of 3": (None, 2),
           "before the quarantine object": (None, 3), "before commit": ("commit", None)}


@pytest.mark.parametrize("redelivered", [12, 20], ids=["same batch", "longer batch"])
@pytest.mark.parametrize("crash", list(CRASHES))
def test_a_crash_then_a_redelivery_writes_every_record_once(crash: str, redelivered: int, batcher: StreamBatcher,
                                                            ledger: FakeLedger, store: FakeCreateOnceStore) -> None:
    ledger.crash_on, store.crash_after = CRASHES[crash]
    with pytest.raises(Crash):
        batcher.batch(event(readings(12, poison_at=POISON_AT)))
    assert state(ledger).pending is not None and state(ledger).committed is None

    outcome = batcher.batch(event(readings(redelivered, poison_at=POISON_AT)))

    assert outcome.resumed
    assert state(ledger) == LedgerState(last(redelivered), None)
    assert_exactly_once(store, redelivered, POISON_AT)
    # The first attempt's objects are those of the pending plan, whatever the redelivery holds past it.
    assert len(outcome.written) + len(outcome.found) == 4 + (2 if redelivered == 20 else 0)
    assert outcome.poison == 1


def test_a_redelivery_after_commit_writes_nothing(batcher: StreamBatcher, ledger: FakeLedger,
                                                  store: FakeCreateOnceStore) -> None:
    batcher.batch(event(readings(12, poison_at=POISON_AT)))
    attempts = store.attempts

    outcome = batcher.batch(event(readings(12, poison_at=POISON_AT)))

    assert (outcome.written, outcome.found, outcome.records, outcome.poison) == ([], [], 0, 0)
    assert store.attempts == attempts
    assert ledger.calls.count("claim") == 1 and ledger.calls.count("commit") == 1
    assert_exactly_once(store, 12, POISON_AT)


def test_a_longer_redelivery_after_commit_writes_only_the_new_records(batcher: StreamBatcher,
                                                                       store: FakeCreateOnceStore,
                                                                       ledger: FakeLedger) -> None:
    batcher.batch(event(readings(12)))

    outcome = batcher.batch(event(readings(15)))

    first = FIRST_SEQUENCE
    assert outcome.written == [f"input/sensors/stream/2026/11/28/10/{SHARD}-{first + 12}-{first + 14}.jsonl"]
    assert state(ledger) == LedgerState(last(15), None)
    assert_exactly_once(store, 15)


def test_a_poison_record_is_quarantined_with_its_reason_and_the_rest_written(
        batcher: StreamBatcher, store: FakeCreateOnceStore, ledger: FakeLedger) -> None:
    outcome = batcher.batch(event(readings(6, poison_at=frozenset({2}))))

    (line,) = store.lines(QUARANTINE)
    assert line["reason"].startswith("not JSON")
    assert line["sequenceNumber"] == str(FIRST_SEQUENCE + 2)
    assert (outcome.records, outcome.poison) == (5, 1)
    assert outcome.written[-1].startswith(f"quarantine/stream/2026/11/28/10/{SHARD}-")
    assert state(ledger) == LedgerState(last(6), None)
    assert_exactly_once(store, 6, frozenset({2}))


def test_a_batch_of_poison_only_is_quarantined_and_committed(batcher: StreamBatcher, store: FakeCreateOnceStore,
                                                             ledger: FakeLedger) -> None:
    outcome = batcher.batch(event([kinesis_record(b"\xff", FIRST_SEQUENCE)]))

    assert (outcome.records, outcome.poison, len(outcome.written)) == (0, 1, 1)
    assert store.lines(RAW) == []
    assert state(ledger) == LedgerState(str(FIRST_SEQUENCE), None)


def changed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same sequence numbers, one record's bytes different (what no Kinesis redelivery does)."""
    records = list(records)
    records[3] = kinesis_record({"dataset": "sensors", "record": {"id": "r-3", "celsius": -1}}, FIRST_SEQUENCE + 3)
    return records


@pytest.mark.parametrize("redelivered", [
    pytest.param(lambda: readings(8), id="shorter batch"),
    pytest.param(lambda: readings(12)[:5] + readings(12)[6:], id="a record missing"),
    pytest.param(lambda: changed(readings(12)), id="a record changed"),
])
def test_a_pending_plan_the_redelivery_does_not_cover_raises_and_writes_nothing(
        redelivered: Any, batcher: StreamBatcher, ledger: FakeLedger, store: FakeCreateOnceStore) -> None:
    ledger.crash_on = "claim"
    with pytest.raises(Crash):
        batcher.batch(event(readings(12)))
    pending = state(ledger).pending

    with pytest.raises(StreamPlanMismatch, match="pending plan"):
        batcher.batch(event(redelivered()))

    assert store.attempts == 0
    assert state(ledger) == LedgerState(None, pending)


def test_an_empty_event_touches_nothing(batcher: StreamBatcher, ledger: FakeLedger) -> None:
    outcome = batcher.batch({"Records": []})

    assert outcome.written == [] and ledger.calls == []


def test_each_object_written_and_each_poison_record_is_logged(batcher: StreamBatcher,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    batcher.batch(event(readings(12, poison_at=POISON_AT)))

    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("stream object written") == 4
    assert messages.count("poison record set aside") == 1


def test_the_source_of_a_batch_is_its_stream_and_shard() -> None:
    assert batch_source(readings(1)) == (STREAM, SHARD)
    with pytest.raises(ValueError, match="not a Kinesis event record"):
        batch_source([{"eventSourceARN": "arn:aws:sqs:us-east-1:0:queue", "eventID": "x"}])
