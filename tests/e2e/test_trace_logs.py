"""`lakebox trace` and `lakebox logs` against the session's pipeline: a processed, a quarantined and a record-mode
file told stage by stage, their outputs really in S3, their log lines found by process id; an unknown key refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from lakebox_layer.records import RawObject
from lakebox_layer.routing import Destination
from tests.e2e.lake import Invoke, Lake

STAGES = ["ingestion", "validation", "quality", "curation"]
EVENTS = {"ingestion": "Data Received", "validation": "Data Validated", "quality": "Quality Check Complete",
          "curation": "Data Curated"}
# The last line each stage's function logs for a file, written once its record is.
LAST_LINES = {"ingestion": "ingested", "validation": "validated", "quality": "quality recorded",
              "curation": "curated"}
ORDERS = Path(__file__).resolve().parents[2] / "sample_data" / "orders" / "orders-2026-01.csv"


def settled(lake: Lake, raw: RawObject, stages: list[str]) -> None:
    """Wait for each stage's record and its last log line of the file (MiniStack writes an invocation's lines
    when it ends)."""
    lake.wait_for_stages(raw.process_id, set(stages))
    for stage in stages:
        lake.wait_for_log(stage, raw.process_id, LAST_LINES[stage])


def traced(invoke: Invoke, reference: str, *options: str) -> dict[str, Any]:
    result = invoke("trace", reference, "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def in_s3(lake: Lake, uri: str) -> bool:
    where = Destination.of(uri)
    return where.key in lake.keys(where.bucket, where.key)


def assert_told(trace: dict[str, Any], raw: RawObject, recorded: list[str]) -> None:
    """Every stage on the timeline; the recorded ones with times, their events and log lines of this process."""
    assert trace["process_id"] == raw.process_id and trace["key"] == raw.key
    assert trace["raw"]["version_id"] == raw.version_id and trace["raw"]["size"] == raw.size
    assert trace["raw"]["etag"] == raw.etag
    assert [step["stage"] for step in trace["stages"]] == STAGES
    for step in trace["stages"]:
        if step["stage"] in recorded:
            assert step["recorded"] and step["duration_s"] is not None and step["duration_s"] >= 0, step
            assert step["started_at"] <= step["ended_at"], step
    assert [event["detail_type"] for event in trace["events"]] == [EVENTS[stage] for stage in recorded]
    assert {line["process_id"] for line in trace["logs"]} == {raw.process_id}
    assert {line["stage"] for line in trace["logs"]} == set(recorded)


def test_trace_of_a_processed_file(lake: Lake, invoke: Invoke) -> None:
    key = f"input/trace-{uuid.uuid4().hex[:8]}.json"
    raw = lake.put_raw(key, b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}')
    settled(lake, raw, STAGES)

    trace = traced(invoke, key)

    assert trace["status"] == "processed" and trace["version_count"] == 1
    assert_told(trace, raw, STAGES)
    kinds = [output["kind"] for output in trace["outputs"]]
    assert kinds[0] == "validated" and set(kinds[1:]) == {"curated"}
    for output in trace["outputs"]:
        assert output["exists"] and in_s3(lake, output["uri"]), output
    assert trace["table"]["name"] == "default" and trace["table"]["partitions"]
    (validated,) = trace["lineage"]["children"]
    assert validated["children"][0]["children"][0]["kind"] == "table"
    text = invoke("trace", raw.process_id)
    assert text.exit_code == 0 and "lineage" in text.stdout and key in text.stdout


def test_trace_of_a_quarantined_file(lake: Lake, invoke: Invoke) -> None:
    key = f"input/trace-bad-{uuid.uuid4().hex[:8]}.json"
    raw = lake.put_raw(key, b'{"id": "1", "email": "not an email"}')
    settled(lake, raw, STAGES[:3])

    trace = traced(invoke, key)

    assert trace["status"] == "quarantined"
    assert_told(trace, raw, STAGES[:3])
    assert trace["stages"][3]["status"] == "skipped" and not trace["stages"][3]["recorded"]
    assert [output["kind"] for output in trace["outputs"]] == ["quarantined", "error_report"]
    for output in trace["outputs"]:
        assert output["exists"] and in_s3(lake, output["uri"]), output
    assert trace["stages"][1]["details"]["errors"] and trace["table"] is None


def test_trace_of_a_record_mode_file_and_of_an_earlier_version(lake: Lake, invoke: Invoke) -> None:
    key = f"input/orders/trace-{uuid.uuid4().hex[:8]}.csv"
    first = lake.put_raw(key, ORDERS.read_bytes())
    settled(lake, first, STAGES)
    second = lake.put_raw(key, ORDERS.read_bytes().replace(b"19.99", b"29.99"))
    settled(lake, second, STAGES)

    trace = traced(invoke, key)
    earlier = traced(invoke, key, "--version", str(first.version_id))

    assert trace["mode"] == "record" and trace["status"] == "processed" and trace["dataset"] == "orders"
    assert_told(trace, second, STAGES)
    assert trace["version_count"] == 2
    assert [v["process_id"] for v in trace["versions"]] == [second.process_id, first.process_id]
    assert earlier["process_id"] == first.process_id
    assert [o["kind"] for o in trace["outputs"]][:3] == ["validated", "quarantined", "error_report"]
    for output in trace["outputs"]:
        assert output["exists"] and in_s3(lake, output["uri"]), output
    assert trace["table"]["name"] == "orders" and len(trace["table"]["partitions"]) > 1


@pytest.mark.parametrize("reference", ["input/trace-never-uploaded.csv", "0" * 32])
def test_trace_of_an_unknown_key_fails(invoke: Invoke, reference: str) -> None:
    result = invoke("trace", reference)

    assert result.exit_code == 1
    assert "no raw file" in result.stderr and result.stdout == ""


def test_logs_show_every_stage_of_a_file_just_processed(lake: Lake, invoke: Invoke) -> None:
    key = f"input/trace-logs-{uuid.uuid4().hex[:8]}.json"
    raw = lake.put_raw(key, b'{"id": "2", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 2}}')
    settled(lake, raw, STAGES)

    result = invoke("logs", "--since", "5m", "--json")

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    ours = [line for line in lines if line["process_id"] == raw.process_id]
    assert {line["stage"] for line in ours} == set(STAGES)
    assert [line["time"] for line in lines] == sorted(line["time"] for line in lines)
    assert {line["message"] for line in ours} >= set(LAST_LINES.values())
    only = invoke("logs", "--since", "5m", "--json", "--stage", "validation")
    assert {json.loads(line)["stage"] for line in only.stdout.splitlines()} == {"validation"}
