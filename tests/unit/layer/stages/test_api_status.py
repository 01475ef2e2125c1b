"""The ingestion API's status routes on moto's metadata table: a producer reads the row `lakebox status` shows for
a file it sent, by process id or by name (the latest version), with what the file still waits for; another
producer's file, or none, is 404 and says nothing of the file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from lakebox_layer.adapters.metadata import FileRecords, marshal
from lakebox_layer.ingest_api import authorizer_answer
from lakebox_layer.producers import Producer
from lakebox_layer.stages.api import NAMED_STATUS_ROUTE, STATUS_ROUTE, IngestApi
from tests.fakes.ingest_api import FakeRates, FakeStream, FakeUploads, Lines
from tests.fakes.moto_table import TABLE, moto_metadata_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PARTNER = Producer("partner", ("orders",), "d" * 64, "2026-12-07T10:00:00+00:00")
RIVAL = Producer("rival", ("orders",), "e" * 64, "2026-12-07T10:00:00+00:00")
OURS = "input/orders/partner/a.csv"
THEIRS = "input/orders/rival/a.csv"
OLD, NEW, OTHER = "1" * 32, "2" * 32, "3" * 32


def record(db: DynamoDBClient, pid: str, key: str, arrived: str, stage: str, **attributes: Any) -> None:
    item = {"ProcessId": pid, "Timestamp": f"{arrived}#{stage}", "Pipeline": "lakebox", "RawKey": key,
            "RecordedAt": arrived, **attributes}
    db.put_item(TableName=TABLE, Item=marshal(item))


@pytest.fixture
def api() -> Iterator[IngestApi]:
    with moto_metadata_table() as db:
        # Our file's first version is curated; its second is validated and waits for quality.
        record(db, OLD, OURS, "2026-12-07T10:00:00+00:00", "1-ingestion", Status="in_progress")
        record(db, OLD, OURS, "2026-12-07T10:00:00+00:00", "2-validation", Status="processed", RecordsTotal=3,
               RecordsValid=3, QualityScore=1.0)
        record(db, OLD, OURS, "2026-12-07T10:00:00+00:00", "3-quality")
        record(db, OLD, OURS, "2026-12-07T10:00:00+00:00", "4-curation", CurationStatus="curated")
        record(db, NEW, OURS, "2026-12-07T11:00:00+00:00", "1-ingestion", Status="in_progress")
        record(db, NEW, OURS, "2026-12-07T11:00:00+00:00", "2-validation", Status="quarantined",
               Errors=["row 2: total is not a number"], RecordsTotal=3, RecordsValid=2)
        record(db, OTHER, THEIRS, "2026-12-07T10:00:00+00:00", "1-ingestion", Status="in_progress")
        yield IngestApi(FakeStream(), "lakebox-ingest", FakeUploads(), "lakebox-raw",
                        FileRecords(db, TABLE, "lakebox"), FakeRates(), Lines())


def ask(api: IngestApi, route: str, by: Producer = PARTNER, **path: str) -> tuple[int, dict[str, Any]]:
    event = {"routeKey": route, "pathParameters": path,
             "requestContext": {"authorizer": {"lambda": authorizer_answer(by)["context"]}}}
    response = api.handle(event)
    return response["statusCode"], json.loads(response["body"])


def test_a_version_by_process_id_is_its_row_with_what_it_waits_for(api: IngestApi) -> None:
    assert ask(api, STATUS_ROUTE, process_id=OLD) == (200, {
        "key": OURS, "status": "processed", "quality_score": 1.0, "errors": [], "destination": None,
        "process_id": OLD, "records_total": 3, "records_valid": 3, "records_invalid": 0,
        "stages": ["ingestion", "validation", "quality", "curation"], "waiting": None, "final": True})
    status, row = ask(api, STATUS_ROUTE, process_id=NEW)
    assert (status, row["status"], row["errors"]) == (200, "quarantined", ["row 2: total is not a number"])
    assert (row["waiting"], row["final"]) == ("awaiting quality", False)


def test_a_file_by_name_is_its_latest_version(api: IngestApi) -> None:
    status, row = ask(api, NAMED_STATUS_ROUTE, dataset="orders", name="a.csv")
    assert (status, row["process_id"], row["status"]) == (200, NEW, "quarantined")


def test_another_producers_file_is_404_like_none_at_all(api: IngestApi) -> None:
    status, said = ask(api, STATUS_ROUTE, process_id=OTHER)
    assert status == 404 and said["error"].startswith(f"no file {OTHER} sent by producer partner")
    assert "rival" not in said["error"] and THEIRS not in said["error"]
    assert ask(api, STATUS_ROUTE, RIVAL, process_id=OTHER)[0] == 200
    assert ask(api, STATUS_ROUTE, RIVAL, process_id=OLD)[0] == 404
    assert ask(api, STATUS_ROUTE, process_id="4" * 32)[0] == 404
    assert ask(api, NAMED_STATUS_ROUTE, dataset="orders", name="b.csv")[0] == 404


@pytest.mark.parametrize(("path", "expected"), [
    ({"process_id": "not-a-process"}, "is not a process id"),
    ({"process_id": "A" * 32}, "is not a process id"),
])
def test_a_malformed_process_id_is_400(api: IngestApi, path: dict[str, str], expected: str) -> None:
    status, said = ask(api, STATUS_ROUTE, PARTNER, **path)
    assert status == 400 and expected in said["error"]


def test_a_name_asks_the_dataset_the_producer_may_write(api: IngestApi) -> None:
    assert ask(api, NAMED_STATUS_ROUTE, dataset="payments", name="a.csv")[0] == 403
    status, said = ask(api, NAMED_STATUS_ROUTE, dataset="orders", name="../a.csv")
    assert status == 400 and "file name" in said["error"]
    assert ask(api, STATUS_ROUTE, Producer("gone", (), "f" * 64, "t", "2026-12-07T12:00:00+00:00"),
               process_id=OLD)[0] == 401
