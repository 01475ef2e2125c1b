"""The functions and their least-privilege roles, one per stage of the registry (:mod:`lakebox_layer.registry`).

Every function may write its own logs, send traces and dead-letter an asynchronous failure; a stage may read what
it consumes (its queue, or the ingest stream) and put the event it emits on the bus. What else a stage may touch is
stated below, per stage, and nothing more. No AWS calls here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakebox_infra.arns import Arns
from lakebox_infra.lake_formation import tagging_statements
from lakebox_infra.personal_data import key_arns
from lakebox_infra.specs import FunctionSpec, allow, policy
from lakebox_layer.adapters.health import circuit_key, counters_key
from lakebox_layer.adapters.metadata import STATUS_INDEX
from lakebox_layer.adapters.metrics import HEALTH_NAMESPACE, NAMESPACE
from lakebox_layer.adapters.stream_ledger import LEDGER_PREFIX
from lakebox_layer.producers import KEY_ITEM_PREFIX, PRODUCERS_PARTITION, RATE_ITEM_PREFIX
from lakebox_layer.records import INPUT_PREFIX
from lakebox_layer.registry import MAPPED_STAGES, STAGES, Feed, Stage, StageSpec
from lakebox_layer.routing import CURATED_PREFIX, PROCESSED_PREFIX, QUARANTINE_PREFIX
from lakebox_layer.stream_batches import STREAM_FOLDER

Statements = list[dict[str, Any]]


def function_basics(arns: Arns, stage: Stage) -> Statements:
    """What every function may do: write its own log group, send traces, and put an asynchronous invocation's
    failure in the dead-letter queue (its on-failure destination is written with the function's role)."""
    log_group = f"log-group:/aws/lambda/{arns.names.function(stage.value)}"
    return [
        allow(["logs:CreateLogGroup"], [arns.arn("logs", f"{log_group}:*")]),
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], [arns.arn("logs", f"{log_group}:log-stream:*")]),
        # X-Ray has no resource-level permissions: AWS requires "*" for tracing (Mode=Active).
        allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        allow(["sqs:SendMessage"], [arns.dead_letter_arn]),
    ]


def _consume_and_emit(arns: Arns, spec: StageSpec) -> Statements:
    """Reading what the stage consumes (the mapping reads it with the function's role) and emitting its event."""
    statements = []
    if spec.emits is not None or spec.notices:
        statements.append(allow(["events:PutEvents"], [arns.bus_arn]))
    if spec.reads_queue:
        # ChangeMessageVisibility (and GetQueueUrl to name the queue): a failed message's next try after its
        # backoff (see lakebox_layer.adapters.retries).
        statements.append(allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                 "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl"], [arns.stage_queue_arn(spec.stage)]))
    if spec.consumes is Feed.INGEST_STREAM:
        statements.append(allow(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                                 "kinesis:GetShardIterator", "kinesis:ListShards"], [arns.stream_arn]))
    return statements


def _count_health(arns: Arns, spec: StageSpec) -> Statements:
    """Adding each invocation's outcomes to the stage's own health counters (a stage a mapping feeds)."""
    if not spec.mapped:
        return []
    return [allow(["dynamodb:UpdateItem"], [arns.table_arn],
                  Condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [counters_key(spec.name)]}})]


def _read_raw(arns: Arns) -> Statements:
    raw = arns.names.raw_bucket
    return [
        allow(["s3:GetObject", "s3:GetObjectVersion"], [arns.bucket_arn(raw, f"{INPUT_PREFIX}*")]),
        # Without ListBucket S3 answers 403 instead of 404 for a deleted key, and a deleted raw file could
        # not be told from a denied one.
        allow(["s3:ListBucket", "s3:ListBucketVersions"], [arns.bucket_arn(raw)],
              Condition={"StringLike": {"s3:prefix": [f"{INPUT_PREFIX}*"]}}),
    ]


