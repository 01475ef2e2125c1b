"""The ingestion API's decisions: the bearer key read from the header, the authorizer's answer for a live, revoked
or unknown key, 401 / 403 / 400 / 413 with reasons, the records of a JSON object, array or JSON Lines body, where a
producer's file goes and which files are its own."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lakebox_layer.ingest_api import (
    MAX_BODY_BYTES,
    MAX_FILE_BYTES,
    MAX_RECORDS,
    Refusal,
    authorizer_answer,
    bearer_key,
    body_bytes,
    caller,
    file_key,
    records_of,
    sent_by,
    writable_dataset,
)
from lakebox_layer.producers import Producer

LIVE = Producer("partner", ("orders", "events"), "d" * 64, "2026-12-07T10:00:00+00:00")
REVOKED = Producer("old", ("orders",), "e" * 64, "2026-12-01T10:00:00+00:00", "2026-12-07T09:00:00+00:00")


def request(producer: Producer | None, dataset: str = "orders", **fields: Any) -> dict[str, Any]:
    """An API request as the API's function receives it, after the authorizer answered for `producer`."""
    context = authorizer_answer(producer)["context"]
    return {"pathParameters": {"dataset": dataset}, "requestContext": {"authorizer": {"lambda": context}}, **fields}


def refusal(call: Any, *args: Any) -> Refusal:
    with pytest.raises(Refusal) as raised:
        call(*args)
    response = raised.value.response()
    assert response["statusCode"] == raised.value.status
    assert json.loads(response["body"]) == {"error": raised.value.reason}
    return raised.value


@pytest.mark.parametrize(("headers", "key"), [
    ({"authorization": "Bearer lbk_abc"}, "lbk_abc"),
    ({"Authorization": "bearer  lbk_abc "}, "lbk_abc"),
    ({"authorization": "Basic dXNlcg=="}, None),
    ({"authorization": "Bearer "}, None),
    ({}, None),
    (None, None),
])
def test_the_bearer_key_is_read_from_the_authorization_header(headers: dict[str, str] | None,
                                                              key: str | None) -> None:
    assert bearer_key(headers) == key


def test_the_authorizer_always_answers_and_says_why_in_its_context() -> None:
    assert authorizer_answer(LIVE) == {"isAuthorized": True,
                                       "context": {"producer": "partner", "datasets": "orders,events"}}
    assert authorizer_answer(REVOKED)["context"] == {"refused": "key revoked at 2026-12-07T09:00:00+00:00",
                                                     "producer": "old"}
    assert authorizer_answer(None)["context"] == {"refused": "unknown key"}
    assert all(isinstance(value, str) for value in authorizer_answer(LIVE)["context"].values())


def test_unknown_and_revoked_keys_are_401_and_a_live_one_is_its_producer() -> None:
    assert caller(request(LIVE)) == "partner"
    unknown = refusal(caller, request(None))
    assert unknown.status == 401 and unknown.reason.startswith("unknown key")
    revoked = refusal(caller, request(REVOKED))
    assert revoked.status == 401 and "revoked at 2026-12-07T09:00:00" in revoked.reason
    assert refusal(caller, {"requestContext": {}}).status == 401


def test_a_dataset_not_its_own_is_403_and_a_bad_name_400() -> None:
    assert writable_dataset(request(LIVE, "events")) == "events"
    other = refusal(writable_dataset, request(LIVE, "payments"))
    assert (other.status, other.reason) == (403, "producer partner may not write dataset payments")
    assert refusal(writable_dataset, request(LIVE, "ord")).status == 403, "no prefix match on the dataset list"
    bad = refusal(writable_dataset, request(LIVE, "Bad Name"))
    assert bad.status == 400 and "not a valid dataset name" in bad.reason


def test_an_oversized_body_is_413_before_it_is_read() -> None:
    assert body_bytes({"body": "{}"}) == b"{}"
    assert body_bytes({"body": base64.b64encode(b'{"a":1}').decode(), "isBase64Encoded": True}) == b'{"a":1}'
    assert body_bytes({}) == b""
    too_big = refusal(body_bytes, {"body": "x" * (MAX_BODY_BYTES + 1)})
    assert too_big.status == 413 and f"at most {MAX_BODY_BYTES}" in too_big.reason


