"""Bootstrap is idempotent both ways, on a second project in the same emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from lakebox_infra.provision import Provisioner
from lakebox_infra.provision.ingest_api import api_ids, find_url
from lakebox_infra.topology import Topology
from lakebox_layer.settings import ResourceNames
from lakebox_layer.stages.api import ROUTES
from tests.e2e.lake import Lake

ROOT = Path(__file__).resolve().parents[2]


def test_second_apply_changes_nothing(lake: Lake) -> None:
    report = Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()

    assert report.changes == []
    assert report.summary().startswith("no changes")


def test_bootstrap_script_provisions_and_tears_down_idempotently(lake: Lake) -> None:
    assert lake.target.endpoint is not None, "the e2e lake runs on an emulator"
    env = {"PATH": "", "AWS_ENDPOINT_URL": lake.target.endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": lake.target.region,
           "LAKEBOX_PROJECT": "lakebox-scratch",
           # Stream bounds other than the defaults reach the mapping and the batcher.
           "LAKEBOX_STREAM_MAX_RECORDS": "1000", "LAKEBOX_STREAM_WINDOW_S": "3"}

    def bootstrap(*args: str) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "infra" / "bootstrap.py"), *args], env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return done.stderr

    names = ResourceNames("lakebox-scratch", lake.names.account, lake.target.region)
    s3 = lake.s3
    lam = lake.client("lambda")

    assert "changed" in bootstrap()
    assert "no changes" in bootstrap()
    functions = lam.get_function(FunctionName=names.function("validation"))["Configuration"]
    assert functions["Runtime"] == "python3.12"
    assert functions["TracingConfig"]["Mode"] == "Active"
    assert functions["Environment"]["Variables"]["RAW_BUCKET"] == names.raw_bucket
    assert len(functions["Layers"]) == 1
    encryption = s3.get_bucket_encryption(Bucket=names.raw_bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=names.quarantine_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    policy = lake.client("iam").get_role_policy(RoleName=names.function_role("ingestion"),
                                                PolicyName=f"{names.function_role('ingestion')}-policy")
    document = policy["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert not any("s3:PutObject" in s["Action"] for s in document["Statement"])
    curation = lam.get_function(FunctionName=names.function("curation"))["Configuration"]
    assert [layer["Arn"].split(":")[6] for layer in curation["Layers"]] == [
        names.layer, f"{names.project}-duckdb", f"{names.project}-cryptography"]
    glue = lake.client("glue")
    orders = glue.get_table(DatabaseName=names.glue_database, Name="orders")["Table"]
    assert orders["StorageDescriptor"]["Location"] == f"s3://{names.processed_bucket}/curated/orders/"
    assert orders["Parameters"]["projection.enabled"] == "true"
    # No crawler: the curation stage owns the tables.
    with pytest.raises(ClientError) as no_crawler:
        glue.get_crawler(Name=names.glue_crawler)
    assert no_crawler.value.response["Error"]["Code"] == "EntityNotFoundException"
    s3.put_object(Bucket=names.raw_bucket, Key="input/left-behind.json", Body=b"{}")
    alarm_names = [alarm["AlarmName"] for alarm in Topology(names).alarms]
    assert len(lake.client("cloudwatch").describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]) == 2
    kinesis = lake.client("kinesis")
    stream = kinesis.describe_stream_summary(StreamName=names.ingest_stream)["StreamDescriptionSummary"]
    assert (stream["StreamStatus"], stream["OpenShardCount"], stream["EncryptionType"]) == ("ACTIVE", 2, "KMS")
    (mapping,) = lam.list_event_source_mappings(FunctionName=names.function("batcher"))["EventSourceMappings"]
    assert mapping["EventSourceArn"] == stream["StreamARN"]
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"], mapping["StartingPosition"]) == (
        1000, 3, "TRIM_HORIZON")
    batcher = lam.get_function(FunctionName=names.function("batcher"))["Configuration"]["Environment"]["Variables"]
    # MiniStack's mapping ignores the window: the batcher holds young batches for it itself.
    assert (batcher["STREAM_MAX_RECORDS"], batcher["STREAM_WINDOW_S"], batcher["STREAM_HOLD_S"]) == ("1000", "3", "3")

    # The ingestion API: every route behind the authorizer, the stage throttled, its URL found as `up` finds it.
    apis = lake.client("apigatewayv2")
    [api_id] = api_ids(apis, names.ingest_api)
    routes = apis.get_routes(ApiId=api_id)["Items"]
    assert sorted(r["RouteKey"] for r in routes) == sorted(ROUTES)
    assert {(r["AuthorizationType"], r["Target"].startswith("integrations/")) for r in routes} == {("CUSTOM", True)}
    [authorizer] = apis.get_authorizers(ApiId=api_id)["Items"]
    assert (authorizer["AuthorizerResultTtlInSeconds"], authorizer["IdentitySource"]) == (
        60, ["$request.header.Authorization"])
    settings = apis.get_stage(ApiId=api_id, StageName="$default")["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (500.0, 1000)
    assert find_url(apis, names, lake.target.endpoint) == f"{lake.target.endpoint}/_aws/execute-api/{api_id}"

    assert "deleted" in bootstrap("--teardown")
    assert "no changes" in bootstrap("--teardown")
    for bucket in (names.raw_bucket, names.processed_bucket, names.quarantine_bucket):
        try:
            s3.head_bucket(Bucket=bucket)
            raise AssertionError(f"{bucket} still exists after teardown")
        except ClientError as error:
            assert error.response["Error"]["Code"] in {"404", "NoSuchBucket"}
    try:
        lam.get_function(FunctionName=names.function("ingestion"))
        raise AssertionError("the ingestion function still exists after teardown")
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
    assert lake.client("cloudwatch").describe_alarms(AlarmNames=alarm_names)["MetricAlarms"] == []
    with pytest.raises(ClientError) as no_stream:
        kinesis.describe_stream_summary(StreamName=names.ingest_stream)
    assert no_stream.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert api_ids(apis, names.ingest_api) == [] and find_url(apis, names, lake.target.endpoint) is None
    # The session's own project is untouched.
    assert lam.get_function(FunctionName=lake.names.function("ingestion"))["Configuration"]["State"] == "Active"


def test_failures_have_retries_and_a_dead_letter_queue(lake: Lake) -> None:
    lam = lake.client("lambda")
    events = lake.client("events")
    sqs = lake.client("sqs")

    def queue(name: str) -> dict[str, str]:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return attributes

    dead_letter_arn = queue(lake.names.dead_letter_queue)["QueueArn"]
    for stage in ("ingestion", "validation", "quality"):
        attributes = queue(lake.names.stage_queue(stage))
        assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dead_letter_arn,
                                                           "maxReceiveCount": 5}
        (mapping,) = lam.list_event_source_mappings(FunctionName=lake.names.function(stage))["EventSourceMappings"]
        assert mapping["EventSourceArn"] == attributes["QueueArn"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["ScalingConfig"]["MaximumConcurrency"] >= 2
        config = lam.get_function_event_invoke_config(FunctionName=lake.names.function(stage))
        assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (2, 3600)
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == dead_letter_arn
    for rule in ("ingestion", "validation", "quality"):
        (target,) = events.list_targets_by_rule(Rule=lake.names.rule(rule),
                                                EventBusName=lake.names.event_bus)["Targets"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
        assert target["DeadLetterConfig"]["Arn"] == dead_letter_arn


def test_tls_only_policies_are_skipped_with_a_warning_over_plain_http(lake: Lake) -> None:
    provisioner = Provisioner(lake.topology, lake.target.session, lake.target.endpoint)
    report = provisioner.apply()

    assert not provisioner.capabilities.tls
    assert any("TLS-only policy is not set" in warning for warning in report.warnings)
    for bucket in (lake.names.raw_bucket, lake.names.processed_bucket, lake.names.quarantine_bucket):
        try:
            lake.s3.get_bucket_policy(Bucket=bucket)
            raise AssertionError(f"{bucket} has a bucket policy")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
