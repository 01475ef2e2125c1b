"""The ingestion API end to end, as a producer outside the lake uses it with a key from `lakebox producer add`:
records and a file land exactly once and reach their terminal status; a wrong dataset is 403, an unknown, missing or
revoked key 401 (a revoked one within the authorizer's cache time), a malformed body 400 with its reason, an
oversized one 413; the status routes show a producer its own files only; no key reaches a log."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lakebox.polling import wait_until
from lakebox.send.entries import Sent
from lakebox.send.landing import wait_for_landing
from lakebox_layer.ingest_api import MAX_BODY_BYTES, MAX_RECORDS
from lakebox_layer.producers import AUTHORIZER_CACHE_S
from lakebox_layer.records import FileStatus
from lakebox_layer.stream_puts import SendReport
from tests.e2e.api_support import Api, add_producer, ingest_api, put_file
from tests.e2e.lake import Lake, Run


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def api(lake: Lake) -> Api:
    return ingest_api(lake)


def test_records_sent_land_once_in_the_stream_files_and_reach_their_status(lake: Lake, run: Run, api: Api) -> None:
    dataset = unique("apirec")
    key = add_producer(run, unique("partner-"), dataset)
    started = datetime.now(UTC) - timedelta(seconds=5)
    lines = "\n".join(json.dumps({"reading_id": n, "celsius": 20 + n / 10}) for n in range(5))

    answer = api.call("POST", f"/datasets/{dataset}/records", key, lines)

    assert answer.status == 202, answer.body
    assert (answer.body["dataset"], answer.body["accepted"]) == (dataset, 5)
    shards = {shard: (span["first"], span["last"]) for shard, span in answer.body["shards"].items()}
    landed = wait_for_landing(lake.target, Sent(dataset, SendReport(lake.names.ingest_stream, 5, [], shards),
                                                started), deadline_s=120)
    assert landed.files and all(row.status is FileStatus.PROCESSED for _, row in landed.files), landed.to_json()
    readings = []
    for file, _ in landed.files:
        body = lake.s3.get_object(Bucket=file.raw.bucket, Key=file.raw.key)["Body"].read().decode()
        readings += [json.loads(line)["reading_id"] for line in body.splitlines()]
    assert sorted(readings) == list(range(5)), "each record in exactly one raw file, once"


def test_a_file_lands_under_its_producer_and_only_it_sees_its_status(lake: Lake, run: Run, api: Api) -> None:
    dataset, producer = unique("apifile"), unique("partner-")
    key, rival = add_producer(run, producer, dataset), add_producer(run, unique("rival-"), dataset)
    body = b"order_id,amount\n1,10.5\n2,20.0\n"

    offer = api.call("POST", f"/datasets/{dataset}/files?name=orders.csv&size={len(body)}", key)
    assert offer.status == 200, offer.body
    assert offer.body["key"] == f"input/{dataset}/{producer}/orders.csv"
    assert put_file(offer.body["url"], body + b"extra") == 403, "S3 takes exactly the size the URL was made for"
    assert put_file(offer.body["url"], body) == 200

    named = f"/datasets/{dataset}/files/orders.csv"
    row: dict[str, object] = {}

    def final() -> bool:
        nonlocal row
        answer = api.call("GET", named, key)
        row = answer.body
        return answer.status == 200 and bool(row["final"])

    lake.wait(final, f"the final status of {named}", deadline_s=120)
    assert (row["status"], row["records_total"], row["key"]) == ("processed", 2, offer.body["key"])
    by_id = api.call("GET", f"/files/{row['process_id']}", key)
    assert (by_id.status, by_id.body["key"], by_id.body["status"]) == (200, offer.body["key"], "processed")
    assert lake.keys(lake.names.raw_bucket, f"input/{dataset}/") == [offer.body["key"]], "landed once"
    theirs = api.call("GET", f"/files/{row['process_id']}", rival)
    assert theirs.status == 404 and producer not in json.dumps(theirs.body)
    assert api.call("GET", named, rival).status == 404


def test_refusals_are_their_status_and_reason_and_nothing_is_sent(lake: Lake, run: Run, api: Api) -> None:
    dataset = unique("apideny")
    producer = unique("partner-")
    key = add_producer(run, producer, dataset)
    records = f"/datasets/{dataset}/records"

    other = api.call("POST", "/datasets/somebody_else/records", key, '{"id": 1}')
    assert other.status == 403 and "may not write dataset somebody_else" in other.body["error"]
    bad_name = api.call("POST", "/datasets/BadName/records", key, '{"id": 1}')
    assert bad_name.status == 400 and "BadName" in bad_name.body["error"]
    unknown = api.call("POST", records, "lbk_" + "x" * 43, '{"id": 1}')
    assert unknown.status == 401 and "unknown key" in unknown.body["error"]
    assert api.call("POST", records, None, '{"id": 1}').status == 401
    malformed = api.call("POST", records, key, '{"id": 1}\n{"id": ')
    assert malformed.status == 400 and "line 2" in malformed.body["error"], malformed.body
    assert api.call("POST", records, key, "[1, 2]").status == 400
    too_big = api.call("POST", records, key, '{"blob": "' + "x" * MAX_BODY_BYTES + '"}')
    assert too_big.status == 413 and str(MAX_BODY_BYTES) in too_big.body["error"]
    too_many = api.call("POST", records, key, json.dumps([{"id": n} for n in range(MAX_RECORDS + 1)]))
    assert too_many.status == 413 and str(MAX_RECORDS) in too_many.body["error"]
    huge_file = api.call("POST", f"/datasets/{dataset}/files?name=a.csv&size={2 ** 31}", key)
    assert huge_file.status == 413

    gone = unique("gone-")
    gone_key = add_producer(run, gone, dataset)
    run("producer", "revoke", gone)
    revoked = api.call("POST", records, gone_key, '{"id": 1}')
    assert revoked.status == 401 and "key revoked at" in revoked.body["error"]


def test_a_revoked_key_is_refused_within_the_authorizers_cache_time(lake: Lake, run: Run, api: Api) -> None:
    dataset, leaving = unique("apirevoke"), unique("leaving-")
    key = add_producer(run, leaving, dataset)
    upload = f"/datasets/{dataset}/files?name=a.csv&size=1"
    assert api.call("POST", upload, key).status == 200, "the gateway now holds the authorizer's answer for the key"
    run("producer", "revoke", leaving)
    revoked = time.monotonic()
    answers: list[int] = []

    def refused() -> bool:
        answers.append(api.call("POST", upload, key).status)
        return answers[-1] == 401

    wait_until(refused, deadline_s=AUTHORIZER_CACHE_S + 15, interval_s=1.0,
               what=f"the revoked key of {leaving} refused", on_timeout=lambda: f"; answers {answers[-3:]}")
    assert answers[0] == 200, "the cached answer holds at first: revocation takes effect within the cache time"
    assert time.monotonic() - revoked <= AUTHORIZER_CACHE_S + 15
    assert set(answers[:-1]) <= {200}


def test_no_key_reaches_a_log_line(lake: Lake, run: Run, api: Api) -> None:
    dataset = unique("apilog")
    producer = unique("partner-")
    key = add_producer(run, producer, dataset)
    assert api.call("POST", f"/datasets/{dataset}/records", key, '{"id": 1}').status == 202
    assert api.call("POST", "/datasets/elsewhere/records", key, '{"id": 1}').status == 403
    logs = lake.client("logs")
    messages: list[str] = []

    def logged() -> bool:
        messages.clear()
        for function in ("authorizer", "api"):
            group = f"/aws/lambda/{lake.names.function(function)}"
            pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
            messages.extend(event["message"] for page in pages for event in page.get("events", []))
        return any(producer in message for message in messages)

    lake.wait(logged, f"the API's log lines naming producer {producer}")
    secret = key.removeprefix("lbk_")
    assert not [message for message in messages if secret in message or key in message]