def test_a_body_is_an_object_an_array_of_objects_or_json_lines() -> None:
    assert records_of(b'{"id": 1}') == [{"id": 1}]
    assert records_of(b'{\n  "id": 1,\n  "name": "Ann"\n}\n') == [{"id": 1, "name": "Ann"}]
    assert records_of(b'[{"id": 1}, {"id": 2}]') == [{"id": 1}, {"id": 2}]
    assert records_of(b'{"id": 1}\n\n{"id": 2}\r\n') == [{"id": 1}, {"id": 2}]
    assert records_of('{"name": "Zoë"}'.encode()) == [{"name": "Zoë"}]


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "the body is empty"),
    (b"  \n", "the body is empty"),
    (b"[]", "empty array"),
    (b"42", "line 1: a record must be a JSON object, not int"),
    (b'[{"id": 1}, 2]', "record 2 is int, not a JSON object"),
    (b'{"id": 1}\n{"id": ', "line 2: not JSON"),
    (b'{"id": 1}\n[1]', "line 2: a record must be a JSON object, not list"),
    (b'{"id": NaN}', "line 1: not JSON"),
    (b'{"id": 1, "id": 2}', "ambiguous JSON"),
    (b"\xff\xfe", "not UTF-8 text"),
])
def test_malformed_bodies_are_400_with_the_reason(body: bytes, reason: str) -> None:
    refused = refusal(records_of, body)
    assert refused.status == 400 and reason in refused.reason, refused.reason


def test_too_many_records_are_413() -> None:
    assert len(records_of(json.dumps([{"n": n} for n in range(MAX_RECORDS)]).encode())) == MAX_RECORDS
    refused = refusal(records_of, "\n".join(json.dumps({"n": n}) for n in range(MAX_RECORDS + 1)).encode())
    assert refused.status == 413 and f"at most {MAX_RECORDS}" in refused.reason


def test_a_file_goes_under_its_producer_with_its_size_signed() -> None:
    query = {"queryStringParameters": {"name": "orders-2026-12-07.csv", "size": "2048"}}
    assert file_key(query, "orders", "partner") == ("input/orders/partner/orders-2026-12-07.csv", 2048)
    at_most = {"queryStringParameters": {"name": "a.csv", "size": str(MAX_FILE_BYTES)}}
    assert file_key(at_most, "orders", "partner")[1] == MAX_FILE_BYTES


@pytest.mark.parametrize(("query", "status", "reason"), [
    ({}, 400, "file name ''"),
    ({"name": "../x.csv", "size": "1"}, 400, "file name '../x.csv'"),
    ({"name": "a/b.csv", "size": "1"}, 400, "file name 'a/b.csv'"),
    ({"name": ".hidden", "size": "1"}, 400, "file name '.hidden'"),
    ({"name": "a.csv"}, 400, "size ''"),
    ({"name": "a.csv", "size": "0"}, 400, "size '0'"),
    ({"name": "a.csv", "size": "-5"}, 400, "size '-5'"),
    ({"name": "a.csv", "size": str(MAX_FILE_BYTES + 1)}, 413, f"at most {MAX_FILE_BYTES}"),
])
def test_a_bad_file_name_or_size_is_refused(query: dict[str, str], status: int, reason: str) -> None:
    refused = refusal(file_key, {"queryStringParameters": query}, "orders", "partner")
    assert refused.status == status and reason in refused.reason, refused.reason


def test_a_producer_sees_only_the_files_it_sent() -> None:
    assert sent_by("input/orders/partner/a.csv", "partner")
    assert not sent_by("input/orders/other/a.csv", "partner")
    assert not sent_by("input/orders/stream/2026/12/07/10/shard-1-2.jsonl", "partner")
    assert not sent_by("input/orders/partner", "partner")
    assert not sent_by("input/partner/a.csv", "partner")
    assert not sent_by("other/orders/partner/a.csv", "partner")
