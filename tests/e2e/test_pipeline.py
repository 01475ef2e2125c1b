"""The real pipeline on the embedded emulator: every file ends in the right bucket, with records and metrics."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lakebox_layer.adapters.metrics import NAMESPACE
from lakebox_layer.records import FileStatus
from tests.e2e.lake import Lake

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DatapointTypeDef

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
EXPECTED = json.loads((SAMPLE_DATA / "expected.json").read_text())["files"]
VALID_RECORD = {"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}, "email": "a@example.com",
                "phone": "+1-555-123-4567"}


def unique(name: str) -> str:
    """A key of its own per test, so tests never see each other's files."""
    return f"{uuid.uuid4().hex[:8]}-{name}"


def assert_only_in(lake: Lake, status: FileStatus, dataset: str, name: str, *,
                   some_records_quarantined: bool = False) -> None:
    """Where a file (or, in record mode, its good and bad records) must be, and nowhere else."""
    processed = lake.keys(lake.names.processed_bucket)
    quarantined = lake.keys(lake.names.quarantine_bucket)
    processed_key = f"validated/{dataset}/{name}"
    quarantine_key = f"quarantine/{dataset}/{name}"
    if status is FileStatus.PROCESSED:
        assert processed_key in processed
        assert (quarantine_key in quarantined) is some_records_quarantined
        assert (f"{quarantine_key}.error.json" in quarantined) is some_records_quarantined
    else:
        assert quarantine_key in quarantined
        assert f"{quarantine_key}.error.json" in quarantined
        assert processed_key not in processed


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_file_reaches_its_expected_status(lake: Lake, name: str) -> None:
    folder, _, base = name.rpartition("/")
    dataset = folder or "default"
    key_name = unique(base)
    key = f"input/{folder}/{key_name}" if folder else f"input/{key_name}"
    raw = lake.put_raw(key, (SAMPLE_DATA / name).read_bytes())

    row = lake.outcome(raw)

    assert row.status.value == EXPECTED[name], row.errors
    assert row.records_valid is not None and row.records_invalid is not None
    assert row.records_valid + row.records_invalid == row.records_total
    assert_only_in(lake, row.status, dataset, key_name,
                   some_records_quarantined=row.status is FileStatus.PROCESSED and row.records_invalid > 0)
    if row.status is FileStatus.QUARANTINED or row.records_invalid:
        assert row.errors, "a quarantined file or record must say why"
    # The raw file is never lost or moved.
    assert key in lake.keys(lake.names.raw_bucket, "input/")


def test_valid_file_leaves_a_record_per_stage_and_a_quality_event(lake: Lake) -> None:
    raw = lake.put_raw(f"input/{unique('valid.json')}", json.dumps(VALID_RECORD).encode())

    # A processed file of the default dataset is curated too: wait for all four, else curation races the count.
    records = lake.wait_for_stages(raw.process_id, {"ingestion", "validation", "quality", "curation"})

    by_stage = {r["Stage"]: r for r in records}
    assert len(records) == 4
    assert by_stage["ingestion"]["Format"] == "json"
    assert by_stage["validation"]["Status"] == "processed"
    assert by_stage["validation"]["QualityScore"] == 100
    assert by_stage["validation"]["Destination"].endswith(f"validated/default/{raw.key.removeprefix('input/')}")
    assert by_stage["quality"]["ValidationPassed"] is True
    queue = lake.client("sqs")
    url = queue.get_queue_url(QueueName=lake.names.quality_events_queue)["QueueUrl"]
    seen: list[dict[str, Any]] = []

    def quality_event_arrived() -> bool:
        for message in queue.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            seen.append(json.loads(message["Body"]))
            queue.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return any(e.get("detail", {}).get("process_id") == raw.process_id for e in seen)

    lake.wait(quality_event_arrived, f"a Quality Check Complete event for {raw.process_id} on the queue")
    event = next(e for e in seen if e["detail"]["process_id"] == raw.process_id)
    assert event["detail-type"] == "Quality Check Complete"
    assert event["source"] == "datalake.quality"


