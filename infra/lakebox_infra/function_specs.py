"""The functions and their least-privilege roles: the four pipeline stages, each reading its queue, and the stream
batcher, reading the ingest stream (see :mod:`lakebox_infra.stream`). No AWS calls here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakebox_infra import stream
from lakebox_infra.specs import FunctionSpec, allow, policy
from lakebox_layer.adapters.metrics import NAMESPACE
from lakebox_layer.records import INPUT_PREFIX, Stage
from lakebox_layer.routing import CURATED_PREFIX, PROCESSED_PREFIX, QUARANTINE_PREFIX

if TYPE_CHECKING:
    from lakebox_infra.topology import Topology


def _stage_basics(topology: Topology, stage: Stage) -> list[dict[str, Any]]:
    return [
        *topology.function_basics(stage.value),
        allow(["events:PutEvents"], [topology.bus_arn]),
        # The event source mapping reads the stage's queue with the function's role.
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
               "sqs:ChangeMessageVisibility"], [topology.stage_queue_arn(stage)]),
    ]


def _read_raw(topology: Topology) -> list[dict[str, Any]]:
    raw = topology.names.raw_bucket
    return [
        allow(["s3:GetObject", "s3:GetObjectVersion"], [topology.bucket_arn(raw, f"{INPUT_PREFIX}*")]),
        # Without ListBucket S3 answers 403 instead of 404 for a deleted key, and a deleted raw file could
        # not be told from a denied one.
        allow(["s3:ListBucket", "s3:ListBucketVersions"], [topology.bucket_arn(raw)],
              Condition={"StringLike": {"s3:prefix": [f"{INPUT_PREFIX}*"]}}),
    ]


def _stage(topology: Topology, stage: Stage, memory: int, timeout: int, description: str,
           *statements: dict[str, Any], duckdb: bool = False) -> FunctionSpec:
    names = topology.names
    return FunctionSpec(
        component=stage.value, name=names.function(stage), role=names.function_role(stage), memory=memory,
        timeout=timeout, description=description, queue=names.stage_queue(stage.value), duckdb=duckdb,
        policy=policy(*_stage_basics(topology, stage), *statements))


def functions(topology: Topology) -> list[FunctionSpec]:
    """Every function: the pipeline's stages in order, then the stream batcher."""
    names = topology.names
    return [
        _stage(topology, Stage.INGESTION, 256, 60, "lakebox ingestion: S3 notification to Data Received",
               *_read_raw(topology),
               # BatchGetItem: which of a batch's objects are already ingested, in one read.
               allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [topology.table_arn])),
        _stage(topology, Stage.VALIDATION, 512, 300, "lakebox validation: Data Received to processed or quarantine",
               *_read_raw(topology),
               # Record-mode outputs and quarantine copies are multipart uploads, aborted when not wanted.
               allow(["s3:PutObject", "s3:AbortMultipartUpload"], [
                   topology.bucket_arn(names.processed_bucket, f"{PROCESSED_PREFIX}/*"),
                   topology.bucket_arn(names.quarantine_bucket, f"{QUARANTINE_PREFIX}/*"),
               ]),
               # BatchGetItem: which of a batch's files are already recorded, in one read.
               allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [topology.table_arn])),
        _stage(topology, Stage.QUALITY, 256, 60, "lakebox quality: Data Validated to CloudWatch metrics",
               allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [topology.table_arn]),
               # PutMetricData has no resource-level permissions ("*" is required); the namespace condition limits
               # it to the pipeline's own metrics. AWS always sets the key; "IfExists" lets an emulator that does
               # not model it enforce the rest of the policy.
               allow(["cloudwatch:PutMetricData"], ["*"],
                     Condition={"StringEqualsIfExists": {"cloudwatch:namespace": NAMESPACE}})),
        _stage(topology, Stage.CURATION, 1024, 300,
               "lakebox curation: processed files to Parquet and the Glue catalog",
               allow(["s3:GetObject"], [topology.bucket_arn(names.processed_bucket, f"{PROCESSED_PREFIX}/*")]),
               # Large Parquet files go up as multipart uploads.
               allow(["s3:PutObject", "s3:AbortMultipartUpload"],
                     [topology.bucket_arn(names.processed_bucket, f"{CURATED_PREFIX}/*")]),
               # GetItem reads the dataset's contract, BatchGetItem which of a batch's files are already curated;
               # PutItem writes the stage record once.
               allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem"], [topology.table_arn]),
               allow(["glue:GetTable", "glue:CreateTable", "glue:UpdateTable", "glue:BatchCreatePartition"],
                     topology.catalog_arns),
               duckdb=True),
        stream.batcher(topology),
    ]
