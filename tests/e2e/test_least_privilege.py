"""Under IAM enforcement each function's role allows its own job and nothing next to it.

A probe function runs with a pipeline function's execution role (the one bootstrap made for it) and tries one S3
call; MiniStack with AUTH=true evaluates the role's policy as AWS would.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from tests.emulators import embedded_emulator

PROBE = Path(__file__).resolve().parent / "probe" / "handler.py"


@dataclass
class StrictLake:
    target: Target
    topology: Topology

    def client(self, service: str) -> Any:
        return self.target.session.client(  # type: ignore[call-overload]
            service, region_name=self.target.region, endpoint_url=self.target.endpoint,
        )


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StrictLake]:
    with embedded_emulator(tmp_path_factory.mktemp("strict-iam"), strict_iam=True) as running:
        target = Target.at(running.endpoint, running.region, "lakebox")
        topology = Topology(target.names)
        Provisioner(topology, target.session, running.endpoint).apply()
        yield StrictLake(target, topology)


def probe(lake: StrictLake, stage: str, op: str, bucket: str, key: str) -> dict[str, Any]:
    lam = lake.client("lambda")
    name = f"probe-{stage}-{uuid.uuid4().hex[:6]}"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(PROBE, "handler.py")
    role = lake.topology.role_arn(lake.target.names.function_role(stage))
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                        Code={"ZipFile": archive.getvalue()}, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    try:
        response = lam.invoke(FunctionName=name, Payload=json.dumps({"op": op, "bucket": bucket, "key": key}))
        result: dict[str, Any] = json.loads(response["Payload"].read())
        assert "FunctionError" not in response, result
        return result
    finally:
        lam.delete_function(FunctionName=name)


def test_ingestion_reads_raw_input_but_cannot_write_the_processed_bucket(strict: StrictLake) -> None:
    names = strict.target.names
    key = f"input/probe-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=b"{}")

    assert probe(strict, "ingestion", "get", names.raw_bucket, key) == {"allowed": True}
    denied = probe(strict, "ingestion", "put", names.processed_bucket, "validated/default/forged.json")
    assert denied["allowed"] is False
    assert denied["code"] in {"AccessDenied", "403"}


def test_validation_writes_its_outputs_but_cannot_delete_raw_objects(strict: StrictLake) -> None:
    names = strict.target.names
    key = f"input/keep-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=b"{}")

    assert probe(strict, "validation", "put", names.processed_bucket, "validated/default/ok.json") == \
        {"allowed": True}
    denied = probe(strict, "validation", "delete", names.raw_bucket, key)
    assert denied["allowed"] is False
    assert strict.target.clients.s3.head_object(Bucket=names.raw_bucket, Key=key)["ContentLength"] == 2


def test_quality_cannot_read_data_objects(strict: StrictLake) -> None:
    names = strict.target.names
    key = f"input/secret-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=b"{}")

    for bucket, object_key in ((names.raw_bucket, key), (names.processed_bucket, "validated/default/ok.json")):
        denied = probe(strict, "quality", "get", bucket, object_key)
        assert denied["allowed"] is False, (bucket, object_key)


def test_curation_writes_curated_parquet_but_cannot_touch_validated_or_raw_objects(strict: StrictLake) -> None:
    names = strict.target.names
    key = f"input/curation-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=b"{}")
    validated = f"validated/default/probe-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.processed_bucket, Key=validated, Body=b"{}")

    assert probe(strict, "curation", "put", names.processed_bucket, "curated/probe/dt=2026-01-01/p_0.parquet")[
        "allowed"] is True
    assert probe(strict, "curation", "get", names.processed_bucket, validated)["allowed"] is True
    for op, bucket, object_key in (("put", names.processed_bucket, validated),
                                   ("delete", names.processed_bucket, validated),
                                   ("get", names.raw_bucket, key),
                                   ("put", names.quarantine_bucket, "quarantine/default/x.json")):
        assert probe(strict, "curation", op, bucket, object_key)["allowed"] is False, (op, bucket, object_key)


def test_only_the_stages_that_look_up_a_batch_may_batch_read_the_metadata_table(strict: StrictLake) -> None:
    table = strict.target.names.metadata_table
    for stage, allowed in (("ingestion", True), ("validation", True), ("curation", True), ("quality", False)):
        assert probe(strict, stage, "batch_get", table, "probe-process")["allowed"] is allowed, stage


def test_the_stream_batcher_writes_only_stream_files_and_reads_only_its_ledger(strict: StrictLake) -> None:
    names = strict.target.names
    key = f"input/raw-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=b"{}")

    for bucket, object_key in ((names.raw_bucket, "input/sensors/stream/2026/01/01/00/shard-1-2.jsonl"),
                               (names.quarantine_bucket, "quarantine/stream/2026/01/01/00/shard-1-2.jsonl")):
        assert probe(strict, "batcher", "put", bucket, object_key) == {"allowed": True}, object_key
    for op, bucket, object_key in (("put", names.raw_bucket, "input/sensors/not-a-stream-file.json"),
                                   ("get", names.raw_bucket, key),
                                   ("put", names.processed_bucket, "validated/sensors/stream/forged.jsonl"),
                                   ("put", names.quarantine_bucket, "quarantine/sensors/forged.jsonl")):
        assert probe(strict, "batcher", op, bucket, object_key)["allowed"] is False, (op, bucket, object_key)
    table = names.metadata_table
    assert probe(strict, "batcher", "get_item", table, "stream#lakebox-ingest#shardId-000000000000")["allowed"]
    # The role's dynamodb:LeadingKeys condition keeps a file's records from it on AWS; MiniStack does not evaluate
    # that key (the unit tests check the condition is there).
    assert probe(strict, "batcher", "batch_get", table, "probe-process")["allowed"] is False


def test_the_ingestion_apis_functions_reach_only_what_their_requests_need(strict: StrictLake) -> None:
    names = strict.target.names
    key = f"input/api-{uuid.uuid4().hex[:6]}.json"
    strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=b"{}")
    table = names.metadata_table

    # The authorizer reads producers' items and touches nothing else.
    assert probe(strict, "authorizer", "get_item", table, "producers")["allowed"] is True
    for op, bucket, object_key in (("put", names.raw_bucket, "input/orders/partner/forged.csv"),
                                   ("get", names.raw_bucket, key), ("batch_get", table, "probe-process")):
        assert probe(strict, "authorizer", op, bucket, object_key)["allowed"] is False, (op, bucket, object_key)
    # The API's function signs uploads under input/ (the URL carries its permission) and reads no data or item.
    assert probe(strict, "api", "put", names.raw_bucket, "input/orders/partner/signed.csv") == {"allowed": True}
    for op, bucket, object_key in (("get", names.raw_bucket, key),
                                   ("put", names.processed_bucket, "validated/orders/forged.csv"),
                                   ("put", names.raw_bucket, "elsewhere/forged.csv"),
                                   ("get_item", table, "producers"), ("batch_get", table, "probe-process")):
        assert probe(strict, "api", op, bucket, object_key)["allowed"] is False, (op, bucket, object_key)


def test_the_pipeline_runs_with_only_its_roles_permissions(strict: StrictLake) -> None:
    from lakebox.ingest.outcomes import wait_for_outcomes
    from lakebox_layer.records import FileStatus, RawObject

    names = strict.target.names
    body = b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}'
    key = f"input/strict-{uuid.uuid4().hex[:6]}.json"
    response = strict.target.clients.s3.put_object(Bucket=names.raw_bucket, Key=key, Body=body)
    raw = RawObject(names.raw_bucket, key, response["ETag"].strip('"'), len(body), response.get("VersionId"))

    row = wait_for_outcomes(strict.target, [raw], deadline_s=120)[raw.process_id]

    assert row.status is FileStatus.PROCESSED
    # Curation, too, does all it does (read validated, write curated, widen the table, add partitions) with its role.
    curated: list[dict[str, Any]] = []

    def recorded() -> bool:
        curated[:] = [r for r in strict.target.metadata.stage_records(raw.process_id) if r["Stage"] == "curation"]
        return bool(curated)

    wait_until(recorded, deadline_s=120, what=f"the curation record of {key}")
    assert curated[0]["CurationStatus"] == "curated", curated[0].get("Reason")
    assert curated[0]["CuratedRows"] == 1


def test_lakebox_up_strict_iam_acts_as_a_non_root_operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError
    from typer.testing import CliRunner

    from lakebox.cli import app

    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    sample = tmp_path / "ok.json"
    sample.write_text('{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}')
    try:
        up = runner.invoke(app, ["up", "--strict-iam", "--port", "0", "--json"])
        assert up.exit_code == 0, up.output
        ingested = runner.invoke(app, ["ingest", str(sample), "--wait", "--json"])
        assert ingested.exit_code == 0, ingested.output
        assert json.loads(ingested.stdout)[0]["status"] == "processed"
        # The operator may read the functions' logs: a trace shows the file's log lines, `logs` reads them too.
        traced = runner.invoke(app, ["trace", "input/ok.json", "--json"])
        assert traced.exit_code == 0, traced.output
        story = json.loads(traced.stdout)
        assert story["logs_error"] is None and {line["stage"] for line in story["logs"]} >= {"ingestion", "validation"}
        logs = runner.invoke(app, ["logs", "--since", "5m", "--json"])
        assert logs.exit_code == 0, logs.output

        target = Target.resolve()
        identity = target.session.client("sts", region_name=target.region,
                                         endpoint_url=target.endpoint).get_caller_identity()
        assert identity["Arn"].endswith(f"user/{target.names.operator}")
        with pytest.raises(ClientError) as denied:
            target.clients.s3.delete_object(Bucket=target.names.raw_bucket, Key="input/ok.json")
        assert denied.value.response["Error"]["Code"] in {"AccessDenied", "403"}
    finally:
        runner.invoke(app, ["down"])
    assert not (tmp_path / "state" / "operator.json").exists()
