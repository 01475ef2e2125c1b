"""At-least-once delivery turned into one outcome: the same message delivered again changes nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from lakebox.reconcile import s3_event
from lakebox_layer.records import DETAIL_DATA_RECEIVED, DETAIL_DATA_VALIDATED, FileStatus

RECORD = {"id": "7", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 7}}
STAGES = ["ingestion", "quality", "validation"]


def bus_event(lake, source: str, detail_type: str, detail: dict) -> dict:
    """An event as a rule delivers it to a stage queue."""
    return {"version": "0", "id": str(uuid.uuid4()), "source": source, "detail-type": detail_type,
            "account": lake.names.account, "region": lake.names.region, "time": "2026-01-01T00:00:00Z",
            "resources": [], "detail": detail}


def test_same_s3_event_twice_yields_one_outcome(lake) -> None:
    raw = lake.put_raw(f"input/dup {uuid.uuid4().hex[:6]}+1.json", json.dumps(RECORD).encode())
    lake.wait_for_stages(raw.process_id, set(STAGES))

    # The notification already delivered once; deliver the very same event twice more.
    lake.send("ingestion", s3_event(raw, lake.target.region))
    lake.send("ingestion", s3_event(raw, lake.target.region))
    lake.wait_for_log("ingestion", raw.process_id, "duplicate delivery: ingestion already recorded", count=2)

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES
    name = raw.key.removeprefix("input/")
    assert [k for k in lake.keys(lake.names.processed_bucket) if k == f"validated/default/{name}"] == \
        [f"validated/default/{name}"]
    assert lake.outcome(raw).status is FileStatus.PROCESSED


def test_same_event_twice_before_the_first_finishes(lake) -> None:
    """Two deliveries racing: whichever wins, one validation record and one quality record."""
    raw = lake.put_raw(f"input/race-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    lake.send("ingestion", s3_event(raw, lake.target.region))

    lake.wait_for_stages(raw.process_id, {"quality"})

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES


def test_duplicate_data_received_event_is_dropped(lake) -> None:
    raw = lake.put_raw(f"input/redelivered-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    records = lake.wait_for_stages(raw.process_id, set(STAGES))
    ingestion = next(r for r in records if r["Stage"] == "ingestion")
    detail = {
        "process_id": raw.process_id, "bucket": raw.bucket, "key": raw.key, "etag": raw.etag, "size": raw.size,
        "dataset": "default", "format": "json", "arrived_at": ingestion["Timestamp"].rsplit("#", 1)[0],
        "version_id": raw.version_id, "reason": None, "compression": None,
    }

    lake.send("validation", bus_event(lake, "datalake.ingestion", DETAIL_DATA_RECEIVED, detail))
    lake.wait_for_log("validation", raw.process_id, "duplicate delivery: validation already recorded")

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES


def test_duplicate_data_validated_event_is_not_counted_twice(lake) -> None:
    """The quality stage records a file in one transaction with the totals; a second delivery changes nothing."""
    raw = lake.put_raw(f"input/counted-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    records = lake.wait_for_stages(raw.process_id, set(STAGES))
    validation = next(r for r in records if r["Stage"] == "validation")
    detail = {
        "process_id": raw.process_id, "key": raw.key, "dataset": "default",
        "arrived_at": validation["Timestamp"].rsplit("#", 1)[0], "status": "processed", "quality_score": 100.0,
        "records_total": 1, "records_valid": 1, "errors": [], "destination": validation["Destination"],
    }

    lake.send("quality", bus_event(lake, "datalake.validation", DETAIL_DATA_VALIDATED, detail))
    lake.wait_for_log("quality", raw.process_id, "duplicate delivery: quality already recorded")

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES


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


def test_events_fixture_matches_what_s3_sends() -> None:
    fixture = json.loads((Path(__file__).resolve().parents[1] / "events" / "s3_object_created.json").read_text())
    assert fixture["Records"][0]["eventSource"] == "aws:s3"
