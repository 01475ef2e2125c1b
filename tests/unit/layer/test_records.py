"""Records at the pipeline's boundaries: datasets, names, process ids and event details."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from lakebox_layer.records import (
    DataReceived,
    DataValidated,
    FileFormat,
    FileStatus,
    QualityTotals,
    RawObject,
    ValidationOutcome,
    dataset_of,
    relative_name,
)
from lakebox_layer.registry import Stage

RAW_BUCKET = "lakebox-raw-000000000000-us-east-1"


@pytest.mark.parametrize(
    ("key", "dataset", "name"),
    [
        ("input/a.json", "default", "a.json"),
        ("input/sales/a.csv", "sales", "a.csv"),
        ("input/sales/2026/a.csv", "sales", "2026/a.csv"),
        ("input/default/a.json", "default", "a.json"),
        ("input/default/2026/01/a.json", "default", "2026/01/a.json"),
        ("input/my file+1.csv", "default", "my file+1.csv"),
    ],
)
def test_dataset_and_relative_name(key: str, dataset: str, name: str) -> None:
    assert dataset_of(key) == dataset
    assert relative_name(key) == name
    assert RawObject(RAW_BUCKET, key, "e", 1).dataset == dataset


def raw(**changes: Any) -> RawObject:
    values: dict[str, Any] = {"bucket": RAW_BUCKET, "key": "input/sales/a.csv", "etag": "abc123", "size": 10,
                              "version_id": "v1"}
    values.update(changes)
    return RawObject(**values)


def test_process_id_is_deterministic_hex() -> None:
    assert raw().process_id == raw().process_id
    assert len(raw().process_id) == 32
    int(raw().process_id, 16)


@pytest.mark.parametrize(
    "changes",
    [{"etag": "def456"}, {"version_id": "v2"}, {"version_id": None}, {"key": "input/sales/b.csv"},
     {"bucket": "other-bucket"}],
    ids=["etag", "version", "no-version", "key", "bucket"],
)
def test_process_id_differs_per_object_version(changes: dict[str, Any]) -> None:
    assert raw(**changes).process_id != raw().process_id


def test_process_id_ignores_quotes_around_the_etag() -> None:
    assert raw(etag='"abc123"').process_id == raw(etag="abc123").process_id


def test_process_id_ignores_the_size() -> None:
    # The size is not part of an object version's identity; etag and version id are.
    assert raw(size=999).process_id == raw().process_id


def test_process_id_fields_cannot_be_shifted_into_each_other() -> None:
    # Joining fields naively would make ("a", "bc") and ("ab", "c") collide.
    assert raw(key="input/a", etag="bc").process_id != raw(key="input/ab", etag="c").process_id


def received(**changes: Any) -> DataReceived:
    values: dict[str, Any] = {
        "process_id": raw().process_id, "bucket": RAW_BUCKET, "key": "input/sales/a.csv", "etag": "abc123",
        "size": 10, "dataset": "sales", "format": FileFormat.CSV, "arrived_at": "2026-01-15T10:30:00+00:00",
        "version_id": "v1",
    }
    values.update(changes)
    return DataReceived(**values)


@pytest.mark.parametrize(
    "event",
    [received(), received(format=FileFormat.UNSUPPORTED, reason="empty file", version_id=None),
     received(key="input/sales/a.csv.gz", compression="gzip")],
    ids=["csv", "unsupported", "gzip"],
)
def test_data_received_round_trips_through_json(event: DataReceived) -> None:
    detail = json.loads(json.dumps(event.to_detail()))
    assert detail["format"] == event.format.value
    back = DataReceived.from_detail(detail)
    assert back == event
    assert back.format is event.format
    assert back.raw_object == RawObject(event.bucket, event.key, event.etag, event.size, event.version_id)


def validated(**changes: Any) -> DataValidated:
    values: dict[str, Any] = {
        "process_id": "p1", "key": "input/sales/a.csv", "dataset": "sales",
        "arrived_at": "2026-01-15T10:30:00+00:00", "status": FileStatus.QUARANTINED, "quality_score": 75.0,
        "records_total": 4, "records_valid": 3, "errors": ["record 2: invalid email in 'email'"],
        "destination": "s3://q/quarantine/sales/a.csv",
    }
    values.update(changes)
    return DataValidated(**values)


@pytest.mark.parametrize(
    "event",
    [validated(), validated(status=FileStatus.PROCESSED, errors=[]), validated(status=FileStatus.FAILED,
                                                                                destination=None)],
    ids=["quarantined", "processed", "failed"],
)
def test_data_validated_round_trips_through_json(event: DataValidated) -> None:
    back = DataValidated.from_detail(json.loads(json.dumps(event.to_detail())))
    assert back == event
    assert back.status is event.status
    assert back.passed is (event.status is FileStatus.PROCESSED)


def test_details_from_eventbridge_fixtures(load_event: Callable[[str], dict[str, Any]]) -> None:
    got = DataReceived.from_detail(EventBridgeEvent(load_event("eventbridge_data_received.json")).detail)
    assert got.format is FileFormat.JSON_LINES
    assert got.dataset == "sales"
    assert got.raw_object.key == "input/sales/2026/orders.jsonl"
    assert got.reason is None
    # Events published before gzip support carry no compression: plain.
    assert got.compression is None

    gzipped = DataReceived.from_detail(EventBridgeEvent(load_event("eventbridge_data_received_gzip.json")).detail)
    assert (gzipped.format, gzipped.compression, gzipped.dataset) == (FileFormat.CSV, "gzip", "orders")
    assert gzipped.raw_object.key == "input/orders/2026/orders.csv.gz"

    judged = DataValidated.from_detail(EventBridgeEvent(load_event("eventbridge_data_validated.json")).detail)
    assert judged.status is FileStatus.QUARANTINED
    assert not judged.passed
    assert judged.records_total - judged.records_valid == 1


def test_quality_totals_rates() -> None:
    totals = QualityTotals(files=4, files_passed=3, score_sum=340.0, records=100)
    assert totals.success_rate == pytest.approx(75.0)
    assert totals.average_score == pytest.approx(85.0)


def test_quality_totals_with_zero_files_are_zero_not_a_division_error() -> None:
    totals = QualityTotals(files=0, files_passed=0, score_sum=0.0, records=0)
    assert totals.success_rate == 0.0
    assert totals.average_score == 0.0


def test_stage_order_follows_the_pipeline() -> None:
    assert [stage.order for stage in (Stage.INGESTION, Stage.VALIDATION, Stage.QUALITY)] == [1, 2, 3]


def test_only_in_progress_is_not_terminal() -> None:
    assert [s for s in FileStatus if not s.terminal] == [FileStatus.IN_PROGRESS]


@pytest.mark.parametrize(("total", "valid"), [(0, 0), (4, 3), (5, 5), (3, 0)])
def test_validation_outcome_records_invalid_is_total_minus_valid(total: int, valid: int) -> None:
    outcome = ValidationOutcome(passed=False, quality_score=0.0, records_total=total, records_valid=valid,
                                completeness=0.0)
    assert outcome.records_invalid == total - valid
    assert outcome.records_valid + outcome.records_invalid == outcome.records_total