def _ingestion(arns: Arns) -> Statements:
    return [
        *_read_raw(arns),
        # BatchGetItem: which of a batch's objects are already ingested, in one read.
        allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [arns.table_arn]),
    ]


def _validation(arns: Arns) -> Statements:
    names = arns.names
    return [
        *_read_raw(arns),
        # Record-mode outputs and quarantine copies are multipart uploads, aborted when not wanted.
        allow(["s3:PutObject", "s3:AbortMultipartUpload"], [
            arns.bucket_arn(names.processed_bucket, f"{PROCESSED_PREFIX}/*"),
            arns.bucket_arn(names.quarantine_bucket, f"{QUARANTINE_PREFIX}/*"),
        ]),
        # BatchGetItem: which of a batch's files are already recorded, in one read.
        allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [arns.table_arn]),
        # The validated copy is tagged with the personal data found in it.
        allow(["s3:PutObjectTagging"], [arns.bucket_arn(names.processed_bucket, f"{PROCESSED_PREFIX}/*")]),
        # Free text asked about names and addresses (a contract's policy.pii_free_text); DetectPiiEntities has no
        # resource-level permissions: AWS requires "*".
        allow(["comprehend:DetectPiiEntities"], ["*"]),
    ]


def _quality(arns: Arns) -> Statements:
    return [
        allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [arns.table_arn]),
        # PutMetricData has no resource-level permissions ("*" is required); the namespace condition limits it to
        # the pipeline's own metrics. AWS always sets the key; "IfExists" lets an emulator that does not model it
        # enforce the rest of the policy.
        allow(["cloudwatch:PutMetricData"], ["*"],
              Condition={"StringEqualsIfExists": {"cloudwatch:namespace": NAMESPACE}}),
    ]


def _curation(arns: Arns) -> Statements:
    processed = arns.names.processed_bucket
    return [
        allow(["s3:GetObject"], [arns.bucket_arn(processed, f"{PROCESSED_PREFIX}/*")]),
        # Large Parquet files go up as multipart uploads.
        allow(["s3:PutObject", "s3:AbortMultipartUpload"], [arns.bucket_arn(processed, f"{CURATED_PREFIX}/*")]),
        # GetItem reads the dataset's contract, BatchGetItem which of a batch's files are already curated; PutItem
        # writes the stage record once.
        allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [arns.table_arn]),
        allow(["glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition"],
              arns.catalog_arns),
        # A data key per file and protected column, and each dataset's token key; never Decrypt (see
        # lakebox_infra.personal_data: the keys' policies say who may use them).
        allow(["kms:GenerateDataKey", "kms:GenerateMac"], key_arns(arns)),
        # The protected columns' sensitivity=pii tag, where LAKEBOX_LAKE_FORMATION=1 (see lakebox_infra.lake_formation).
        *tagging_statements(arns),
    ]


def _batcher(arns: Arns) -> Statements:
    names = arns.names
    return [
        # Raw files under input/<dataset>/stream/ only, and poison records under quarantine/stream/.
        allow(["s3:PutObject"], [
            arns.bucket_arn(names.raw_bucket, f"{INPUT_PREFIX}*/{STREAM_FOLDER}/*"),
            arns.bucket_arn(names.quarantine_bucket, f"{QUARANTINE_PREFIX}/{STREAM_FOLDER}/*"),
        ]),
        # The per-shard ledger items, and no other item of the table.
        allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [arns.table_arn],
              Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{LEDGER_PREFIX}*"]}}),
    ]


