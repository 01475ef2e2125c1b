"""The stream entry point as data: the Kinesis data stream `<project>-ingest` and the mapping of the stream batcher
(declared with the stages in :mod:`lakebox_layer.registry`, its role in :mod:`lakebox_infra.function_specs`) on it.
No AWS calls here.

Why a batching function and not Firehose: the same behaviour on every target. MiniStack's Firehose writes each
record as an object of its own with a name of its choosing (no buffering, no dynamic partitioning), so 10,000
readings would be 10,000 raw files locally and a few on AWS. A function on the stream writes the same objects
everywhere, under keys lakebox chooses (shard and sequence range), create-once, with a per-shard ledger, so a retried
batch never writes a record twice (see :mod:`lakebox_layer.stages.batcher`).

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
from typing import Any

from lakebox_infra.arns import Arns
from lakebox_infra.specs import FunctionSpec
from lakebox_layer.settings import Settings

SHARDS = 2
RETENTION_HOURS = 24
# The key Kinesis encrypts with when no other is named: AWS's own, which needs no key policy or grant.
ENCRYPTION_KEY = "alias/aws/kinesis"


@dataclass(frozen=True)
class StreamSpec:
    """The ingest stream: provisioned shards, retention, server-side encryption."""

    name: str
    arn: str
    shards: int = SHARDS
    retention_hours: int = RETENTION_HOURS
    key_id: str = ENCRYPTION_KEY


def spec(arns: Arns) -> StreamSpec:
    return StreamSpec(arns.names.ingest_stream, arns.stream_arn)


def event_source_mapping(arns: Arns, settings: Settings, function: FunctionSpec) -> dict[str, Any]:
    """create_event_source_mapping arguments of the batcher on the ingest stream (see the module's docstring)."""
    return {"FunctionName": function.name, "EventSourceArn": arns.stream_arn, "StartingPosition": "TRIM_HORIZON",
            "BatchSize": settings.stream_max_records,
            "MaximumBatchingWindowInSeconds": settings.stream_window_s,
            "ParallelizationFactor": function.declared.concurrency, "BisectBatchOnFunctionError": False,
            "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1}
