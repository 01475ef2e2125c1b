"""fold_status: stage records folded into one status row per raw key, with the stages recorded for it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakebox_layer.records import FileStatus
from lakebox_layer.registry import Stage
from lakebox_layer.status import FileRow, fold_status, row_of, rows_by_process

T1 = "2026-01-01T00:00:00+00:00"
T2 = "2026-01-02T08:15:00+00:00"


def ingestion(process_id: str, key: str, arrived: str = T1) -> dict[str, Any]:
    return {"ProcessId": process_id, "Timestamp": f"{arrived}#1-ingestion", "RawKey": key,
            "Status": "in_progress"}


def validation(process_id: str, key: str, status: str, arrived: str = T1, **extra: Any) -> dict[str, Any]:
    record = {"ProcessId": process_id, "Timestamp": f"{arrived}#2-validation", "RawKey": key, "Status": status,
              "QualityScore": 75.0, "Errors": ["record 2: invalid email in 'email'"],
              "Destination": f"s3://q/quarantine/default/{key.rsplit('/', 1)[-1]}", "RecordsTotal": 4,
              "RecordsValid": 3}
    record.update(extra)
    return record


def quality(process_id: str, key: str, arrived: str = T1) -> dict[str, Any]:
    """What the quality stage records: no status, a score of its own."""
    return {"ProcessId": process_id, "Timestamp": f"{arrived}#3-quality", "Stage": "quality", "Pipeline": "lakebox",
            "RawKey": key, "QualityScore": 10.0, "ValidationPassed": False, "RecordsTotal": 99}


def curation(process_id: str, key: str, arrived: str = T1) -> dict[str, Any]:
    """What the curation stage records: no status either."""
    return {"ProcessId": process_id, "Timestamp": f"{arrived}#4-curation", "Stage": "curation", "Pipeline": "lakebox",
            "RawKey": key, "CurationStatus": "curated"}


def test_single_ingested_file_is_in_progress() -> None:
    [row] = fold_status([ingestion("p1", "input/a.json")])
    assert row == FileRow(key="input/a.json", status=FileStatus.IN_PROGRESS, quality_score=None, errors=[],
                          destination=None, process_id="p1", stages=("ingestion",))


@pytest.mark.parametrize("order", [[0, 1], [1, 0]], ids=["in-order", "reversed"])
def test_furthest_stage_wins_whatever_the_order(order: list[int]) -> None:
    records = [ingestion("p1", "input/a.json"), validation("p1", "input/a.json", "quarantined")]
    [row] = fold_status([records[i] for i in order])
    assert row.status is FileStatus.QUARANTINED
    assert row.quality_score == 75.0
    assert row.errors == ["record 2: invalid email in 'email'"]
    assert row.destination == "s3://q/quarantine/default/a.json"
    assert (row.records_total, row.records_valid) == (4, 3)


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0], [1, 2, 0]])
def test_later_version_of_a_key_wins_even_at_an_earlier_stage(order: list[int]) -> None:
    key = "input/sales/a.csv"
    records = [
        ingestion("v1", key, T1),
        validation("v1", key, "processed", T1, Errors=[]),
        ingestion("v2", key, T2),
    ]
    [row] = fold_status([records[i] for i in order])
    assert row.process_id == "v2"
    assert row.status is FileStatus.IN_PROGRESS


def test_one_row_per_key_sorted_by_key() -> None:
    records = [
        ingestion("p3", "input/sales/z.csv"),
        validation("p2", "input/b.json", "processed", Errors=[]),
        ingestion("p1", "input/a.json"),
        validation("p3", "input/sales/z.csv", "failed", Destination=None),
        ingestion("p2", "input/b.json"),
    ]
    rows = fold_status(records)
    assert [(r.key, r.status, r.process_id) for r in rows] == [
        ("input/a.json", FileStatus.IN_PROGRESS, "p1"),
        ("input/b.json", FileStatus.PROCESSED, "p2"),
        ("input/sales/z.csv", FileStatus.FAILED, "p3"),
    ]
    assert rows[2].destination is None


def test_no_records_no_rows() -> None:
    assert fold_status([]) == []


def test_row_json_uses_the_status_value() -> None:
    [row] = fold_status([validation("p1", "input/a.json", "quarantined")])
    as_json = row.to_json()
    assert as_json["status"] == "quarantined"
    assert as_json["key"] == "input/a.json"
    assert as_json["records_valid"] == 3
    assert as_json["records_invalid"] == 1
    assert as_json["records_valid"] + as_json["records_invalid"] == as_json["records_total"]


@pytest.mark.parametrize(("total", "valid"), [(4, 3), (0, 0), (10, 10), (7, 0)])
def test_records_invalid_is_total_minus_valid(total: int, valid: int) -> None:
    [row] = fold_status([validation("p1", "input/a.json", "quarantined", RecordsTotal=total, RecordsValid=valid)])
    assert row.records_invalid == total - valid
    assert row.records_valid is not None and row.records_invalid is not None
    assert row.records_valid + row.records_invalid == row.records_total
    assert row.to_json()["records_invalid"] == total - valid


def test_records_invalid_is_unknown_before_validation() -> None:
    # An ingested file has no record counts yet: unknown, not zero.
    [row] = fold_status([ingestion("p1", "input/a.json")])
    assert row.records_invalid is None
    as_json = row.to_json()
    assert as_json["records_total"] is None
    assert as_json["records_invalid"] is None


def test_row_json_is_serialisable_and_complete() -> None:
    [row] = fold_status([validation("p1", "input/a.json", "processed", Errors=[])])
    as_json = json.loads(json.dumps(row.to_json()))
    assert set(as_json) == {"key", "status", "quality_score", "errors", "destination", "process_id",
                            "records_total", "records_valid", "records_invalid", "stages"}
    assert as_json["stages"] == ["validation"]


def test_rows_by_process_keeps_every_version_at_its_furthest_stage() -> None:
    key = "input/a.json"
    rows = rows_by_process([
        validation("v1", key, "processed", T1, Errors=[]),
        ingestion("v1", key, T1),
        ingestion("v2", key, T2),
    ])
    assert {pid: row.status for pid, row in rows.items()} == {
        "v1": FileStatus.PROCESSED,
        "v2": FileStatus.IN_PROGRESS,
    }


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]])
def test_quality_and_curation_add_stages_but_the_status_comes_from_validation(order: list[int]) -> None:
    key = "input/a.json"
    records = [ingestion("p1", key), validation("p1", key, "processed", Errors=[]), quality("p1", key),
               curation("p1", key)]
    [row] = fold_status([records[i] for i in order])
    assert row.status is FileStatus.PROCESSED
    assert (row.quality_score, row.records_total, row.records_valid) == (75.0, 4, 3), "not the quality record's"
    assert row.destination == "s3://q/quarantine/default/a.json"
    assert row.stages == ("ingestion", "validation", "quality", "curation")
    assert row.recorded(Stage.CURATION)
    assert row.to_json()["stages"] == ["ingestion", "validation", "quality", "curation"]


def test_a_quality_record_does_not_end_an_in_progress_file() -> None:
    # Validation publishes before it records: quality may record a file whose validation record is not there yet.
    key = "input/a.json"
    [row] = fold_status([quality("p1", key), ingestion("p1", key)])
    assert row.status is FileStatus.IN_PROGRESS
    assert row.stages == ("ingestion", "quality")
    assert not row.recorded(Stage.VALIDATION)


def test_a_process_known_only_from_a_stage_without_status_is_in_progress() -> None:
    rows = rows_by_process([curation("p1", "input/a.json")])
    assert rows["p1"].status is FileStatus.IN_PROGRESS
    assert rows["p1"].key == "input/a.json"
    assert rows["p1"].stages == ("curation",)
    assert row_of(quality("p2", "input/b.json")).status is FileStatus.IN_PROGRESS


def test_stages_are_per_version_of_a_key() -> None:
    key = "input/a.json"
    rows = rows_by_process([
        validation("v1", key, "quarantined", T1), quality("v1", key, T1), ingestion("v1", key, T1),
        ingestion("v2", key, T2),
    ])
    assert rows["v1"].stages == ("ingestion", "validation", "quality")
    assert rows["v2"].stages == ("ingestion",)
    [latest] = fold_status([validation("v1", key, "quarantined", T1), quality("v1", key, T1),
                            ingestion("v2", key, T2)])
    assert (latest.process_id, latest.stages) == ("v2", ("ingestion",))
