"""`lakebox status` a page at a time: pages read from the status index with Limit and ExclusiveStartKey, every raw
key exactly once across pages, in key order, a key's records never split between pages, and page tokens that
round-trip."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from lakebox.lake.metadata import RECORDS_PER_KEY, STATUS_ATTRIBUTES, MetadataReader
from lakebox.lake.pages import BadPageToken, PageToken, read_page
from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal
from lakebox_layer.status import fold_status

if TYPE_CHECKING:
    pass
from tests.fakes.metadata import (
    ARRIVED,
    PIPELINE,
    PROJECTION,
    TABLE,
    FakeDynamoDB,
    every_page,
    everything,
    file_records,
    lake,
    reader_of,
)

# -- tokens ---------------------------------------------------------------------------------------------------------

def test_a_token_round_trips_and_is_safe_on_a_command_line() -> None:
    token = PageToken("input/sales/my file+1 é.csv", 150)

    text = token.encode()

    assert PageToken.decode(text) == token
    assert text.isascii() and not set(text) & set("=+/ '\"")


@pytest.mark.parametrize("text", ["", "not a token!", "bm90IGpzb24", PageToken("k", 1).encode()[:-3],
                                  "eyJhZnRlciI6ImsifQ",  # {"after":"k"}: no count
                                  "eyJhZnRlciI6ImsiLCJzaG93biI6LTF9",  # a negative count
                                  "eyJhZnRlciI6MSwic2hvd24iOjF9"])  # a key that is not text
def test_anything_else_is_not_a_token(text: str) -> None:
    with pytest.raises(BadPageToken, match="not a page token"):
        PageToken.decode(text)


# -- pages ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 3, 7, 23, 50])
def test_pages_show_every_file_once_in_key_order_as_one_read_would(limit: int) -> None:
    db = lake(23)

    pages = every_page(db, limit)

    rows = [row for page in pages for row in page.rows]
    assert rows == everything(db)
    assert [row.key for row in rows] == [f"input/f{n:03d}.json" for n in range(23)]
    assert [page.first for page in pages] == list(range(1, 24, limit))
    assert all(len(page.rows) == limit for page in pages[:-1]) and 1 <= len(pages[-1].rows) <= limit
    assert pages[-1].next_token is None and all(page.next_token for page in pages[:-1])


def test_the_latest_version_of_a_key_is_its_row_on_any_page() -> None:
    db = lake(10)

    rows = {row.key: row for page in every_page(db, 2) for row in page.rows}

    assert rows["input/f004.json"].process_id == "q004"
    assert rows["input/f004.json"].status.value == "quarantined"


@pytest.mark.parametrize("max_items", [1, 2, 3, 5])
def test_a_key_whose_records_span_responses_is_still_whole_on_its_page(max_items: int) -> None:
    """Responses cut short (DynamoDB's 1 MB) inside a key's records: the page reads on, and the row is the same
    as reading everything gives, with every stage recorded."""
    db = lake(12)
    db.max_items = max_items

    pages = every_page(db, 4)

    assert [row for page in pages for row in page.rows] == everything(db)
    assert all(row.stages for page in pages for row in page.rows)


def test_a_page_reads_what_it_shows_however_full_the_lake() -> None:
    db = lake(400)

    first = read_page(reader_of(db), PIPELINE, 10)
    read_first = sum(db.returned)
    db.returned.clear()
    token = PageToken.decode(first.next_token or "")
    later = read_page(reader_of(db), PIPELINE, 10, token)

    assert len(db.requests) == 2, "one Query a page when nothing cuts the response short"
    assert read_first <= RECORDS_PER_KEY * 11 and sum(db.returned) <= RECORDS_PER_KEY * 11
    assert db.requests[-1]["Limit"] == RECORDS_PER_KEY * 11
    assert db.requests[-1]["KeyConditionExpression"].endswith("RawKey > :after")
    assert unmarshal(db.requests[-1]["ExpressionAttributeValues"])[":after"] == "input/f009.json"
    assert [row.key for row in later.rows] == [f"input/f{n:03d}.json" for n in range(10, 20)]
    assert later.first == 11 and later.last == 20


def test_an_empty_lake_has_one_empty_last_page() -> None:
    page = read_page(reader_of(FakeDynamoDB()), PIPELINE, 50)

    assert (page.rows, page.first, page.next_token) == ([], 1, None)


def test_a_page_as_json_names_its_files_position_and_next_token() -> None:
    page = read_page(reader_of(lake(3)), PIPELINE, 2)

    as_json = page.to_json()

    assert [row["key"] for row in as_json["files"]] == ["input/f000.json", "input/f001.json"]
    assert as_json["first"] == 1
    assert PageToken.decode(as_json["next_page_token"]) == PageToken("input/f001.json", 2)


def test_a_page_holds_at_least_one_file() -> None:
    with pytest.raises(ValueError, match="at least one"):
        reader_of(lake(1)).key_page(PIPELINE, 0)


# -- the request DynamoDB's API model accepts ---------------------------------------------------------------------

def test_key_page_requests_pass_the_api_model() -> None:
    """The Query parameters as botocore validates them: the index, Limit, the key condition, and the response's
    LastEvaluatedKey passed back as ExclusiveStartKey."""
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    a, b = file_records("input/a.json", "pa"), file_records("input/b.json", "pb")
    last = {name: marshal(a[1])[name] for name in ("ProcessId", "Timestamp", "Pipeline", "RawKey")}
    expected = {"TableName": TABLE, "IndexName": STATUS_INDEX, "Limit": RECORDS_PER_KEY * 2, **PROJECTION,
                "KeyConditionExpression": "Pipeline = :pipeline AND RawKey > :after",
                "ExpressionAttributeValues": {":pipeline": {"S": PIPELINE}, ":after": {"S": "input/0"}}}
    with Stubber(client) as stubber:
        stubber.add_response("query", {"Items": [marshal(r) for r in a[:2]], "LastEvaluatedKey": last}, expected)
        stubber.add_response("query", {"Items": [marshal(r) for r in a[2:] + b]},
                             {**expected, "ExclusiveStartKey": last})
        page = MetadataReader(client, TABLE).key_page(PIPELINE, 1, after="input/0")
        stubber.assert_no_pending_responses()

    assert page.keys == ["input/a.json"] and page.last_key == "input/a.json"
    assert [r["Timestamp"] for r in page.records] == [r["Timestamp"] for r in a]


def test_status_records_read_only_what_a_row_needs_and_fold_the_same() -> None:
    db = lake(9)

    projected = reader_of(db).status_records(PIPELINE)
    requests = list(db.requests)

    assert requests and all(request["ProjectionExpression"] == PROJECTION["ProjectionExpression"]
                            for request in requests)
    assert {name for record in projected for name in record} <= set(STATUS_ATTRIBUTES)
    assert fold_status(projected) == everything(db)


def test_two_versions_arriving_in_the_same_second_show_the_one_ingested_later() -> None:
    # Last-Modified has whole seconds: both versions arrive "at once"; the later ingestion is the later version.
    def version(process_id: str, recorded_at: str) -> list[dict[str, Any]]:
        return [{"ProcessId": process_id, "Timestamp": f"{ARRIVED}#{order}", "RawKey": "input/a.json",
                 "Status": "processed", "RecordedAt": recorded_at if order == "1-ingestion" else "2026-01-15T10:31"}
                for order in ("1-ingestion", "2-validation")]

    for first, second in (("p-old", "p-new"), ("p-new", "p-old")):
        times = {"p-old": "2026-01-15T10:30:00.100+00:00", "p-new": "2026-01-15T10:30:00.900+00:00"}
        [row] = fold_status(version(first, times[first]) + version(second, times[second]))
        assert row.process_id == "p-new"
