"""fold_status: stage records folded into one status row per raw key."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakebox.status import FileRow, fold_status, rows_by_process
from lakebox_layer.records import FileStatus

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


def test_single_ingested_file_is_in_progress() -> None:
    [row] = fold_status([ingestion("p1", "input/a.json")])
    assert row == FileRow(key="input/a.json", status=FileStatus.IN_PROGRESS, quality_score=None, errors=[],
                          destination=None, process_id="p1")


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
                            "records_total", "records_valid", "records_invalid"}


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
