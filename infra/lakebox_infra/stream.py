"""The stream entry point as data: the Kinesis data stream `<project>-ingest`, the batcher function that reads it,
and the mapping between them. No AWS calls here.

Why a batching function and not Firehose: the same behaviour on every target. MiniStack's Firehose writes each
record as an object of its own with a name of its choosing (no buffering, no dynamic partitioning), so 10,000
readings would be 10,000 raw files locally and a few on AWS. A function on the stream writes the same objects
everywhere, under keys lakebox chooses (shard and sequence range), create-once, with a per-shard ledger, so a retried
batch never writes a record twice (see :mod:`lakebox_layer.stages.stream`).

The mapping's settings, and why:
- `BatchSize` is the most records one raw object holds, and `MaximumBatchingWindowInSeconds` the longest a record
  waits for its batch to fill.
- One invocation per shard at a time (`ParallelizationFactor` 1): the ledger is per shard, and records keep their
  order within a shard.
- Never skip a batch (`MaximumRetryAttempts` and `MaximumRecordAgeInSeconds` -1): the batcher raises only when S3 or
  DynamoDB fails, and then the batch must come back, not be dropped. Poison records never raise.
- No bisecting and no partial batch responses: a retried batch is planned again from its first record, so the same
  records give the same objects.
- `TRIM_HORIZON`: records put before the mapping existed are batched too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakebox_infra.specs import FunctionSpec, allow, policy
from lakebox_layer.adapters.stream_ledger import LEDGER_PREFIX
from lakebox_layer.records import INPUT_PREFIX
from lakebox_layer.routing import QUARANTINE_PREFIX
from lakebox_layer.stream_batches import STREAM_FOLDER

if TYPE_CHECKING:
    from lakebox_infra.topology import Topology

COMPONENT = "batcher"
SHARDS = 2
RETENTION_HOURS = 24
# The key Kinesis encrypts with when no other is named: AWS's own, which needs no key policy or grant.
ENCRYPTION_KEY = "alias/aws/kinesis"
# The batcher's time limit: a batch of 10,000 records takes well under a second to plan and write.
BATCHER_TIMEOUT_S = 60


@dataclass(frozen=True)
class StreamSpec:
    """The ingest stream: provisioned shards, retention, server-side encryption."""

    name: str
    arn: str
    shards: int = SHARDS
    retention_hours: int = RETENTION_HOURS
    key_id: str = ENCRYPTION_KEY


def spec(topology: Topology) -> StreamSpec:
    name = topology.names.ingest_stream
    return StreamSpec(name, topology.arn("kinesis", f"stream/{name}"))


def batcher(topology: Topology) -> FunctionSpec:
    """The stream batcher: records in, JSON Lines raw objects and a quarantine object of poison records out."""
    names = topology.names
    stream_arn = spec(topology).arn
    return FunctionSpec(
        component=COMPONENT, name=names.function(COMPONENT), role=names.function_role(COMPONENT), memory=512,
        timeout=BATCHER_TIMEOUT_S, description="lakebox stream batcher: Kinesis records to raw JSON Lines files",
        policy=policy(
            *topology.function_basics(COMPONENT),
            # What the event source mapping reads the stream with (the function's role).
            allow(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                   "kinesis:GetShardIterator", "kinesis:ListShards"], [stream_arn]),
            # Raw files under input/<dataset>/stream/ only, and poison records under quarantine/stream/.
            allow(["s3:PutObject"], [
                topology.bucket_arn(names.raw_bucket, f"{INPUT_PREFIX}*/{STREAM_FOLDER}/*"),
                topology.bucket_arn(names.quarantine_bucket, f"{QUARANTINE_PREFIX}/{STREAM_FOLDER}/*"),
            ]),
            # The per-shard ledger items, and no other item of the table.
            allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], [topology.table_arn],
                  Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{LEDGER_PREFIX}*"]}}),
        ),
    )


def event_source_mapping(topology: Topology, function: FunctionSpec) -> dict[str, Any]:
    """create_event_source_mapping arguments of the batcher on the ingest stream (see the module's docstring)."""
    settings = topology.settings
    return {"FunctionName": function.name, "EventSourceArn": spec(topology).arn, "StartingPosition": "TRIM_HORIZON",
            "BatchSize": settings.stream_max_records,
            "MaximumBatchingWindowInSeconds": settings.stream_window_s,
            "ParallelizationFactor": 1, "BisectBatchOnFunctionError": False,
            "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1}
