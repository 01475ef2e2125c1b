"""The ingestion API's function over a fake stream and presigner: records land on the stream in their envelopes and
the answer names what was taken; a partial failure names exactly the records to send again; a file gets a URL under
its producer, its length signed; every refusal is its status and reason; the authorizer finds a key's producer on
moto's table; no key or body ever reaches a log line."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.objects import PresignedUploads
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.exceptions import MetadataError
from lakebox_layer.ingest_api import MAX_BODY_BYTES, PRESIGNED_URL_S, authorizer_answer
from lakebox_layer.producers import REQUESTS_PER_S, Producer, new_key, new_producer
from lakebox_layer.settings import ResourceNames, Settings
from lakebox_layer.stages.api import FILES_ROUTE, RECORDS_ROUTE, IngestApi
from lakebox_layer.stages.authorizer import Authorizer
from tests.fakes.ingest_api import FakeRates, FakeStream, FakeUploads, Lines, NoFiles
from tests.fakes.moto_table import TABLE, moto_metadata_table

KEY = "lbk_" + "k" * 43
PARTNER = Producer("partner", ("orders",), "d" * 64, "2026-12-07T10:00:00+00:00")


# A body at the size limit whose one record, in its envelope, is more than Kinesis takes in one record.
LARGEST_BODY = '{"id":1,"blob":"' + "x" * (MAX_BODY_BYTES - len('{"id":1,"blob":""}')) + '"}'


def api(stream: FakeStream | None = None) -> tuple[IngestApi, FakeStream, FakeUploads, Lines]:
    stream, uploads, lines = stream or FakeStream(), FakeUploads(), Lines()
    front = IngestApi(stream, "lakebox-ingest", uploads, "lakebox-raw", NoFiles(), FakeRates(), lines)
    return front, stream, uploads, lines


def request(route: str, body: str = "", producer: Producer | None = PARTNER, dataset: str = "orders",
            query: dict[str, str] | None = None) -> dict[str, Any]:
    return {"routeKey": route, "pathParameters": {"dataset": dataset}, "body": body, "isBase64Encoded": False,
            "headers": {"authorization": f"Bearer {KEY}"}, "queryStringParameters": query,
            "requestContext": {"authorizer": {"lambda": authorizer_answer(producer)["context"]}}}


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], json.loads(response["body"])


def test_records_land_on_the_stream_in_their_envelopes_and_the_answer_names_them() -> None:
    front, stream, _, lines = api()
    body = "\n".join(json.dumps({"id": n, "total": n * 1.5}) for n in range(3))
    status, said = answer(front.handle(request(RECORDS_ROUTE, body)))
    assert status == 202
    assert said == {"dataset": "orders", "accepted": 3,
                    "shards": {"shardId-000000000000": {"first": "1001", "last": "1003"}}}
    assert stream.taken == [{"dataset": "orders", "record": {"id": n, "total": n * 1.5}} for n in range(3)]
    assert KEY not in "".join(lines.lines) and "total" not in "".join(lines.lines)


def test_a_record_the_stream_refuses_once_is_retried_and_taken_once() -> None:
    front, stream, _, _ = api(FakeStream(refuse={1}))
    status, said = answer(front.handle(request(RECORDS_ROUTE, json.dumps([{"id": n} for n in range(3)]))))
    assert (status, said["accepted"]) == (202, 3)
    assert sorted(e["record"]["id"] for e in stream.taken) == [0, 1, 2]


def test_records_the_stream_keeps_refusing_are_named_for_a_resend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lakebox_layer.stages.api.SEND_DEADLINE_S", 0.3)
    front, stream, _, _ = api(FakeStream(refuse={2, 4}, times=1_000))
    status, said = answer(front.handle(request(RECORDS_ROUTE, json.dumps([{"id": n} for n in range(5)]))))
    assert status == 503
    assert said["accepted"] == 3 and said["not_taken"] == [2, 4]
    assert sorted(e["record"]["id"] for e in stream.taken) == [0, 1, 3], "each taken record on the stream once"


def test_a_stream_that_refuses_the_call_for_good_is_503_with_the_reason() -> None:
    refused = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no stream"}}, "PutRecords")
    front, _, _, _ = api(FakeStream(fail_call=refused))
    status, said = answer(front.handle(request(RECORDS_ROUTE, '{"id": 1}')))
    assert status == 503 and "ResourceNotFoundException" in said["error"]


def test_a_file_gets_a_url_under_its_producer_for_its_size() -> None:
    front, _, uploads, _ = api()
    status, said = answer(front.handle(request(FILES_ROUTE, query={"name": "orders.csv", "size": "2048"})))
    assert status == 200
    assert uploads.asked == [("lakebox-raw", "input/orders/partner/orders.csv", 2048, PRESIGNED_URL_S)]
    assert said["key"] == "input/orders/partner/orders.csv" and said["method"] == "PUT"
    assert said["headers"] == {"Content-Length": "2048"} and said["url"].startswith("http://127.0.0.1")


@pytest.mark.parametrize(("event", "status", "reason"), [
    (request(RECORDS_ROUTE, '{"id": 1}', producer=None), 401, "unknown key"),
    (request(RECORDS_ROUTE, '{"id": 1}', producer=Producer("old", ("orders",), "e" * 64, "t", "2026-12-07")),
     401, "key revoked at 2026-12-07"),
    (request(RECORDS_ROUTE, '{"id": 1}', dataset="payments"), 403, "may not write dataset payments"),
    (request(FILES_ROUTE, dataset="payments", query={"name": "a.csv", "size": "1"}), 403, "may not write"),
    (request(RECORDS_ROUTE, '{"id": 1'), 400, "line 1: not JSON"),
    (request(RECORDS_ROUTE, "x" * (MAX_BODY_BYTES + 1)), 413, "at most"),
    (request(RECORDS_ROUTE, LARGEST_BODY), 413, "bytes with its partition key"),
    (request(FILES_ROUTE, query={"name": "../a", "size": "1"}), 400, "file name"),
    (request("GET /nowhere"), 404, "no route"),
])
def test_every_refusal_is_its_status_and_reason_and_nothing_is_sent(event: dict[str, Any], status: int,
                                                                    reason: str) -> None:
    front, stream, uploads, lines = api()
    got, said = answer(front.handle(event))
    assert got == status and reason in said["error"], said
    assert stream.taken == [] and uploads.asked == []
    assert KEY not in "".join(lines.lines)


def test_the_authorizer_finds_the_producer_of_a_key_and_never_logs_the_key() -> None:
    with moto_metadata_table() as dynamodb:
        store = ProducerStore(dynamodb, TABLE)
        partner, key = new_producer("partner", ["orders"], "2026-12-07T10:00:00+00:00")
        store.add(partner)
        lines = Lines()
        authorizer = Authorizer(store, lines)

        def context(headers: dict[str, str] | None) -> dict[str, Any]:
            answer = authorizer.answer({"headers": headers, "routeKey": RECORDS_ROUTE})
            assert answer["isAuthorized"] is True
            return dict(answer["context"])

        assert context({"authorization": f"Bearer {key}"}) == {"producer": "partner", "datasets": "orders"}
        assert context({"authorization": f"Bearer {new_key()}"}) == {"refused": "unknown key"}
        assert context({"authorization": "Basic abc"}) == {"refused": "unknown key"}
        assert context(None) == {"refused": "unknown key"}
        store.revoke("partner", "2026-12-07T11:00:00+00:00")
        assert context({"authorization": f"Bearer {key}"})["refused"] == "key revoked at 2026-12-07T11:00:00+00:00"
        logged = "".join(lines.lines)
        assert "partner" in logged and key not in logged and key.removeprefix("lbk_") not in logged


def test_a_presigned_url_signs_the_content_length() -> None:
    settings = Settings.from_names(ResourceNames("lakebox", "000000000000", "us-east-1"),
                                   endpoint_url="http://127.0.0.1:9")
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    url = PresignedUploads(AwsClients(settings, session).presigning_s3).put_url(
        "lakebox-raw", "input/orders/partner/a.csv", 2048, PRESIGNED_URL_S)
    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/lakebox-raw/input/orders/partner/a.csv"
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    assert query["X-Amz-Expires"] == [str(PRESIGNED_URL_S)]
    assert urlsplit(url).netloc == "127.0.0.1:9"
    elsewhere = PresignedUploads(AwsClients(settings, session).presigning_s3).put_url(
        "lakebox-raw", "input/orders/partner/a.csv", 2048, PRESIGNED_URL_S, "http://127.0.0.1:32768")
    assert urlsplit(elsewhere).netloc == "127.0.0.1:32768"


@pytest.mark.parametrize(("scheme", "expected"), [("http", "http://127.0.0.1:32768"), (None, None)])
def test_on_an_emulator_a_url_is_signed_for_the_host_the_producer_reached(scheme: str | None,
                                                                          expected: str | None) -> None:
    front, _, uploads, _ = api()
    front.emulator_scheme = scheme
    event = request(FILES_ROUTE, query={"name": "orders.csv", "size": "10"})
    event["headers"]["Host"] = "127.0.0.1:32768"
    assert front.handle(event)["statusCode"] == 200
    assert uploads.endpoints == [expected], "on AWS S3's own address, never the API's"


def test_a_bad_bodys_reason_quotes_it_to_the_caller_but_never_to_the_log() -> None:
    front, stream, _, lines = api()
    status, said = answer(front.handle(request(RECORDS_ROUTE, '{"id": 1}\n{"email": "ann@example.com",')))
    assert status == 400 and "ann@example.com" in said["error"], said
    assert stream.taken == []
    logged = "".join(lines.lines)
    assert "refused" in logged and "400" in logged and "ann@example.com" not in logged


def test_a_producer_past_its_requests_in_a_second_is_429_until_the_next_second() -> None:
    front, stream, _, _ = api()
    now = [1_000.2]
    front.clock = lambda: now[0]
    answers = [front.handle(request(RECORDS_ROUTE, '{"id": 1}'))["statusCode"] for _ in range(REQUESTS_PER_S + 2)]
    assert answers == [202] * REQUESTS_PER_S + [429, 429]
    refused = front.handle(request(RECORDS_ROUTE, '{"id": 1}'))
    assert refused["headers"]["retry-after"] == "1"
    assert f"more than {REQUESTS_PER_S} requests" in json.loads(refused["body"])["error"]
    assert len(stream.taken) == REQUESTS_PER_S
    now[0] = 1_001.0
    assert front.handle(request(RECORDS_ROUTE, '{"id": 1}'))["statusCode"] == 202


def test_a_table_that_does_not_answer_is_503_for_the_producer_to_send_again() -> None:
    front, stream, _, lines = api()
    front.rates = DownTable()
    status, said = answer(front.handle(request(RECORDS_ROUTE, '{"id": 1}')))
    assert status == 503 and "did not answer" in said["error"] and "try again" in said["error"]
    assert stream.taken == [] and "table unavailable" in "".join(lines.lines)


class DownTable:
    def count_request(self, name: str, second: int) -> int:
        raise MetadataError("counting producer partner's requests in lakebox-metadata: ServiceUnavailable")


def test_the_api_knows_it_runs_on_an_emulator_by_the_endpoint_injected(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_names(ResourceNames("lakebox", "000000000000", "us-east-1"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert IngestApi.from_settings(settings, Lines()).emulator_scheme is None, "on AWS"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert IngestApi.from_settings(settings, Lines()).emulator_scheme == "http"
