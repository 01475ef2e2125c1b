"""At-least-once delivery turned into one outcome: the same event twice changes nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from urllib.parse import quote_plus

from lakebox_layer.records import DETAIL_DATA_RECEIVED, EVENT_SOURCE_INGESTION, FileStatus

EVENTS = Path(__file__).resolve().parents[1] / "events"
RECORD = {"id": "7", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 7}}


def s3_event(raw) -> dict:
    """The S3 notification for one object, as S3 sends it (key URL-encoded)."""
    template = json.loads((EVENTS / "s3_object_created.json").read_text())
    record = template["Records"][0]
    record["s3"]["bucket"]["name"] = raw.bucket
    record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{raw.bucket}"
    record["s3"]["object"].update(key=quote_plus(raw.key), eTag=raw.etag, size=raw.size, versionId=raw.version_id)
    return {"Records": [record]}


def invoke(lake, function: str, payload: dict) -> dict:
    response = lake.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


def test_same_s3_event_twice_yields_one_outcome(lake) -> None:
    raw = lake.put_raw(f"input/dup {uuid.uuid4().hex[:6]}+1.json", json.dumps(RECORD).encode())
    lake.wait_for_stages(raw.process_id, {"ingestion", "validation", "quality"})

    # The notification already delivered once; deliver the very same event twice more.
    first = invoke(lake, lake.names.function("ingestion"), s3_event(raw))
    second = invoke(lake, lake.names.function("ingestion"), s3_event(raw))

    assert first == {"ingested": []}
    assert second == {"ingested": []}
    records = lake.stage_records(raw.process_id)
    assert sorted(r["Stage"] for r in records) == ["ingestion", "quality", "validation"]
    name = raw.key.removeprefix("input/")
    processed = [k for k in lake.keys(lake.names.processed_bucket) if k == f"validated/default/{name}"]
    assert processed == [f"validated/default/{name}"]
    assert lake.outcome(raw).status is FileStatus.PROCESSED


def test_same_event_twice_before_the_first_finishes(lake) -> None:
    """Two deliveries racing: whichever wins, one validation record and one quality record."""
    raw = lake.put_raw(f"input/race-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    lake.client("lambda").invoke(FunctionName=lake.names.function("ingestion"), InvocationType="Event",
                                 Payload=json.dumps(s3_event(raw)).encode())

    lake.wait_for_stages(raw.process_id, {"quality"})

    records = lake.stage_records(raw.process_id)
    stages = sorted(r["Stage"] for r in records)
    assert stages == ["ingestion", "quality", "validation"], stages


def test_duplicate_data_received_event_is_dropped(lake) -> None:
    raw = lake.put_raw(f"input/redelivered-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    records = lake.wait_for_stages(raw.process_id, {"ingestion", "validation", "quality"})
    ingestion = next(r for r in records if r["Stage"] == "ingestion")
    detail = {
        "process_id": raw.process_id, "bucket": raw.bucket, "key": raw.key, "etag": raw.etag, "size": raw.size,
        "dataset": "default", "format": "json", "arrived_at": ingestion["Timestamp"].rsplit("#", 1)[0],
        "version_id": raw.version_id, "reason": None,
    }

    result = invoke(lake, lake.names.function("validation"),
                    {"version": "0", "id": str(uuid.uuid4()), "source": EVENT_SOURCE_INGESTION,
                     "detail-type": DETAIL_DATA_RECEIVED, "account": lake.names.account, "region": lake.names.region,
                     "time": "2026-01-01T00:00:00Z", "resources": [], "detail": detail})

    assert result == {"status": "duplicate"}
    assert len(lake.stage_records(raw.process_id)) == 3


def test_duplicate_data_validated_event_is_not_counted_twice(lake) -> None:
    """The quality stage records a file in one transaction with the totals; a second delivery changes nothing."""
    raw = lake.put_raw(f"input/counted-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    records = lake.wait_for_stages(raw.process_id, {"ingestion", "validation", "quality"})
    validation = next(r for r in records if r["Stage"] == "validation")
    detail = {
        "process_id": raw.process_id, "key": raw.key, "dataset": "default",
        "arrived_at": validation["Timestamp"].rsplit("#", 1)[0], "status": "processed", "quality_score": 100.0,
        "records_total": 1, "records_valid": 1, "errors": [], "destination": validation["Destination"],
    }
    event = {"version": "0", "id": str(uuid.uuid4()), "source": "datalake.validation",
             "detail-type": "Data Validated", "account": lake.names.account, "region": lake.names.region,
             "time": "2026-01-01T00:00:00Z", "resources": [], "detail": detail}

    results = [invoke(lake, lake.names.function("quality"), event) for _ in range(2)]

    assert results == [{"files": None}, {"files": None}], "a recorded file is never added to the totals again"
    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == ["ingestion", "quality", "validation"]


def test_overwritten_key_is_a_new_version_with_its_own_outcome(lake) -> None:
    key = f"input/overwrite-{uuid.uuid4().hex[:6]}.json"
    first = lake.put_raw(key, json.dumps(RECORD).encode())
    assert lake.outcome(first).status is FileStatus.PROCESSED

    second = lake.put_raw(key, json.dumps({"id": "8"}).encode())
    row = lake.outcome(second)

    assert second.process_id != first.process_id
    assert row.status is FileStatus.QUARANTINED
    assert lake.outcome(first).status is FileStatus.PROCESSED
    versions = lake.s3.list_object_versions(Bucket=lake.names.raw_bucket, Prefix=key).get("Versions", [])
    assert len(versions) == 2, "the raw bucket keeps both versions"
