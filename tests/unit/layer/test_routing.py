"""Where a judged file or its records go: processed and quarantine keys, the error report beside them."""

from __future__ import annotations

import pytest

from lakebox_layer.records import FileFormat, RawObject
from lakebox_layer.routing import (
    Destination,
    error_report_destination,
    output_name,
    processed_destination,
    quarantine_destination,
)
from lakebox_layer.settings import ResourceNames, Settings

SETTINGS = Settings.from_names(ResourceNames("lakebox", "000000000000", "us-east-1"))


def raw(key: str) -> RawObject:
    return RawObject(SETTINGS.raw_bucket, key, "etag", 10, "v1")


@pytest.mark.parametrize(
    ("key", "file_format", "name"),
    [
        # A whole file keeps its name, compression and all.
        ("input/orders/a.csv", None, "a.csv"),
        ("input/orders/a.csv.gz", None, "a.csv.gz"),
        ("input/a.json", None, "a.json"),
        ("input/orders/2026/01/a.json", None, "2026/01/a.json"),
        # Records written out in record mode are CSV, or JSON Lines for every JSON input, uncompressed; a name
        # that does not already say so gets the output's suffix added, so two raw files never share an output.
        ("input/orders/a.csv", FileFormat.CSV, "a.csv"),
        ("input/orders/a.CSV", FileFormat.CSV, "a.CSV"),
        ("input/orders/a.csv.gz", FileFormat.CSV, "a.csv.gz.csv"),
        ("input/orders/a.json", FileFormat.JSON, "a.json.jsonl"),
        ("input/orders/a.json.gz", FileFormat.JSON, "a.json.gz.jsonl"),
        ("input/orders/a.jsonl", FileFormat.JSON_LINES, "a.jsonl"),
        ("input/orders/a.ndjson", FileFormat.JSON_LINES, "a.ndjson.jsonl"),
        ("input/orders/a.jsonl.gz", FileFormat.JSON_LINES, "a.jsonl.gz.jsonl"),
        ("input/orders/export.txt", FileFormat.JSON_LINES, "export.txt.jsonl"),
        ("input/orders/export", FileFormat.JSON, "export.jsonl"),
        ("input/orders/2026/01/a.json", FileFormat.JSON, "2026/01/a.json.jsonl"),
        ("input/orders/v1.2/a b.json", FileFormat.JSON, "v1.2/a b.json.jsonl"),
    ],
)
def test_output_name(key: str, file_format: FileFormat | None, name: str) -> None:
    assert output_name(raw(key), file_format) == name


def test_processed_and_quarantine_destinations_of_a_whole_file() -> None:
    source = raw("input/sales/2026/orders.csv.gz")
    assert processed_destination(source, SETTINGS) == Destination(SETTINGS.processed_bucket,
                                                                  "validated/sales/2026/orders.csv.gz")
    assert quarantine_destination(source, SETTINGS) == Destination(SETTINGS.quarantine_bucket,
                                                                   "quarantine/sales/2026/orders.csv.gz")


def test_destinations_of_records() -> None:
    source = raw("input/orders/day.json")
    assert processed_destination(source, SETTINGS, FileFormat.JSON).key == "validated/orders/day.json.jsonl"
    assert quarantine_destination(source, SETTINGS, FileFormat.JSON).key == "quarantine/orders/day.json.jsonl"


def test_record_outputs_of_different_raw_files_never_collide() -> None:
    names = {output_name(raw(f"input/orders/{n}"), f) for n, f in (
        ("a.json", FileFormat.JSON), ("a.jsonl", FileFormat.JSON_LINES), ("a.csv", FileFormat.CSV),
        ("a.csv.gz", FileFormat.CSV), ("a.json.gz", FileFormat.JSON), ("a.ndjson", FileFormat.JSON_LINES))}
    assert len(names) == 6


def test_files_of_the_default_dataset_go_to_the_default_folder() -> None:
    assert processed_destination(raw("input/a.json"), SETTINGS).key == "validated/default/a.json"
    assert processed_destination(raw("input/default/a.json"), SETTINGS).key == "validated/default/a.json"


def test_error_report_lives_beside_the_quarantined_copy() -> None:
    quarantined = quarantine_destination(raw("input/orders/day.csv"), SETTINGS)
    report = error_report_destination(quarantined)
    assert report == Destination(SETTINGS.quarantine_bucket, "quarantine/orders/day.csv.error.json")


@pytest.mark.parametrize("key", ["validated/orders/a.jsonl", "quarantine/x/2026/a b+c.csv", "k"])
def test_destination_uri_round_trips(key: str) -> None:
    destination = Destination("bucket-1", key)
    assert destination.uri == f"s3://bucket-1/{key}"
    assert Destination.of(destination.uri) == destination
