"""`lakebox trace` gathering: a file's versions, its stage records as a timeline, its outputs and lineage."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from lakebox.lake.metadata import MetadataReader
from lakebox.trace.logs import LogReader
from lakebox.trace.sources import LakeSources
from lakebox.trace.story import TraceNotFound, gather
from tests.fakes.trace import (
    ARRIVAL,
    QUARANTINE,
    RAW,
    UPLOADED,
    FakeSources,
    pid,
    processed_lake,
    processed_records,
    record,
    version,
)


def test_a_processed_file_has_every_stage_with_times_events_outputs_and_logs() -> None:
    sources, process_id = processed_lake()

    trace = gather(sources, "input/orders/a.csv")

    assert (trace.raw.process_id, trace.status, trace.dataset) == (process_id, "processed", "orders")
    assert (trace.contract_version, trace.mode) == ("1.1.0+abc", "file")
    assert [(s.stage, s.status) for s in trace.stages] == [
        ("ingestion", "received"), ("validation", "processed"), ("quality", "recorded"), ("curation", "curated")]
    ingestion, validation, quality, curation = trace.stages
    assert ingestion.started_at == ARRIVAL and ingestion.duration_s == 0.2
    assert validation.started_at == ingestion.ended_at and validation.duration_s == 0.5
    assert quality.started_at == curation.started_at == validation.ended_at
    assert curation.duration_s == 1.0
    assert [e["detail_type"] for e in trace.events] == [
        "Data Received", "Data Validated", "Quality Check Complete", "Data Curated"]
    assert [(o.kind, o.exists, o.partition) for o in trace.outputs] == [
        ("validated", True, None), ("curated", True, "dt=2026-01-02")]
    assert trace.table == "orders" and trace.partitions == ["dt=2026-01-02"]
    assert [line.message for line in trace.logs] == ["ingested", "validated", "quality recorded", "curated"]
    assert sources.log_reads[0][1] < UPLOADED  # read from before the upload


def test_the_lineage_runs_from_raw_version_to_table() -> None:
    sources, _ = processed_lake()

    lineage = gather(sources, "input/orders/a.csv").lineage

    assert lineage.kind == "raw" and "version v1" in lineage.name
    (validated,) = lineage.children
    assert validated.kind == "validated"
    (partition,) = validated.children
    assert partition.kind == "partition" and partition.name.startswith("dt=2026-01-02: ")
    assert [(t.kind, t.name) for t in partition.children] == [("table", "lakebox_catalog.orders")]


def test_a_quarantined_file_has_its_copy_and_report_and_no_curation() -> None:
    key = "input/sensor.json"
    listed = version(key, "e2", "v9")
    process_id = pid(key, listed)
    copy = f"{QUARANTINE}/quarantine/default/sensor.json"
    records = [
        record(process_id, key, "ingestion", 1, "2026-01-15T10:30:00.100+00:00", Status="in_progress",
               Dataset="default"),
        record(process_id, key, "validation", 2, "2026-01-15T10:30:00.300+00:00", Status="quarantined",
               Dataset="default", Errors=["record 1: email: invalid email"], Destination=copy,
               QuarantineDestination=copy, ContractVersion="1.0.0+x", Mode="file"),
        record(process_id, key, "quality", 3, "2026-01-15T10:30:00.400+00:00"),
    ]
    sources = FakeSources({key: [listed]}, records, {copy: 5})

    trace = gather(sources, key)

    assert trace.status == "quarantined"
    assert [(s.stage, s.status, s.recorded) for s in trace.stages][-1] == ("curation", "skipped", False)
    assert [(o.kind, o.uri, o.exists) for o in trace.outputs] == [
        ("quarantined", copy, True), ("error_report", f"{copy}.error.json", False)]
    assert trace.table is None and trace.to_json()["table"] is None
    (quarantined,) = trace.lineage.children
    assert [c.kind for c in quarantined.children] == ["error_report"]
    assert trace.stages[1].details["errors"] == ["record 1: email: invalid email"]


def test_a_record_mode_file_has_validated_quarantined_records_report_and_curated_parts() -> None:
    bad = f"{QUARANTINE}/quarantine/orders/a.csv"
    sources, _ = processed_lake(mode="record", bad=bad)

    trace = gather(sources, "input/orders/a.csv")

    assert trace.mode == "record" and trace.status == "processed"
    assert [o.kind for o in trace.outputs] == ["validated", "quarantined", "error_report", "record_errors", "curated"]
    assert [o.uri for o in trace.outputs if o.kind == "record_errors"] == [f"{bad}.errors.jsonl"]
    assert [c.kind for c in trace.lineage.children] == ["validated", "quarantined"]
    assert [c.kind for c in trace.lineage.children[1].children] == ["error_report", "record_errors"]
    assert trace.stages[1].details["records_valid"] == 3


def test_several_versions_are_listed_newest_first_and_the_latest_is_traced() -> None:
    key = "input/orders/a.csv"
    old = version(key, "e1", "v1", latest=False, when=UPLOADED)
    new = version(key, "e2", "v2", latest=True, when=UPLOADED.replace(hour=11))
    old_pid, new_pid = pid(key, old), pid(key, new)
    later = UPLOADED.replace(hour=11).isoformat()
    records = processed_records(old_pid, key) + processed_records(new_pid, key, arrival=later)[:2]
    sources = FakeSources({key: [new, old]}, records)

    latest = gather(sources, key)
    earlier = gather(sources, key, version="v1")
    by_pid = gather(sources, old_pid)

    assert [v.version_id for v in latest.versions] == ["v2", "v1"]
    assert latest.raw.process_id == new_pid and latest.to_json()["version_count"] == 2
    assert [s.status for s in latest.stages] == ["received", "processed", "pending", "pending"]
    assert earlier.raw.process_id == by_pid.raw.process_id == old_pid
    assert [v.status for v in latest.versions] == ["processed", "processed"]
    with pytest.raises(TraceNotFound, match="has no version v3; its 2 version"):
        gather(sources, key, version="v3")


def test_a_version_gone_from_s3_is_traced_from_its_records() -> None:
    key = "input/orders/gone.csv"
    records = processed_records("f" * 32, key)

    trace = gather(FakeSources({}, records), key)

    assert trace.raw.in_s3 is False and trace.raw.version_id == "v1" and trace.raw.uploaded_at == ARRIVAL
    assert trace.lineage.exists is False


@pytest.mark.parametrize("reference", ["input/nope.csv", "0123456789abcdef0123456789abcdef"])
def test_an_unknown_key_or_process_id_is_not_found(reference: str) -> None:
    sources, _ = processed_lake()

    with pytest.raises(TraceNotFound, match="no raw file"):
        gather(sources, reference)


def test_logs_that_cannot_be_read_leave_the_rest_of_the_trace() -> None:
    sources, _ = processed_lake()
    sources.logs_refused = True

    trace = gather(sources, "input/orders/a.csv")

    assert trace.logs == [] and trace.logs_error == "AccessDenied"
    assert len(trace.stages) == 4


def test_lake_sources_read_only_the_key_s_versions_and_check_outputs() -> None:
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    logs = LogReader(boto3.client("logs", region_name="us-east-1", aws_access_key_id="x",
                                  aws_secret_access_key="x"), {})
    sources = LakeSources(s3=s3, dynamodb=dynamodb, metadata=MetadataReader(dynamodb, "meta"), logs=logs,
                          raw_bucket=RAW, pipeline="lakebox", database="db")
    key = "input/a.csv"
    with Stubber(s3) as stub:
        stub.add_response("list_object_versions", {"Versions": [
            version(key, "e1", "v1"), version(f"{key}.bak", "e2", "v2")]}, {"Bucket": RAW, "Prefix": key})
        # Outputs are listed, not headed: the operator may not head a validated file (it holds personal data).
        stub.add_response("list_object_versions", {"Versions": [
            version("k", "e1", "v2", size=7), version("k", "e0", "v1", latest=False), version("k2", "e3", "v3")]},
            {"Bucket": "b", "Prefix": "k"})
        stub.add_response("list_object_versions", {
            "Versions": [version("gone", "e1", "v1", latest=False)],
            "DeleteMarkers": [{"Key": "gone", "VersionId": "d1", "IsLatest": True}]}, {"Bucket": "b", "Prefix": "gone"})
        stub.add_response("list_object_versions", {}, {"Bucket": "b", "Prefix": "never"})
        stub.add_client_error("list_object_versions", "AccessDenied", http_status_code=403)
        assert [v["VersionId"] for v in sources.versions(key)] == ["v1"]
        assert sources.head("s3://b/k") == (True, 7)
        assert sources.head("s3://b/gone") == (False, None)
        assert sources.head("s3://b/never") == (False, None)
        assert sources.head("s3://b/secret") == (None, None)
    with Stubber(dynamodb) as stub:
        stub.add_response("query", {"Items": [{"ProcessId": {"S": "p"}, "RawKey": {"S": key}}]}, {
            "TableName": "meta", "IndexName": "StatusIndex",
            "KeyConditionExpression": "Pipeline = :pipeline AND RawKey = :key",
            "ExpressionAttributeValues": {":pipeline": {"S": "lakebox"}, ":key": {"S": key}}})
        assert sources.key_records(key) == [{"ProcessId": "p", "RawKey": key}]


def test_the_json_has_stable_field_names() -> None:
    sources, _ = processed_lake()

    document = gather(sources, "input/orders/a.csv").to_json()

    assert set(document) == {"key", "process_id", "dataset", "status", "contract_version", "mode", "raw", "stream",
                             "version_count", "versions", "stages", "events", "outputs", "table", "lineage", "logs",
                             "logs_error", "times"}
    assert set(document["raw"]) >= {"bucket", "key", "version_id", "size", "etag", "uploaded_at"}
    assert set(document["stages"][0]) == {"stage", "recorded", "status", "started_at", "ended_at", "duration_s",
                                          "event", "details"}
