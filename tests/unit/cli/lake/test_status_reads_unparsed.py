"""The status index read with its items left as DynamoDB sent them (botocore's parser skipped for them): the same
records as the parsed read, binaries included, and every other Query of the client parsed as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakebox.lake.metadata import MetadataReader
from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal
from tests.fakes.metadata import file_records
from tests.unit.cli.moto_lake import MotoLake


def _parsed(db: Any, table: str, pipeline: str) -> list[dict[str, Any]]:
    """The index as botocore parses it, page by page."""
    pages = db.get_paginator("query").paginate(
        TableName=table, IndexName=STATUS_INDEX, KeyConditionExpression="Pipeline = :p",
        ExpressionAttributeValues=marshal({":p": pipeline}))
    return [unmarshal(item) for page in pages for item in page["Items"]]


def test_the_unparsed_read_gives_what_the_parsed_one_does(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)
    table, db = lake.target.names.metadata_table, lake.client("dynamodb")
    records = [record for n in range(30) for record in
               file_records(f"input/d/{n:02}.json", f"pid-{n}", "processed" if n % 3 else "quarantined")]
    records[0]["Fingerprint"] = b"\x00\xffraw bytes"
    records[1]["Shapes"] = {"nested": [b"\x01", "text", 7, 2.5, True, None]}
    lake.put_records(*records)
    reader = MetadataReader(db, table)

    read = reader.file_records("lakebox")

    assert read == _parsed(db, table, "lakebox")
    assert len(read) == len(records)
    by_key = {(r["ProcessId"], r["Timestamp"]): r for r in read}
    assert by_key[(records[0]["ProcessId"], records[0]["Timestamp"])]["Fingerprint"] == b"\x00\xffraw bytes"
    assert by_key[(records[1]["ProcessId"], records[1]["Timestamp"])]["Shapes"] == {
        "nested": [b"\x01", "text", 7, 2.5, True, None]}
    status = reader.status_records("lakebox")
    assert {(r["ProcessId"], r["Status"]) for r in status if "Status" in r} == {
        (r["ProcessId"], r["Status"]) for r in records if "Status" in r}


def test_other_queries_of_the_client_are_parsed_as_before(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)
    table, db = lake.target.names.metadata_table, lake.client("dynamodb")
    lake.put_records({**file_records("input/d/a.json", "pid-a")[0], "Fingerprint": b"\x00\x01"})
    reader = MetadataReader(db, table)
    reader.status_records("lakebox")

    [item] = db.query(TableName=table, KeyConditionExpression="ProcessId = :p",
                      ExpressionAttributeValues=marshal({":p": "pid-a"}))["Items"]

    assert item["Fingerprint"] == {"B": b"\x00\x01"}  # parsed: bytes, not the base64 DynamoDB sends
