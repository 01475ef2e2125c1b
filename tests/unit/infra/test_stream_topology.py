"""The stream entry point as data: the ingest stream, the batcher's least-privilege role, its mapping on the stream,
the operator's grant to send records, and the hold the batcher is told to apply where the mapping cannot wait."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lakebox_infra.capabilities import AWS, Capabilities
from lakebox_infra.provision.base import Context
from lakebox_infra.provision.functions import function_environment
from lakebox_infra.topology import FunctionSpec, Topology
from lakebox_layer.registry import Stage
from lakebox_layer.settings import ResourceNames, Settings

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
TOPOLOGY = Topology(NAMES)
# The stages that read a queue of their own: all but the stream batcher.
QUEUED = [stage for stage in Stage if stage.spec.reads_queue]
STREAM_ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/lakebox-ingest"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/lakebox-metadata"
RAW = "lakebox-raw-000000000000-us-east-1"
QUARANTINE = "lakebox-quarantine-000000000000-us-east-1"
LOG_GROUP = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/lakebox-batcher"
DEAD_LETTERS = "arn:aws:sqs:us-east-1:000000000000:lakebox-dead-letters"
# As capabilities.detect describes MiniStack: its stream mapping invokes at once, whatever the batching window.
MINISTACK = Capabilities("MiniStack 1.5.33", layers_applied=True, tls=False, host_interpreter=True,
                         batching_window=False)


def batcher_of(topology: Topology) -> FunctionSpec:
    [spec] = [f for f in topology.functions if f.component == "batcher"]
    return spec


def statements_with(policy: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The statements that grant any action of one service (`prefix` such as "s3:")."""
    return [s for s in policy["Statement"] if any(a.startswith(prefix) for a in s["Action"])]


def context(topology: Topology, capabilities: Capabilities) -> Context:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return Context(topology, session, None, capabilities)


def test_the_ingest_stream_is_named_for_the_project_with_two_encrypted_shards_for_a_day() -> None:
    stream = TOPOLOGY.stream

    assert (stream.name, stream.arn) == ("lakebox-ingest", STREAM_ARN)
    assert (stream.shards, stream.retention_hours, stream.key_id) == (2, 24, "alias/aws/kinesis")
    assert NAMES.ingest_stream == "lakebox-ingest"
    assert Topology(ResourceNames("data-lake", "111111111111", "cn-north-1")).stream.arn == (
        "arn:aws-cn:kinesis:cn-north-1:111111111111:stream/data-lake-ingest")


def test_the_batcher_reads_the_stream_not_a_queue_and_runs_no_stage() -> None:
    spec = batcher_of(TOPOLOGY)

    assert (spec.name, spec.role, spec.memory, spec.timeout) == ("lakebox-batcher", "lakebox-batcher-role", 512, 60)
    assert spec.queue is None
    assert spec.stage is Stage.BATCHER
    assert spec.native_layers == ()
    assert spec not in TOPOLOGY.stage_functions.values()
    assert list(TOPOLOGY.stage_functions) == QUEUED
    assert {stage: f.queue for stage, f in TOPOLOGY.stage_functions.items()} == {
        stage: f"lakebox-{stage.value}-queue" for stage in QUEUED}


def test_the_batcher_policy_is_exactly_the_basics_the_stream_read_its_prefixes_ledger_and_counters() -> None:
    assert batcher_of(TOPOLOGY).policy == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup"], "Resource": [f"{LOG_GROUP}:*"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [f"{LOG_GROUP}:log-stream:*"]},
        {"Effect": "Allow", "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [DEAD_LETTERS]},
        {"Effect": "Allow", "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary",
                                       "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
         "Resource": [STREAM_ARN]},
        {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": [TABLE_ARN],
         "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["health#batcher"]}}},
        {"Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{RAW}/input/*/stream/*", f"arn:aws:s3:::{QUARANTINE}/quarantine/stream/*"]},
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": [TABLE_ARN],
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["stream#*"]}}},
    ]}


