"""The demo's ingestion API part says plainly where the records did not end as sent, and says why it sends nothing
where the endpoint has no ingestion API."""

from __future__ import annotations

from collections.abc import Callable

from lakebox.demo.api import API_RECORDS, ApiDemo, api_demo
from lakebox.send.landing import Landed, StreamFile
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.status import FileRow
from tests.unit.cli.moto_lake import MotoLake

KEY = "input/webhook_events/stream/2026/12/07/22/shardId-000000000001-1-3.jsonl"


def landed(status: FileStatus, records: int) -> Landed:
    raw = RawObject("lakebox-raw", KEY, "etag", 100, "v1")
    row = FileRow(KEY, status, 1.0, [], None, raw.process_id, records_total=records, records_valid=records)
    return Landed([(StreamFile(raw, "shardId-000000000001", "1", "3"), row)], [], 0)


def test_records_landed_processed_and_all_of_them_are_as_expected() -> None:
    answer = {"dataset": "webhook_events", "accepted": 3, "shards": {}}
    demo = ApiDemo("http://127.0.0.1:4566/_aws/execute-api/abc", 202, answer, landed(FileStatus.PROCESSED, 3))
    assert demo.unexpected == []
    shown, said = demo.lines()
    assert shown.startswith("$ curl -X POST http://127.0.0.1:4566/_aws/execute-api/abc/datasets/webhook_events/")
    assert "Bearer lbk_..." in shown and said == '202 {"dataset":"webhook_events","accepted":3,"shards":{}}'


def test_a_refusal_or_records_missing_are_named() -> None:
    refused = ApiDemo("http://x", 503, {"error": "the ingest stream refused the records"}, None)
    assert refused.unexpected == ["the ingestion API answered 503: the ingest stream refused the records"]
    short = ApiDemo("http://x", 202, {"accepted": 3}, landed(FileStatus.QUARANTINED, len(API_RECORDS) - 1))
    assert short.unexpected == [f"{KEY} is quarantined", "2 records landed, sent 3"]


def test_without_an_ingestion_api_the_demo_says_so_and_sends_nothing(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)
    said = api_demo(lake.target, deadline_s=1)
    assert isinstance(said, str) and said.startswith("no ingestion API on ") and "sends nothing" in said
