"""The quality stage against in-memory adapters, and the three stages chained through serialised events."""

from __future__ import annotations

import pytest

from lakebox_layer.records import DataReceived, DataValidated, QualityTotals
from tests.fakes.stages import BAD_EMAIL_JSONL, GOOD_JSON, Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


def test_quality_counts_a_file_once_and_publishes_metrics_once(harness: Harness) -> None:
    validated = harness.validate("input/a.json", GOOD_JSON)

    first = harness.quality.assess_quality(validated)
    second = harness.quality.assess_quality(validated)

    assert first == QualityTotals(files=1, files_passed=1, score_sum=100.0, records=2)
    assert second is None
    assert harness.metrics.calls == [{"passed": True, "quality_score": 100.0, "records": 2}]
    [complete] = harness.events.of_type("Quality Check Complete")
    assert complete["process_id"] == validated.process_id
    assert complete["files"] == 1
    assert complete["validation_success_rate"] == 100.0
    [record] = harness.metadata.stage("quality")
    assert record["Timestamp"].endswith("#3-quality")


def test_quality_totals_accumulate_across_files(harness: Harness) -> None:
    passed = harness.validate("input/a.json", GOOD_JSON)
    quarantined = harness.validate("input/b.jsonl", BAD_EMAIL_JSONL)
    harness.quality.assess_quality(passed)
    totals = harness.quality.assess_quality(quarantined)

    assert totals == QualityTotals(files=2, files_passed=1, score_sum=175.0, records=6)
    last = harness.events.of_type("Quality Check Complete")[-1]
    assert last["validation_success_rate"] == 50.0
    assert last["average_quality_score"] == 87.5
    assert harness.metrics.calls == [
        {"passed": True, "quality_score": 100.0, "records": 2},
        {"passed": False, "quality_score": 75.0, "records": 4},
    ]


def test_the_whole_chain_through_serialised_events(harness: Harness) -> None:
    harness.ingest("input/contacts.jsonl", BAD_EMAIL_JSONL)
    [received] = harness.events.of_type("Data Received")
    harness.validation.validate(DataReceived.from_detail(received))
    [validated] = harness.events.of_type("Data Validated")
    totals = harness.quality.assess_quality(DataValidated.from_detail(validated))

    assert totals is not None
    assert totals.files == 1
    assert totals.files_passed == 0
    # The default contract checks emails but does not mark them personal data: a steward hears of them.
    assert [kind for _, kind, _ in harness.events.published] == [
        "Data Received", "Data Validated", "Sensitive Data Detected", "Quality Check Complete",
    ]
    assert {source for source, _, _ in harness.events.published} == {
        "datalake.ingestion", "datalake.validation", "datalake.quality",
    }


def test_a_batch_reads_the_totals_once_and_every_event_carries_the_batch_totals(harness: Harness) -> None:
    batch = [harness.validate("input/a.json", GOOD_JSON), harness.validate("input/b.jsonl", BAD_EMAIL_JSONL)]
    harness.metadata.reads.clear()

    outcomes = harness.quality.assess_all([*batch, batch[0]])  # the last a duplicate

    after = QualityTotals(files=2, files_passed=1, score_sum=175.0, records=6)
    assert outcomes == [after, after, None]
    assert harness.metadata.reads == ["totals"]
    assert [e["files"] for e in harness.events.of_type("Quality Check Complete")] == [2, 2]
