"""What `lakebox` itself may do when IAM is enforced, as the operator user: upload raw files, send records, read
outcomes, metrics, the curated zone, error reports and the catalog, run queries, replay dead letters, read the
stages' health and pause and resume a stage (its circuit, its event source mapping, the alert), and add and revoke
the ingestion API's producers. It cannot
delete or overwrite outputs, change the topology or touch another project, and it cannot read the raw, validated or
quarantined files themselves, which hold personal data as it came: it lists them (sizes, versions), and reads only
what holds no values (error reports, which mask them; why each record was set aside) and the stream's poison
records, which `lakebox send --wait` counts. The steward user may do what the operator may, and decrypt personal
data (`lakebox query --reveal`)."""

from __future__ import annotations

from typing import Any

from lakebox_infra.arns import Arns
from lakebox_infra.lake_formation import data_access_statements
from lakebox_infra.personal_data import reveal_statement
from lakebox_infra.specs import allow, policy
from lakebox_layer.adapters.health import circuit_key
from lakebox_layer.producers import KEY_ITEM_PREFIX, PRODUCERS_PARTITION
from lakebox_layer.records import INPUT_PREFIX
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.routing import CURATED_PREFIX, ERROR_REPORT_SUFFIX, QUARANTINE_PREFIX, RECORD_ERRORS_SUFFIX
from lakebox_layer.stream_batches import STREAM_FOLDER

ATHENA_RESULTS_PREFIX = "athena-results"


def operator_policy(arns: Arns) -> dict[str, Any]:
    """The operator user's inline policy."""
    return policy(*_operator_statements(arns))


def steward_policy(arns: Arns) -> dict[str, Any]:
    """The steward user's inline policy: the operator's, and decrypting personal data."""
    return policy(*_operator_statements(arns), reveal_statement(arns))


def _operator_statements(arns: Arns) -> list[dict[str, Any]]:
    names = arns.names
    quarantine = names.quarantine_bucket
    return [
        allow(["s3:PutObject"], [arns.bucket_arn(names.raw_bucket, f"{INPUT_PREFIX}*")]),
        allow(["s3:ListBucket", "s3:ListBucketVersions"], [arns.bucket_arn(b) for b in arns.buckets]),
        allow(["s3:GetObject"], [
            arns.bucket_arn(names.processed_bucket, f"{CURATED_PREFIX}/*"),
            arns.bucket_arn(quarantine, f"{QUARANTINE_PREFIX}/*{ERROR_REPORT_SUFFIX}"),
            arns.bucket_arn(quarantine, f"{QUARANTINE_PREFIX}/*{RECORD_ERRORS_SUFFIX}"),
            arns.bucket_arn(quarantine, f"{QUARANTINE_PREFIX}/{STREAM_FOLDER}/*"),
        ]),
        allow(["dynamodb:Query", "dynamodb:GetItem"], [arns.table_arn, f"{arns.table_arn}/index/*"]),
        # Reading metrics has no resource-level permissions: AWS requires "*".
        allow(["cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"], ["*"]),
        allow(["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage",
               "sqs:GetQueueAttributes"],
              [arns.dead_letter_arn, arns.stage_queue_arn(Stage.INGESTION), arns.queue_arn]),
        allow(["events:PutEvents"], [arns.bus_arn]),
        # `lakebox send` puts records to the ingest stream, and --wait reads the shards' ledger (GetItem above).
        allow(["kinesis:PutRecords", "kinesis:PutRecord", "kinesis:DescribeStreamSummary", "kinesis:ListShards"],
              [arns.stream_arn]),
        # `lakebox producer add` and `revoke`: a producer's item and its key's, and no other item of the table.
        allow(["dynamodb:PutItem", "dynamodb:UpdateItem"], [arns.table_arn],
              Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [
                  PRODUCERS_PARTITION, f"{KEY_ITEM_PREFIX}*"]}}),
        # Where the ingestion API is, for `lakebox up` and `producer add`: GetApis, which names no API of its own.
        allow(["apigateway:GET"], [arns.arn("apigateway", "/apis", account=False)]),
        # `lakebox trace` and `lakebox logs` read the functions' log groups, and only theirs.
        allow(["logs:FilterLogEvents"], [arns.arn("logs", f"log-group:/aws/lambda/{names.project}-*")]),
        *_run_queries(arns),
        *_pause_and_resume(arns),
        # Where Lake Formation governs the catalog (LAKEBOX_LAKE_FORMATION=1): the credentials it vends per query.
        *data_access_statements(arns),
    ]


def _pause_and_resume(arns: Arns) -> list[dict[str, Any]]:
    """`lakebox health`, `pause` and `resume`: the stages' circuits, their mappings, their queues, the alerts."""
    queues = [arns.stage_queue_arn(spec.stage) for spec in MAPPED_STAGES if spec.reads_queue]
    return [
        # A circuit is read, and written over the version read, as the healer does; no other item is written.
        allow(["dynamodb:GetItem", "dynamodb:PutItem"], [arns.table_arn],
              Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{circuit_key('')}*"]}}),
        # A stage's mapping is found by its function (ListEventSourceMappings has no resource of its own), then
        # disabled or enabled.
        allow(["lambda:ListEventSourceMappings"], ["*"]),
        allow(["lambda:UpdateEventSourceMapping"], [arns.arn("lambda", "event-source-mapping:*")]),
        # How many messages wait in each stage's queue (the dead-letter queue's count is granted above); `resume`
        # sends a stage's dead letters back to its queue, and leaves the other stages' visible again.
        allow(["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage"], queues),
        allow(["sqs:ChangeMessageVisibility"], [arns.dead_letter_arn]),
        allow(["sns:Publish"], [arns.alerts_topic_arn]),
    ]


def _run_queries(arns: Arns) -> list[dict[str, Any]]:
    """`lakebox query`: Athena in the workgroup over the catalog (curated data is read by the grant above)."""
    calls = ["athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"]
    processed = arns.names.processed_bucket
    return [
        allow(["athena:StartQueryExecution", *calls], [arns.workgroup_arn]),
        # MiniStack cannot tell which workgroup a query id belongs to and checks these calls against "*";
        # AWS (HTTPS only) never matches this statement and checks them against the workgroup above.
        allow(calls, ["*"], Condition={"Bool": {"aws:SecureTransport": "false"}}),
        allow(["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions",
               "glue:BatchGetPartition"], arns.catalog_arns),
        allow(["s3:GetBucketLocation"], [arns.bucket_arn(processed)]),
        # Athena writes the caller's results there, and reads them back for it (GetQueryResults).
        allow(["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
              [arns.bucket_arn(processed, f"{ATHENA_RESULTS_PREFIX}/*")]),
    ]
