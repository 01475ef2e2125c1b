"""What `lakebox` itself may do as the operator user when IAM is enforced: upload raw files, send records, read
outcomes, metrics, outputs and the catalog, run queries, replay dead letters. It cannot delete or overwrite
outputs, change the topology or touch another project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakebox_infra.specs import allow, policy
from lakebox_layer.records import INPUT_PREFIX, Stage

if TYPE_CHECKING:
    from lakebox_infra.topology import Topology

ATHENA_RESULTS_PREFIX = "athena-results"


def operator_policy(topology: Topology) -> dict[str, Any]:
    """The operator user's inline policy."""
    names = topology.names
    return policy(
        allow(["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
              [topology.bucket_arn(names.raw_bucket, f"{INPUT_PREFIX}*")]),
        allow(["s3:ListBucket", "s3:ListBucketVersions"],
              [topology.bucket_arn(b) for b in topology.buckets]),
        allow(["s3:GetObject"], [topology.bucket_arn(names.processed_bucket, "*"),
                                 topology.bucket_arn(names.quarantine_bucket, "*")]),
        allow(["dynamodb:Query", "dynamodb:GetItem"], [topology.table_arn, f"{topology.table_arn}/index/*"]),
        # Reading metrics has no resource-level permissions: AWS requires "*".
        allow(["cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"], ["*"]),
        allow(["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage",
               "sqs:GetQueueAttributes"],
              [topology.dead_letter_arn, topology.stage_queue_arn(Stage.INGESTION), topology.queue_arn]),
        allow(["events:PutEvents"], [topology.bus_arn]),
        # `lakebox send` puts records to the ingest stream, and --wait reads the shards' ledger (GetItem above).
        allow(["kinesis:PutRecords", "kinesis:PutRecord", "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
              [topology.stream.arn]),
        # `lakebox trace` and `lakebox logs` read the functions' log groups, and only theirs.
        allow(["logs:FilterLogEvents"], [topology.arn("logs", f"log-group:/aws/lambda/{names.project}-*")]),
        *_run_queries(topology),
    )


def _run_queries(topology: Topology) -> list[dict[str, Any]]:
    """`lakebox query`: Athena in the workgroup over the catalog (curated data is read by the grant above)."""
    calls = ["athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"]
    processed = topology.names.processed_bucket
    return [
        allow(["athena:StartQueryExecution", *calls], [topology.workgroup_arn]),
        # MiniStack cannot tell which workgroup a query id belongs to and checks these calls against "*";
        # AWS (HTTPS only) never matches this statement and checks them against the workgroup above.
        allow(calls, ["*"], Condition={"Bool": {"aws:SecureTransport": "false"}}),
        allow(["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions",
               "glue:BatchGetPartition"], topology.catalog_arns),
        allow(["s3:GetBucketLocation"], [topology.bucket_arn(processed)]),
        allow(["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
              [topology.bucket_arn(processed, f"{ATHENA_RESULTS_PREFIX}/*")]),
    ]
