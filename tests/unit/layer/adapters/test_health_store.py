"""HealthStore on moto's in-process DynamoDB (real ADD, Query and condition semantics): invocations of one minute add
up, minutes are read back from a start, a circuit is stored only over the version it was read at."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from lakebox_layer.adapters.health import MAX_FILES_PER_KEY, HealthStore, circuit_item, circuit_of, minute_of
from lakebox_layer.circuits import TRANSIENT, Circuit, State, Window, pause, resume, step
from lakebox_layer.exceptions import MetadataError
from tests.fakes.moto_table import TABLE, moto_metadata_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

T0 = 1_796_000_000.0 - 1_796_000_000.0 % 60  # a minute's start


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with moto_metadata_table() as client:
        yield client


def test_invocations_of_a_minute_add_up_by_class_and_dependency(dynamodb: DynamoDBClient) -> None:
    store = HealthStore(dynamodb, TABLE)
    store.count("curation", T0 + 5, 3, {("transient", "glue"): 2}, {("transient", "glue"): ["p1", "p2"]})
    store.count("curation", T0 + 50, 1, {("transient", "glue"): 1, ("file", None): 4},
                {("transient", "glue"): ["p2", "p3"], ("file", None): ["p9"]})
    store.count("curation", T0 + 61, 7, {}, {})  # the next minute
    store.count("quality", T0 + 5, 9, {}, {})  # another stage

    first, second = store.minutes("curation", T0)

    assert (first.at, first.successes) == (T0, 4)
    assert first.failures == {("transient", "glue"): 3, ("file", None): 4}
    assert first.failed_files == {("transient", "glue"): frozenset({"p1", "p2", "p3"}),
                                  ("file", None): frozenset({"p9"})}
    assert (second.at, second.successes, second.failures) == (T0 + 60, 7, {})
    assert [m.at for m in store.minutes("curation", T0 + 70)] == [T0 + 60]
    item = dynamodb.get_item(TableName=TABLE, Key={"ProcessId": {"S": "health#curation"},
                                                   "Timestamp": {"S": minute_of(T0)}})["Item"]
    assert int(item["ExpiresAt"]["N"]) >= T0 + 3600
    assert "Pipeline" not in item  # never in the status index


def test_a_minutes_failed_files_are_bounded(dynamodb: DynamoDBClient) -> None:
    store = HealthStore(dynamodb, TABLE)
    ids = [f"p{n:04}" for n in range(MAX_FILES_PER_KEY * 2)]
    store.count("validation", T0, 0, {("transient", "s3"): len(ids)}, {("transient", "s3"): ids})
    [minute] = store.minutes("validation", T0)
    assert minute.failures[("transient", "s3")] == len(ids)
    assert len(minute.failed_files[("transient", "s3")]) == MAX_FILES_PER_KEY


def test_the_minutes_make_the_window_that_opens_a_circuit(dynamodb: DynamoDBClient) -> None:
    store = HealthStore(dynamodb, TABLE)
    for n in range(12):
        store.count("curation", T0 + n, 0, {("transient", "glue"): 1}, {("transient", "glue"): [f"p{n}"]})
    decision = step(store.circuit("curation"), Window.of(store.minutes("curation", T0 - 60), T0 - 60), T0 + 30)
    assert decision.circuit.state.value == "open" and decision.circuit.dependency == "glue"


def test_a_circuit_is_stored_only_over_the_version_it_was_read_at(dynamodb: DynamoDBClient) -> None:
    store = HealthStore(dynamodb, TABLE)
    assert store.circuit("curation") == Circuit("curation")

    paused = pause(store.circuit("curation"), "maintenance", T0)
    assert store.save(paused)
    stored = store.circuit("curation")
    assert (stored.state.value, stored.reason, stored.version) == ("open", "maintenance", paused.circuit.version)

    stale = pause(Circuit("curation"), "another reason", T0 + 1)  # decided on a read from before the pause
    assert stale.changed
    assert not store.save(stale)
    assert store.circuit("curation") == stored
    assert store.save(resume(stored, T0 + 2))
    assert store.circuit("curation").state.value == "closed"


def test_dynamodb_errors_are_metadata_errors() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        with pytest.raises(MetadataError, match="counting curation's health"):
            HealthStore(client, "no-such-table").count("curation", T0, 1, {}, {})


def test_a_circuit_is_stored_as_an_item_and_read_back_with_decimals() -> None:
    circuit = Circuit("curation", State.HALF_OPEN, "glue answered", TRANSIENT, "glue", since=T0 + 0.25,
                      cool_down_s=120.0, next_probe_at=None, reopens=2, clean_files=1, half_open_since=T0 + 0.25,
                      persistent_alerted=True, opened_at=T0, code_version="12", version=9)
    item = circuit_item(circuit)
    assert json.loads(json.dumps(item)) == item
    assert None not in item.values() and "NextProbeAt" not in item
    assert (item["State"], item["CoolDownSeconds"], item["Version"]) == ("half_open", 120.0, 9)
    assert circuit_of(item) == circuit
    # As boto3 reads it back: every number a Decimal (a code version that looks like one too), other keys beside.
    read = {k: Decimal(str(v)) if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in item.items()}
    assert circuit_of({**read, "CodeVersion": Decimal("12"), "ProcessId": "circuit#curation"}) == circuit
    assert circuit_of(circuit_item(Circuit("curation"))) == Circuit("curation")