def _healer(arns: Arns) -> Statements:
    names = arns.names
    mapped = [spec.stage for spec in MAPPED_STAGES]
    return [
        # The stages' health counters (read) and their circuits (read and written), and no other item of the table.
        allow(["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem"], [arns.table_arn],
              Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [
                  f"{counters_key('')}*", f"{circuit_key('')}*"]}}),
        # Pausing and resuming the stages' mappings; ListEventSourceMappings has no resource of its own.
        allow(["lambda:ListEventSourceMappings"], ["*"]),
        allow(["lambda:UpdateEventSourceMapping", "lambda:GetEventSourceMapping"],
              [arns.arn("lambda", "event-source-mapping:*")]),
        # A function's code version, and whether it starts at all (invoked with an empty batch).
        allow(["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"],
              [arns.function_arn(names.function(s.value)) for s in mapped]),
        # How many files wait in each stage's queue and in the dead-letter queue, for the alerts; a stage's dead
        # letters sent back to its queue when its circuit closes.
        allow(["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage"],
              [*(arns.stage_queue_arn(s) for s in mapped if s.spec.reads_queue), arns.dead_letter_arn]),
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"], [arns.dead_letter_arn]),
        allow(["sns:Publish"], [arns.alerts_topic_arn]),
        # Each stage's circuit state, for the dashboard.
        allow(["cloudwatch:PutMetricData"], ["*"],
              Condition={"StringEqualsIfExists": {"cloudwatch:namespace": HEALTH_NAMESPACE}}),
        # The probes of a dependency before a stage tries it again: one harmless read each.
        allow(["s3:ListBucket"], [arns.bucket_arn(names.processed_bucket)]),
        allow(["dynamodb:DescribeTable"], [arns.table_arn]),
        allow(["glue:GetTables"], arns.catalog_arns),
        allow(["kms:DescribeKey"], key_arns(arns)),
        allow(["events:DescribeEventBus"], [arns.bus_arn]),
        # ListMetrics has no resource of its own.
        allow(["cloudwatch:ListMetrics"], ["*"]),
    ]


def _authorizer(arns: Arns) -> Statements:
    return [
        # A key's item and its producer's, and no other item of the table.
        allow(["dynamodb:GetItem"], [arns.table_arn],
              Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [
                  PRODUCERS_PARTITION, f"{KEY_ITEM_PREFIX}*"]}}),
    ]


def _api(arns: Arns) -> Statements:
    return [
        allow(["kinesis:PutRecords"], [arns.stream_arn]),
        # A presigned URL carries its signer's permission: producers' files go under input/<dataset>/<producer>/.
        allow(["s3:PutObject"], [arns.bucket_arn(arns.names.raw_bucket, f"{INPUT_PREFIX}*")]),
        # A file's status: one process's records, or one raw key's from the status index.
        allow(["dynamodb:Query"], [arns.table_arn, f"{arns.table_arn}/index/{STATUS_INDEX}"]),
        # Each producer's requests counted per second, and no other item of the table written.
        allow(["dynamodb:UpdateItem"], [arns.table_arn],
              Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{RATE_ITEM_PREFIX}*"]}}),
    ]


# What each stage may touch besides what it consumes and emits: its reads and writes of S3, the table, Glue and
# CloudWatch.
ACCESS: dict[Stage, Callable[[Arns], Statements]] = {
    Stage.INGESTION: _ingestion,
    Stage.VALIDATION: _validation,
    Stage.QUALITY: _quality,
    Stage.CURATION: _curation,
    Stage.BATCHER: _batcher,
    Stage.HEALER: _healer,
    Stage.AUTHORIZER: _authorizer,
    Stage.API: _api,
}


def function(arns: Arns, spec: StageSpec) -> FunctionSpec:
    """The function that runs one stage, with its role."""
    names = arns.names
    return FunctionSpec(
        stage=spec.stage, name=names.function(spec.name), role=names.function_role(spec.name),
        queue=names.stage_queue(spec.name) if spec.reads_queue else None,
        policy=policy(*function_basics(arns, spec.stage), *_consume_and_emit(arns, spec), *_count_health(arns, spec),
                      *ACCESS[spec.stage](arns)))


def functions(arns: Arns) -> list[FunctionSpec]:
    """Every function, in the registry's order: the pipeline's stages, the stream batcher, the healer, the ingestion
    API's authorizer and function."""
    return [function(arns, spec) for spec in STAGES.values()]