def test_invalid_json_is_quarantined_with_an_error_report(lake: Lake) -> None:
    name = unique("bad.json")
    body = {"id": "2", "data": {}, "email": "not-an-email", "phone": "12"}
    raw = lake.put_raw(f"input/{name}", json.dumps(body).encode())

    row = lake.outcome(raw)

    assert row.status is FileStatus.QUARANTINED
    assert_only_in(lake, row.status, "default", name)
    report_key = f"quarantine/default/{name}.error.json"
    report = json.loads(lake.s3.get_object(Bucket=lake.names.quarantine_bucket, Key=report_key)["Body"].read())
    assert report["process_id"] == raw.process_id
    assert report["dataset"] == "default"
    assert report["contract"]["version"].startswith("1.0.0+")
    assert report["records"] == {"total": 1, "valid": 0, "invalid": 1}
    assert report["rules"]["schema:required"]["count"] == 1
    assert report["rules"]["schema:required"]["first"][0]["field"] == "timestamp"
    assert report["rules"]["format"]["count"] == 2
    joined = " ".join(report["errors"])
    assert "timestamp: missing required field" in joined
    assert "email: invalid email" in joined
    assert "phone: invalid phone" in joined
    assert row.destination == f"s3://{lake.names.quarantine_bucket}/quarantine/default/{name}"


def test_invalid_email_alone_fails_the_file(lake: Lake) -> None:
    """The recipe only appended an error and still passed the file; here an invalid email counts."""
    body = {**VALID_RECORD, "email": "nobody-at-example"}
    raw = lake.put_raw(f"input/{unique('email.json')}", json.dumps(body).encode())

    row = lake.outcome(raw)

    assert row.status is FileStatus.QUARANTINED
    assert any("invalid email" in e for e in row.errors)


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("binary.json", b"\x00\x01\x02\xff" * 64, "binary"),
        ("latin1.csv", "name,city\nJos\xe9,S\xe3o Paulo\n".encode("latin-1"), "decode"),
        ("empty.json", b"", "empty"),
        ("broken.json", b'{"id": 1, "timestamp": ', "invalid JSON"),
        ("notes.txt", b"just some words", "unsupported format"),
    ],
)
def test_unreadable_content_is_quarantined_with_a_reason(lake: Lake, name: str, body: bytes, reason: str) -> None:
    key_name = unique(name)
    raw = lake.put_raw(f"input/{key_name}", body)

    row = lake.outcome(raw)

    assert row.status is FileStatus.QUARANTINED
    assert any(reason in e for e in row.errors), row.errors
    assert_only_in(lake, row.status, "default", key_name)
    assert lake.s3.get_object(Bucket=lake.names.raw_bucket, Key=raw.key)["Body"].read() == body


def test_key_with_spaces_and_plus_is_decoded_everywhere(lake: Lake) -> None:
    name = unique("my file+1 (final).csv")
    raw = lake.put_raw(f"input/finance/{name}", b"id,email\n1,a@example.com\n2,b@example.com\n")

    row = lake.outcome(raw)

    assert row.key == f"input/finance/{name}"
    assert row.status is FileStatus.PROCESSED
    assert row.destination == f"s3://{lake.names.processed_bucket}/validated/finance/{name}"
    assert_only_in(lake, row.status, "finance", name)


def test_quality_metrics_have_datapoints(lake: Lake) -> None:
    start = datetime.now(UTC) - timedelta(seconds=5)
    raw = lake.put_raw(f"input/{unique('metrics.json')}", json.dumps(VALID_RECORD).encode())
    lake.wait_for_stages(raw.process_id, {"quality"})
    cloudwatch: CloudWatchClient = lake.client("cloudwatch")

    def datapoints(metric: str) -> list[DatapointTypeDef]:
        return cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=metric,
            Dimensions=[{"Name": "Pipeline", "Value": lake.names.project}],
            StartTime=start, EndTime=datetime.now(UTC) + timedelta(minutes=1), Period=60,
            Statistics=["SampleCount", "Maximum"],
        )["Datapoints"]

    def has_datapoints(metric: str) -> bool:
        return bool(datapoints(metric))

    for metric in ("ValidationSuccessRate", "AverageQualityScore", "ProcessedRecords"):
        lake.wait(partial(has_datapoints, metric), f"a {metric} datapoint")
    assert max(p["Maximum"] for p in datapoints("ValidationSuccessRate")) == 100.0
    assert max(p["Maximum"] for p in datapoints("ProcessedRecords")) >= 1.0


def test_function_logs_are_json_with_the_process_id_as_correlation_id(lake: Lake) -> None:
    raw = lake.put_raw(f"input/{unique('logged.json')}", json.dumps(VALID_RECORD).encode())
    lake.outcome(raw)
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [e for e in lake.log_lines("validation", raw.process_id) if e.get("message") == "validated"]
        return bool(found)

    lake.wait(logged, f"a JSON 'validated' log line of the validation function for {raw.process_id}")
    entry = found[0]
    assert entry["service"] == "lakebox-validation"
    assert entry["key"] == raw.key
    assert entry["level"] == "INFO"