def test_the_batcher_writes_no_other_prefix_reads_no_object_and_no_table_item_outside_the_ledger() -> None:
    policy = batcher_of(TOPOLOGY).policy
    actions = {a for s in policy["Statement"] for a in s["Action"]}

    assert {a for a in actions if a.startswith("s3:")} == {"s3:PutObject"}
    assert {a for a in actions if a.startswith("kinesis:")} == {
        "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator",
        "kinesis:ListShards"}
    assert not {a for a in actions if a.split(":")[0] in {"events", "lambda", "iam", "glue", "cloudwatch"}}
    # Every table statement is limited to the ledger's items and the batcher's own health counters: a role without
    # the conditions could rewrite any stage record of the metadata table.
    counters, table = statements_with(policy, "dynamodb:")
    assert counters["Action"] == ["dynamodb:UpdateItem"]
    assert counters["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"] == ["health#batcher"]
    assert table["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert table["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["stream#*"]
    # The one kinesis statement names the stream, nothing wider.
    assert [s["Resource"] for s in statements_with(policy, "kinesis:")] == [[STREAM_ARN]]


def test_the_mapping_reads_the_stream_from_its_start_one_batch_per_shard_and_never_skips_a_batch() -> None:
    spec = batcher_of(TOPOLOGY)

    assert TOPOLOGY.event_source_mapping(spec) == {
        "FunctionName": "lakebox-batcher", "EventSourceArn": STREAM_ARN, "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 5000, "MaximumBatchingWindowInSeconds": 10, "ParallelizationFactor": 1,
        "BisectBatchOnFunctionError": False, "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1,
    }


def test_the_mapping_takes_the_batch_size_and_window_from_the_settings_overrides() -> None:
    topology = Topology(NAMES, settings_overrides={"stream_max_records": 250, "stream_window_s": 3,
                                                   "stream_max_bytes": 2048})

    mapping = topology.event_source_mapping(batcher_of(topology))

    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (250, 3)
    assert "FunctionResponseTypes" not in mapping
    assert (topology.settings.stream_max_records, topology.settings.stream_max_bytes) == (250, 2048)
    # The stage mappings do not depend on the stream's bounds.
    for stage, spec in topology.stage_functions.items():
        assert topology.event_source_mapping(spec) == TOPOLOGY.event_source_mapping(TOPOLOGY.stage_functions[stage])


def test_settings_overrides_out_of_bounds_are_refused_when_the_settings_are_built() -> None:
    topology = Topology(NAMES, settings_overrides={"stream_max_records": 10_001})

    with pytest.raises(ValueError, match=r"stream_max_records must be a whole number from 1 to 10000, not 10001"):
        topology.event_source_mapping(batcher_of(TOPOLOGY))


@pytest.mark.parametrize("stage", QUEUED)
def test_the_stage_mappings_still_read_their_queues_and_report_failed_items(stage: Stage) -> None:
    mapping = TOPOLOGY.event_source_mapping(TOPOLOGY.stage_functions[stage])

    assert mapping["EventSourceArn"] == f"arn:aws:sqs:us-east-1:000000000000:lakebox-{stage.value}-queue"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "StartingPosition" not in mapping


def test_the_queues_are_still_the_dead_letters_the_four_stage_queues_and_the_quality_events() -> None:
    assert list(TOPOLOGY.queues) == ["lakebox-dead-letters", "lakebox-ingestion-queue", "lakebox-validation-queue",
                                     "lakebox-quality-queue", "lakebox-curation-queue", "lakebox-quality-events"]
    assert not [name for name in TOPOLOGY.queues if "batcher" in name or "ingest-" in name]


def test_the_operator_may_send_records_to_the_stream_but_not_read_them() -> None:
    policy = TOPOLOGY.operator_policy

    [kinesis] = statements_with(policy, "kinesis:")
    assert kinesis == {"Effect": "Allow", "Resource": [STREAM_ARN], "Action": [
        "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:PutRecord", "kinesis:PutRecords"]}
    operator_actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert not {"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DeleteStream",
                "kinesis:UpdateShardCount"} & operator_actions


def test_the_batcher_is_told_to_hold_batches_only_where_the_mapping_ignores_its_window() -> None:
    batcher = batcher_of(TOPOLOGY)
    on_aws = function_environment(context(TOPOLOGY, AWS), batcher)
    on_ministack = function_environment(context(TOPOLOGY, MINISTACK), batcher)

    assert on_aws == TOPOLOGY.function_environment("batcher")
    assert on_aws["STREAM_HOLD_S"] == "0"
    assert on_ministack == {**on_aws, "STREAM_HOLD_S": "10"}
    assert on_ministack["POWERTOOLS_SERVICE_NAME"] == "lakebox-batcher"
    # What the batcher's Settings.from_env reads back on MiniStack: a hold as long as the window.
    assert Settings.from_env({**on_ministack, "AWS_REGION": "us-east-1"}).stream_hold_s == 10


@pytest.mark.parametrize("capabilities", [AWS, MINISTACK], ids=["AWS", "MiniStack"])
@pytest.mark.parametrize("stage", QUEUED)
def test_a_stage_function_is_never_told_to_hold(stage: Stage, capabilities: Capabilities) -> None:
    environment = function_environment(context(TOPOLOGY, capabilities), TOPOLOGY.stage_functions[stage])

    assert environment == TOPOLOGY.function_environment(stage.value)
    assert environment["STREAM_HOLD_S"] == "0"


def test_the_hold_follows_the_window_the_topology_was_given() -> None:
    topology = Topology(NAMES, settings_overrides={"stream_window_s": 3})
    no_window = Topology(NAMES, settings_overrides={"stream_window_s": 0})

    assert function_environment(context(topology, MINISTACK), batcher_of(topology))["STREAM_HOLD_S"] == "3"
    assert function_environment(context(topology, MINISTACK), batcher_of(topology))["STREAM_WINDOW_S"] == "3"
    assert function_environment(context(no_window, MINISTACK), batcher_of(no_window))["STREAM_HOLD_S"] == "0"
    assert function_environment(context(topology, AWS), batcher_of(topology))["STREAM_HOLD_S"] == "0"
