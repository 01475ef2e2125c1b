"""The batcher's hold, where the stream's mapping ignores its batching window: a young, small batch of a shard still
being written is refused before the ledger is read, and comes back larger; any other batch is written at once."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox_layer.exceptions import BatchHeld
from lakebox_layer.stages.batcher import IDLE_FLUSH_S, StreamBatcher
from lakebox_layer.stream_batches import Bounds
from tests.fakes.stages import RAW, SETTINGS
from tests.fakes.stream import ARRIVAL, FIRST_SEQUENCE, FakeCreateOnceStore, FakeLedger, event, kinesis_record

HOLD_S = 10
MAX_RECORDS = 5
# A multiple of three: the batcher sizes a record from its base64 data, exact for whole groups of three bytes.
RECORD_BYTES = 300
MAX_BYTES = 4 * RECORD_BYTES


def record(n: int, age_s: float, size: int = 60) -> dict[str, Any]:
    """Record `n` of the shard, `age_s` seconds old when the clock reads ARRIVAL, its data `size` bytes of JSON."""
    padding = "x" * (size - len('{"dataset": "sensors", "record": {"id": "r-000", "pad": ""}}'))
    data = f'{{"dataset": "sensors", "record": {{"id": "r-{n:03d}", "pad": "{padding}"}}}}'.encode()
    assert len(data) == size
    kinesis_event = kinesis_record(data, FIRST_SEQUENCE + n)
    kinesis_event["kinesis"] = {**kinesis_event["kinesis"], "approximateArrivalTimestamp": ARRIVAL - age_s}
    return kinesis_event


def records(*ages: float, size: int = 60) -> list[dict[str, Any]]:
    return [record(n, age, size) for n, age in enumerate(ages)]


class Batcher:
    """A batcher on fakes, with a clock fixed at ARRIVAL and a chosen hold."""

    def __init__(self, hold_s: int = HOLD_S) -> None:
        self.ledger = FakeLedger()
        self.store = FakeCreateOnceStore()
        settings = replace(SETTINGS, stream_hold_s=hold_s, stream_max_records=MAX_RECORDS,
                           stream_max_bytes=MAX_BYTES)
        self.stage = StreamBatcher(settings, ledger=self.ledger, objects=self.store,
                                   logger=Logger(service="lakebox-unit-test"), clock=lambda: ARRIVAL)

    def assert_held(self, batch: list[dict[str, Any]]) -> None:
        """BatchHeld, and neither the ledger nor the store was touched."""
        with pytest.raises(BatchHeld, match=f"held for up to {self.stage.hold_s} s"):
            self.stage.batch(event(batch))
        assert self.ledger.calls == []
        assert self.ledger.states == {}
        assert self.store.attempts == 0

    def assert_written(self, batch: list[dict[str, Any]]) -> None:
        """The batch was planned and written like any other: every record in a raw object, the ledger committed."""
        self.stage.hold(batch)
        outcome = self.stage.batch(event(batch))
        assert self.ledger.calls == ["read", "claim", "commit"]
        assert outcome.records == len(batch)
        assert outcome.committed == str(FIRST_SEQUENCE + len(batch) - 1)
        assert len(self.store.lines(RAW)) == len(batch)


def test_the_settings_bounds_are_the_batchers() -> None:
    stage = Batcher().stage
    assert stage.bounds == Bounds(MAX_RECORDS, MAX_BYTES)
    assert (stage.hold_s, IDLE_FLUSH_S) == (HOLD_S, 0.25)


def test_a_young_small_batch_of_a_shard_still_written_is_held() -> None:
    Batcher().assert_held(records(2.0, 1.0, 0.1))


def test_a_single_record_just_arrived_is_held() -> None:
    Batcher().assert_held(records(0.0))


def test_the_hold_is_logged_with_the_batch_and_the_window(caplog: pytest.LogCaptureFixture) -> None:
    batcher = Batcher()
    with pytest.raises(BatchHeld, match=r"^3 records, the oldest 2\.0 s old: held for up to 10 s"):
        batcher.stage.batch(event(records(2.0, 1.0, 0.1)))

    assert [r.getMessage() for r in caplog.records] == ["stream batch held for more records"]


def test_a_full_batch_is_not_held() -> None:
    Batcher().assert_written(records(0.3, 0.3, 0.2, 0.1, 0.0))


def test_a_batch_one_short_of_full_is_held() -> None:
    Batcher().assert_held(records(0.3, 0.3, 0.2, 0.1))


def test_a_batch_whose_bytes_reach_the_bound_is_not_held() -> None:
    Batcher().assert_written(records(0.3, 0.2, 0.1, 0.0, size=RECORD_BYTES))


def test_a_batch_just_under_the_byte_bound_is_held() -> None:
    batch = [*records(0.3, 0.2, 0.1, size=RECORD_BYTES), record(3, 0.0, RECORD_BYTES - 3)]
    Batcher().assert_held(batch)


def test_a_batch_whose_oldest_record_waited_the_whole_hold_is_not_held() -> None:
    Batcher().assert_written(records(HOLD_S, 0.1))


def test_a_batch_whose_oldest_record_is_just_younger_than_the_hold_is_held() -> None:
    Batcher().assert_held(records(HOLD_S - 0.01, 0.1))


def test_a_batch_of_a_shard_no_longer_written_is_not_held() -> None:
    # The newest record is IDLE_FLUSH_S old: nothing more is coming for now, so waiting would only delay it.
    Batcher().assert_written(records(2.0, IDLE_FLUSH_S))


def test_a_batch_whose_newest_record_is_just_younger_than_the_idle_flush_is_held() -> None:
    Batcher().assert_held(records(2.0, IDLE_FLUSH_S - 0.01))


def test_without_a_hold_a_young_small_batch_is_written_at_once() -> None:
    Batcher(hold_s=0).assert_written(records(0.1, 0.0))


def test_a_held_batch_delivered_again_after_the_hold_is_written_once() -> None:
    batcher = Batcher()
    young = records(2.0, 0.1)
    batcher.assert_held(young)
    batcher.stage.clock = lambda: ARRIVAL + HOLD_S

    batcher.assert_written(young)

    assert sorted(line["id"] for line in batcher.store.lines(RAW)) == ["r-000", "r-001"]


def test_record_data_is_measured_as_decoded_bytes() -> None:
    # 3 records of RECORD_BYTES bytes are 1200 characters of base64, as many as MAX_BYTES: the bound counts the
    # decoded data, 900 bytes, and the batch is held.
    batch = records(0.3, 0.2, 0.1, size=RECORD_BYTES)
    assert sum(len(r["kinesis"]["data"]) for r in batch) == MAX_BYTES
    assert len(base64.b64decode(batch[0]["kinesis"]["data"])) == RECORD_BYTES
    Batcher().assert_held(batch)
