"""At-least-once delivery turned into one outcome: the same message delivered again changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from lakebox.reconcile.redrive import s3_event
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.registry import DATA_RECEIVED, DATA_VALIDATED
from tests.e2e.lake import Lake

RECORD = {"id": "7", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 7}}
STAGES = ["curation", "ingestion", "quality", "validation"]  # of a processed file
COPIES = 4


def bus_event(lake: Lake, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An event as a rule delivers it to a stage queue."""
    return {"version": "0", "id": str(uuid.uuid4()), "source": source, "detail-type": detail_type,
            "account": lake.names.account, "region": lake.names.region, "time": "2026-01-01T00:00:00Z",
            "resources": [], "detail": detail}


def validated_event(lake: Lake, raw: RawObject, validation: dict[str, Any]) -> dict[str, Any]:
    """The "Data Validated" event of a processed one-record file, as the validation stage announced it."""
    detail = {
        "process_id": raw.process_id, "key": raw.key, "dataset": "default",
        "arrived_at": validation["Timestamp"].rsplit("#", 1)[0], "status": "processed", "quality_score": 100.0,
        "records_total": 1, "records_valid": 1, "errors": [], "destination": validation["Destination"],
        "format": validation["OutputFormat"], "version_id": raw.version_id,
    }
    return bus_event(lake, DATA_VALIDATED.source, DATA_VALIDATED.detail_type, detail)


def test_same_s3_event_twice_yields_one_outcome(lake: Lake) -> None:
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


def test_same_event_racing_at_every_stage_is_recorded_and_counted_once(lake: Lake) -> None:
    """Copies of the same S3 event and of the same "Data Validated" sent at once, before the first has finished:
    the stages' pre-checks cannot see each other's work yet, so only the conditional writes keep the outcome single.
    Without them the quality stage, which has no pre-check at all, would count the file once per copy, and curation
    would record it once per copy."""
    lake.wait_until_idle()
    before = lake.totals()
    raw = lake.put_raw(f"input/race-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    for _ in range(COPIES):
        lake.send("ingestion", s3_event(raw, lake.target.region))
    records = lake.wait_for_stages(raw.process_id, {"validation"})
    validated = validated_event(lake, raw, next(r for r in records if r["Stage"] == "validation"))
    for _ in range(COPIES):
        lake.send("quality", validated)
        lake.send("curation", validated)

    lake.wait_for_stages(raw.process_id, {"quality", "curation"})
    lake.wait_until_idle()

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES
    assert len([e for e in lake.log_lines("quality", raw.process_id) if e.get("message") == "quality recorded"]) == 1
    [curated] = [r for r in lake.stage_records(raw.process_id) if r["Stage"] == "curation"]
    assert curated["CurationStatus"] == "curated" and curated["CuratedRows"] == 1
    # However many copies wrote it, one object per day holds the file's rows.
    assert [k for k in lake.keys(lake.names.processed_bucket, "curated/default/") if raw.process_id in k] == \
        [o.removeprefix(f"s3://{lake.names.processed_bucket}/") for o in curated["CuratedObjects"]]
    after = lake.totals()
    assert (after.files - before.files, after.files_passed - before.files_passed, after.records - before.records) \
        == (1, 1, 1), "the file is counted once in the totals"


def test_duplicate_data_received_event_is_dropped(lake: Lake) -> None:
    raw = lake.put_raw(f"input/redelivered-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    records = lake.wait_for_stages(raw.process_id, set(STAGES))
    ingestion = next(r for r in records if r["Stage"] == "ingestion")
    detail = {
        "process_id": raw.process_id, "bucket": raw.bucket, "key": raw.key, "etag": raw.etag, "size": raw.size,
        "dataset": "default", "format": "json", "arrived_at": ingestion["Timestamp"].rsplit("#", 1)[0],
        "version_id": raw.version_id, "reason": None, "compression": None,
    }

    lake.send("validation", bus_event(lake, DATA_RECEIVED.source, DATA_RECEIVED.detail_type, detail))
    lake.wait_for_log("validation", raw.process_id, "duplicate delivery: validation already recorded")

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES


def test_duplicate_data_validated_event_is_not_counted_twice(lake: Lake) -> None:
    """The quality stage records a file in one transaction with the totals; a second delivery changes nothing."""
    raw = lake.put_raw(f"input/counted-{uuid.uuid4().hex[:6]}.json", json.dumps(RECORD).encode())
    records = lake.wait_for_stages(raw.process_id, set(STAGES))
    lake.wait_until_idle()
    before = lake.totals()

    lake.send("quality", validated_event(lake, raw, next(r for r in records if r["Stage"] == "validation")))
    lake.wait_for_log("quality", raw.process_id, "duplicate delivery: quality already recorded")
    lake.wait_until_idle()

    assert sorted(r["Stage"] for r in lake.stage_records(raw.process_id)) == STAGES
    assert lake.totals() == before, "a duplicate delivery leaves the totals as they were"


def test_overwritten_key_is_a_new_version_with_its_own_outcome(lake: Lake) -> None:
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
