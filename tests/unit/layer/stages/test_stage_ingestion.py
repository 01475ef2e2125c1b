"""The ingestion stage against in-memory adapters: what it records and announces for each raw object."""

from __future__ import annotations

import gzip

import pytest

from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import IngestionFailed
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.records import DataReceived, FileFormat, RawObject
from tests.fakes.stages import GOOD_JSON, RAW, UPLOADED_AT, Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


def test_ingest_announces_data_received_and_records_ingestion_in_progress(harness: Harness) -> None:
    raw = harness.objects.upload("input/sales/orders.json", GOOD_JSON)
    received = harness.ingestion.ingest(raw)

    assert received is not None
    assert received.process_id == raw.process_id
    assert received.format is FileFormat.JSON
    assert received.dataset == "sales"
    assert received.arrived_at == UPLOADED_AT.isoformat()
    assert harness.events.published == [("datalake.ingestion", "Data Received", received.to_detail())]
    [record] = harness.metadata.items.values()
    assert record["ProcessId"] == raw.process_id
    assert record["Timestamp"] == f"{UPLOADED_AT.isoformat()}#1-ingestion"
    assert record["Stage"] == "ingestion"
    assert record["Status"] == "in_progress"
    assert record["RawKey"] == "input/sales/orders.json"
    assert record["Pipeline"] == "lakebox"
    assert record["Format"] == "json"


def test_ingest_looks_inside_gzip(harness: Harness) -> None:
    received = harness.ingest("input/orders/orders.csv.gz", gzip.compress(b"order_id,amount\n1,2\n"))
    assert (received.format, received.compression, received.dataset) == (FileFormat.CSV, "gzip", "orders")
    assert DataReceived.from_detail(harness.events.of_type("Data Received")[0]) == received
    [record] = harness.metadata.stage("ingestion")
    assert (record["Format"], record["Compression"]) == ("csv", "gzip")


def test_second_ingest_of_the_same_object_is_a_duplicate(harness: Harness) -> None:
    raw = harness.objects.upload("input/a.json", GOOD_JSON)
    assert harness.ingestion.ingest(raw) is not None
    assert harness.ingestion.ingest(raw) is None
    assert len(harness.events.published) == 1
    assert len(harness.metadata.items) == 1


def test_new_version_of_a_key_is_ingested_again(harness: Harness) -> None:
    first = harness.objects.upload("input/a.json", GOOD_JSON, etag="e1", version_id="v1")
    harness.ingestion.ingest(first)
    second = harness.objects.upload("input/a.json", GOOD_JSON, etag="e2", version_id="v2")
    assert harness.ingestion.ingest(second) is not None
    assert len(harness.events.of_type("Data Received")) == 2


def test_ingest_of_a_deleted_object_records_failure_and_announces_nothing(harness: Harness) -> None:
    raw = RawObject(RAW, "input/gone.json", "e", 10, "v1")
    assert harness.ingestion.ingest(raw, event_time="2026-01-15T10:30:00.000Z") is None
    assert harness.events.published == []
    [record] = harness.metadata.items.values()
    assert record["Status"] == "failed"
    assert record["Timestamp"].startswith("2026-01-15T10:30:00.000Z#1-")
    assert "deleted" in record["Errors"][0]


def test_ingest_all_ingests_the_others_then_raises(harness: Harness) -> None:
    broken = harness.objects.upload("input/broken.json", GOOD_JSON)
    harness.objects.broken_keys.add(broken.key)
    fine = harness.objects.upload("input/fine.json", GOOD_JSON)
    created = [ObjectCreated(broken, "2026-01-15T10:30:00.000Z"), ObjectCreated(fine, "2026-01-15T10:30:00.000Z")]

    with pytest.raises(IngestionFailed) as caught:
        harness.ingestion.ingest_all(created)

    assert "input/broken.json" in str(caught.value)
    assert "input/fine.json" not in str(caught.value)
    assert [d["key"] for d in harness.events.of_type("Data Received")] == ["input/fine.json"]
    assert [item["RawKey"] for item in harness.metadata.stage("ingestion")] == ["input/fine.json"]


def test_ingest_all_returns_the_process_ids_and_skips_duplicates(harness: Harness) -> None:
    first = harness.objects.upload("input/a.json", GOOD_JSON)
    second = harness.objects.upload("input/b.json", GOOD_JSON)
    created = [ObjectCreated(first, "t"), ObjectCreated(second, "t")]
    assert harness.ingestion.ingest_all(created) == [first.process_id, second.process_id]
    # A redelivered notification ingests nothing new.
    assert harness.ingestion.ingest_all(created) == []
    assert len(harness.events.published) == 2


@pytest.mark.parametrize(("key", "dataset"), [
    ("input/Bad Name/x.json", "Bad Name"), ("input/UPPER/2026/x.json", "UPPER"), ("input/../x.json", ".."),
])
def test_a_file_under_an_invalid_dataset_is_announced_with_the_reason(harness: Harness, key: str,
                                                                       dataset: str) -> None:
    received = harness.ingest(key, GOOD_JSON)

    assert received.dataset == dataset
    assert received.reason == dataset_name_problem(dataset)
    assert received.format is FileFormat.JSON  # the format is still decided: the quarantine copy is made by it
    assert DataReceived.from_detail(harness.events.of_type("Data Received")[0]) == received
    [record] = harness.metadata.stage("ingestion")
    assert record["Status"] == "in_progress"


def test_a_dash_in_the_dataset_is_accepted(harness: Harness) -> None:
    received = harness.ingest("input/sales-eu/x.json", GOOD_JSON)
    assert (received.dataset, received.reason) == ("sales-eu", None)


def test_an_invalid_dataset_is_the_reason_even_for_an_unsupported_format(harness: Harness) -> None:
    received = harness.ingest("input/Reports/r.xml", b"<r/>")
    assert received.format is FileFormat.UNSUPPORTED
    assert received.reason == dataset_name_problem("Reports")
