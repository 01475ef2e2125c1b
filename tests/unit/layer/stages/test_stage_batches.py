"""A queue batch through each stage: the events of all its files in one PutEvents call (ten entries a call), each
file's record written only once its own entry was accepted, a refused entry failing only its own file, each
dataset's contract read once per batch, and the quality metrics of the whole batch in one call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox_layer.contracts import parse_contract
from lakebox_layer.exceptions import ContractInvalid, IngestionFailed, PublishError
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.records import DataReceived, DataValidated, QualityTotals
from lakebox_layer.registry import Event
from lakebox_layer.stages.batch import Announcement, announce, sqs_batch_response
from tests.fakes.stages import GOOD_JSON, FakeContractStore, FakeEventPublisher, Harness

EVENT_TIME = "2026-01-15T10:30:00.000Z"


@pytest.fixture
def harness() -> Harness:
    return Harness()


def received(harness: Harness, *keys: str) -> list[DataReceived]:
    batch = [harness.ingestion.ingest(harness.objects.upload(key, GOOD_JSON)) for key in keys]
    assert all(r is not None for r in batch)
    return [r for r in batch if r is not None]


def test_validation_publishes_a_batch_in_one_call_and_records_only_accepted_files(harness: Harness) -> None:
    batch = received(harness, "input/a.json", "input/b.json", "input/c.json")
    calls, reads = harness.events.calls, len(harness.contracts.reads)
    harness.events.refuse = {"input/b.json"}

    outcomes = harness.validation.validate_all(batch)

    assert harness.events.calls == calls + 1
    assert len(harness.contracts.reads) == reads + 1  # the default dataset's contract, once for the batch
    assert isinstance(outcomes[1], PublishError)
    assert [o.key for o in outcomes if isinstance(o, DataValidated)] == ["input/a.json", "input/c.json"]
    assert sorted(r["RawKey"] for r in harness.metadata.stage("validation")) == ["input/a.json", "input/c.json"]
    assert [d["key"] for d in harness.events.of_type("Data Validated")] == ["input/a.json", "input/c.json"]


def test_a_refused_file_is_validated_again_on_redelivery(harness: Harness) -> None:
    batch = received(harness, "input/a.json", "input/b.json")
    harness.events.refuse = {"input/b.json"}
    harness.validation.validate_all(batch)
    harness.events.refuse = set()

    again = harness.validation.validate_all(batch)

    assert again[0] is None  # recorded: a duplicate now
    assert isinstance(again[1], DataValidated)
    assert len(harness.metadata.stage("validation")) == 2


def test_ingestion_fails_only_the_notification_whose_object_was_refused(harness: Harness) -> None:
    first = [ObjectCreated(harness.objects.upload("input/a.json", GOOD_JSON), EVENT_TIME)]
    second = [ObjectCreated(harness.objects.upload(key, GOOD_JSON), EVENT_TIME)
              for key in ("input/b.json", "input/c.json")]
    harness.events.refuse = {"input/c.json"}

    outcomes = harness.ingestion.ingest_batch([first, second])

    assert harness.events.calls == 1
    assert outcomes[0] == [first[0].raw.process_id]
    assert isinstance(outcomes[1], IngestionFailed) and "input/c.json" in str(outcomes[1])
    # The other object of the failed notification is done: recorded, and a duplicate when the message returns.
    assert sorted(r["RawKey"] for r in harness.metadata.stage("ingestion")) == ["input/a.json", "input/b.json"]


def test_ingestion_asks_once_per_batch_which_objects_it_has_seen(harness: Harness) -> None:
    created = [ObjectCreated(harness.objects.upload(key, GOOD_JSON), EVENT_TIME)
               for key in ("input/a.json", "input/b.json", "input/c.json")]
    harness.ingestion.ingest_batch([created[:1]])
    harness.metadata.reads.clear()

    outcomes = harness.ingestion.ingest_batch([created, created[1:2]])  # a seen one, two new, one twice

    assert harness.metadata.reads == ["batch"]  # no read per object
    assert outcomes == [[created[1].raw.process_id, created[2].raw.process_id], []]
    assert len(harness.events.of_type("Data Received")) == 3


def test_quality_publishes_the_metrics_of_a_batch_in_one_call(harness: Harness) -> None:
    batch = [harness.validation.validate(r) for r in received(harness, "input/a.json", "input/b.json")]
    validated = [v for v in batch if v is not None]
    harness.events.refuse = {"input/b.json"}

    outcomes = harness.quality.assess_all(validated)

    assert harness.metrics.requests == 1
    assert len(harness.metrics.calls) == 2
    # The totals after the batch: both files were counted in their transactions, before the events.
    assert outcomes[0] == QualityTotals(files=2, files_passed=2, score_sum=200.0, records=4)
    assert isinstance(outcomes[1], PublishError)
    assert [d["key"] for d in harness.events.of_type("Quality Check Complete")] == ["input/a.json"]


def test_a_contract_edit_takes_effect_from_the_next_batch(harness: Harness) -> None:
    contracts = FakeContractStore()
    harness = Harness(contracts=contracts)
    strict = parse_contract({"dataset": "scratch", "version": "1", "fields": {"id": {"enum": ["x"]}},
                             "policy": {"threshold": 0, "mode": "file"}})
    contracts.published["scratch"] = strict
    [first] = received(harness, "input/scratch/a.json")
    assert harness.validation.validate_all([first])[0] is not None
    contracts.published["scratch"] = parse_contract({**strict.document, "version": "2", "fields": {}})

    [second] = received(harness, "input/scratch/b.json")
    [outcome] = harness.validation.validate_all([second])

    assert isinstance(outcome, DataValidated) and (outcome.contract_version or "").startswith("2")


def test_an_invalid_contract_is_read_once_per_batch_and_fails_each_file(harness: Harness) -> None:
    harness.contracts.broken["broken"] = "no fields"
    batch = received(harness, "input/broken/a.json", "input/broken/b.json")
    reads = len(harness.contracts.reads)

    outcomes = harness.validation.validate_all(batch)

    assert len(harness.contracts.reads) == reads + 1
    assert [o.status.value for o in outcomes if isinstance(o, DataValidated)] == ["failed", "failed"]


def test_events_go_out_after_every_side_effect_and_records_after_their_event() -> None:
    log: list[str] = []

    class Events(FakeEventPublisher):
        def publish_all(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[PublishError | None]:
            log.append(f"events {len(events)}")
            return super().publish_all(events)

    def prepare(n: int) -> Announcement[int] | None:
        log.append(f"side effects {n}")
        if n == 2:
            raise ConnectionResetError("reset")
        if n == 3:
            return None  # a duplicate
        def finish() -> int:
            log.append(f"record {n}")
            return n

        return Announcement(Event("s", "t"), {"key": str(n)}, finish)

    outcomes = announce(Events(), [1, 2, 3, 4], prepare)

    assert log == ["side effects 1", "side effects 2", "side effects 3", "side effects 4", "events 2", "record 1",
                   "record 4"]
    assert outcomes[0] == 1 and isinstance(outcomes[1], ConnectionResetError) and outcomes[2] is None
    assert outcomes[3] == 4


def test_the_batch_response_names_exactly_the_failed_messages() -> None:
    event = {"Records": [{"messageId": f"m{n}", "body": body} for n, body in
                         enumerate(['{"n": 1}', "not json", '{"n": 2}', '{"n": 3}'])]}

    def run(items: list[dict[str, Any]]) -> list[object]:
        return [ContractInvalid("bad") if item["n"] == 2 else item["n"] for item in items]

    response = sqs_batch_response(event, json.loads, run, Logger(service="lakebox-unit-test"),
                                  lambda body: [(str(body), "0" * 32)])

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_the_same_file_twice_in_one_batch_is_validated_and_announced_once(harness: Harness) -> None:
    [first] = received(harness, "input/a.json")

    outcomes = harness.validation.validate_all([first, first])

    assert isinstance(outcomes[0], DataValidated) and outcomes[1] is None
    assert len(harness.events.of_type("Data Validated")) == 1
    assert len(harness.metadata.stage("validation")) == 1


def test_a_batch_asks_once_which_files_are_already_validated(harness: Harness) -> None:
    batch = received(harness, "input/a.json", "input/b.json", "input/c.json")
    harness.validation.validate_all(batch[:1])
    harness.metadata.reads.clear()

    outcomes = harness.validation.validate_all(batch)

    assert harness.metadata.reads == ["batch"]  # one look-up for three files, no read per file
    assert outcomes[0] is None  # already validated: a duplicate
    assert [o.key for o in outcomes[1:] if isinstance(o, DataValidated)] == ["input/b.json", "input/c.json"]
    assert len(harness.metadata.stage("validation")) == 3


def test_a_failed_look_up_falls_back_to_a_read_per_file(harness: Harness) -> None:
    batch = received(harness, "input/a.json", "input/b.json")
    harness.validation.validate_all(batch[:1])
    harness.metadata.reads.clear()
    harness.metadata.fail_lookups = True

    outcomes = harness.validation.validate_all(batch)

    assert harness.metadata.reads == ["batch", "one", "one"]
    assert outcomes[0] is None and isinstance(outcomes[1], DataValidated)
    assert len(harness.events.of_type("Data Validated")) == 2  # a and b once each, the duplicate not again
