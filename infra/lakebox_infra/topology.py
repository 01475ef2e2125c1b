"""The whole topology as data: names, policies, event rules, triggers. No AWS calls here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakebox_infra import function_specs, observability, operator_access, stream
from lakebox_infra.operator_access import ATHENA_RESULTS_PREFIX
from lakebox_infra.specs import (
    MAX_EVENT_AGE_S,
    FunctionSpec,
    QueueSpec,
    RuleSpec,
    allow,
    canonical,
    partition,
    policy,
    trust,
)
from lakebox_infra.stream import StreamSpec
from lakebox_layer.adapters.metadata import STATUS_INDEX
from lakebox_layer.records import (
    DETAIL_DATA_RECEIVED,
    DETAIL_DATA_VALIDATED,
    DETAIL_QUALITY_COMPLETE,
    EVENT_SOURCE_INGESTION,
    EVENT_SOURCE_QUALITY,
    EVENT_SOURCE_VALIDATION,
    INPUT_PREFIX,
    FileStatus,
    Stage,
)
from lakebox_layer.settings import ResourceNames, Settings

# Importers of the topology find the pieces it is built of here too.
__all__ = ["ATHENA_RESULTS_PREFIX", "HANDLER", "RUNTIME", "FunctionSpec", "QueueSpec", "RuleSpec", "Topology", "allow",
           "canonical", "partition", "policy", "trust"]

RUNTIME = "python3.12"
HANDLER = "handler.handler"
# The functions are invoked by their queues; any asynchronous invocation besides (by hand, by a future trigger) is
# retried twice, Lambda's maximum, and then lands in the dead-letter queue too.
ASYNC_RETRIES = 2
# Work is pulled in batches by at most this many concurrent invocations per stage: a burst waits in the queue
# instead of starting one execution environment per file.
STAGE_CONCURRENCY = {Stage.INGESTION: 4, Stage.VALIDATION: 4, Stage.QUALITY: 2, Stage.CURATION: 4}
STAGE_BATCH = {Stage.INGESTION: 10, Stage.VALIDATION: 10, Stage.QUALITY: 10, Stage.CURATION: 10}


@dataclass(frozen=True)
class Topology:
    """Everything bootstrap creates, derived from the resource names."""

    names: ResourceNames
    # Added to, or overriding, the tags every taggable resource carries (see `resource_tags`).
    tags: dict[str, str] = field(default_factory=dict)
    # Settings other than the names' own: the stream bounds asked for (see Settings.stream_overrides).
    settings_overrides: dict[str, int] = field(default_factory=dict)

    @property
    def resource_tags(self) -> dict[str, str]:
        """The tags of every resource that takes tags: the project, that lakebox manages it, then `tags`."""
        return {"project": self.names.project, "managed-by": "lakebox", **self.tags}

    # -- ARNs ---------------------------------------------------------------------------------------------------

    @property
    def partition(self) -> str:
        return partition(self.names.region)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join([
            "arn", self.partition, service,
            self.names.region if region else "",
            self.names.account if account else "",
            resource,
        ])

    def bucket_arn(self, bucket: str, objects: str | None = None) -> str:
        return self.arn("s3", bucket if objects is None else f"{bucket}/{objects}", region=False, account=False)

    @property
    def table_arn(self) -> str:
        return self.arn("dynamodb", f"table/{self.names.metadata_table}")

    @property
    def bus_arn(self) -> str:
        return self.arn("events", f"event-bus/{self.names.event_bus}")

    def rule_arn(self, rule: str) -> str:
        return self.arn("events", f"rule/{self.names.event_bus}/{rule}")

    def role_arn(self, role: str) -> str:
        return self.arn("iam", f"role/{role}", region=False)

    def function_arn(self, function: str) -> str:
        return self.arn("lambda", f"function:{function}")

    @property
    def workgroup_arn(self) -> str:
        return self.arn("athena", f"workgroup/{self.names.athena_workgroup}")

    @property
    def catalog_arns(self) -> list[str]:
        """The Glue catalog, the project's database and its tables."""
        database = self.names.glue_database
        return [self.arn("glue", "catalog"), self.arn("glue", f"database/{database}"),
                self.arn("glue", f"table/{database}/*")]

    @property
    def queue_arn(self) -> str:
        return self.arn("sqs", self.names.quality_events_queue)

    @property
    def dead_letter_arn(self) -> str:
        return self.arn("sqs", self.names.dead_letter_queue)

    def event_invoke_config(self, spec: FunctionSpec) -> dict[str, Any]:
        """put_function_event_invoke_config arguments: retries, maximum age, on-failure destination."""
        return {"FunctionName": spec.name, "MaximumRetryAttempts": ASYNC_RETRIES,
                "MaximumEventAgeInSeconds": MAX_EVENT_AGE_S,
                "DestinationConfig": {"OnFailure": {"Destination": self.dead_letter_arn}}}

    def stage_queue_arn(self, stage: Stage) -> str:
        return self.arn("sqs", self.names.stage_queue(stage.value))

    def event_source_mapping(self, spec: FunctionSpec) -> dict[str, Any]:
        """create_event_source_mapping arguments. A stage reads its queue in batches, with bounded concurrency,
        reporting which records of a batch failed so only those come back; the batcher reads the ingest stream."""
        if spec.stage is None:
            return stream.event_source_mapping(self, spec)
        return {"FunctionName": spec.name, "EventSourceArn": self.stage_queue_arn(spec.stage),
                "BatchSize": STAGE_BATCH[spec.stage], "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": STAGE_CONCURRENCY[spec.stage]}}

    # -- settings the functions receive -------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return Settings.from_names(self.names, **self.settings_overrides)

    def function_environment(self, component: str) -> dict[str, str]:
        """The settings plus the logging level, set explicitly so no inherited LOG_LEVEL decides it."""
        return {**self.settings.function_environment(), "POWERTOOLS_LOG_LEVEL": "INFO",
                "POWERTOOLS_SERVICE_NAME": f"lakebox-{component}"}

    # -- storage ------------------------------------------------------------------------------------------------

    @property
    def buckets(self) -> list[str]:
        return [self.names.raw_bucket, self.names.processed_bucket, self.names.quarantine_bucket]

    @property
    def versioned_buckets(self) -> list[str]:
        # Raw files are never lost: an overwritten raw key keeps its earlier version (and its own outcome).
        return [self.names.raw_bucket]

    @property
    def table(self) -> dict[str, Any]:
        """create_table arguments of the metadata table, including the sparse index `lakebox status` reads."""
        return {
            "TableName": self.names.metadata_table,
            "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"}
                                     for name in ("ProcessId", "Timestamp", "Pipeline", "RawKey")],
            "KeySchema": [{"AttributeName": "ProcessId", "KeyType": "HASH"},
                          {"AttributeName": "Timestamp", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [{
                "IndexName": STATUS_INDEX,
                "KeySchema": [{"AttributeName": "Pipeline", "KeyType": "HASH"},
                              {"AttributeName": "RawKey", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            "BillingMode": "PAY_PER_REQUEST",
        }

    # -- functions and their least-privilege roles (see :mod:`lakebox_infra.function_specs`) --------------------

    def function_basics(self, component: str) -> list[dict[str, Any]]:
        """What every function may do: write its own log group, send traces, and put an asynchronous invocation's
        failure in the dead-letter queue (its on-failure destination is written with the function's role)."""
        log_group = f"log-group:/aws/lambda/{self.names.function(component)}"
        return [
            allow(["logs:CreateLogGroup"], [self.arn("logs", f"{log_group}:*")]),
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [self.arn("logs", f"{log_group}:log-stream:*")]),
            # X-Ray has no resource-level permissions: AWS requires "*" for tracing (Mode=Active).
            allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
            allow(["sqs:SendMessage"], [self.dead_letter_arn]),
        ]

    @property
    def functions(self) -> list[FunctionSpec]:
        """The pipeline's stages in order, then the stream batcher."""
        return function_specs.functions(self)

    @property
    def stage_functions(self) -> dict[Stage, FunctionSpec]:
        """The functions that run a pipeline stage, each reading its queue."""
        return {f.stage: f for f in self.functions if f.stage is not None}

    # -- the stream entry point (see :mod:`lakebox_infra.stream`) -------------------------------------------------

    @property
    def stream(self) -> StreamSpec:
        return stream.spec(self)

    # -- events -------------------------------------------------------------------------------------------------

    @property
    def rules(self) -> list[RuleSpec]:
        names = self.names
        return [
            RuleSpec(
                name=names.rule("ingestion"),
                pattern={"source": [EVENT_SOURCE_INGESTION], "detail-type": [DETAIL_DATA_RECEIVED]},
                target_arn=self.stage_queue_arn(Stage.VALIDATION), target_id="validation",
                dead_letter_arn=self.dead_letter_arn,
            ),
            RuleSpec(
                name=names.rule("validation"),
                pattern={"source": [EVENT_SOURCE_VALIDATION], "detail-type": [DETAIL_DATA_VALIDATED]},
                target_arn=self.stage_queue_arn(Stage.QUALITY), target_id="quality",
                dead_letter_arn=self.dead_letter_arn,
            ),
            # Only processed files have rows to curate.
            RuleSpec(
                name=names.rule("curation"),
                pattern={"source": [EVENT_SOURCE_VALIDATION], "detail-type": [DETAIL_DATA_VALIDATED],
                         "detail": {"status": [FileStatus.PROCESSED.value]}},
                target_arn=self.stage_queue_arn(Stage.CURATION), target_id="curation",
                dead_letter_arn=self.dead_letter_arn,
            ),
            # The recipe's quality rule had no target: its events now land in a queue that consumers (alerting,
            # downstream jobs, `lakebox` itself) read.
            RuleSpec(
                name=names.rule("quality"),
                pattern={"source": [EVENT_SOURCE_QUALITY], "detail-type": [DETAIL_QUALITY_COMPLETE]},
                target_arn=self.queue_arn, target_id="quality-events", dead_letter_arn=self.dead_letter_arn,
            ),
        ]

    def _events_may_send(self, queue_arn: str, *rules: str) -> dict[str, Any]:
        return policy({
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": [self.rule_arn(rule) for rule in rules]}},
        })

    @property
    def quality_queue_policy(self) -> dict[str, Any]:
        return self._events_may_send(self.queue_arn, self.names.rule("quality"))

    @property
    def ingestion_queue_policy(self) -> dict[str, Any]:
        """S3 may send the raw bucket's notifications, and nothing else may."""
        return policy({
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": self.stage_queue_arn(Stage.INGESTION),
            "Condition": {"ArnLike": {"aws:SourceArn": self.bucket_arn(self.names.raw_bucket)},
                          "StringEquals": {"aws:SourceAccount": self.names.account}},
        })

    @property
    def dead_letter_queue_policy(self) -> dict[str, Any]:
        """EventBridge may send failed deliveries of the pipeline's rules here; the stage queues move messages here
        by their redrive policy, which needs no grant."""
        return self._events_may_send(self.dead_letter_arn, *(r.name for r in self.rules))

    @property
    def queues(self) -> dict[str, QueueSpec]:
        """Every queue: the dead-letter queue first (the others name it), the stage queues, the quality events."""
        names = self.names
        functions = self.stage_functions
        stage_policies = {
            Stage.INGESTION: self.ingestion_queue_policy,
            Stage.VALIDATION: self._events_may_send(self.stage_queue_arn(Stage.VALIDATION), names.rule("ingestion")),
            Stage.QUALITY: self._events_may_send(self.stage_queue_arn(Stage.QUALITY), names.rule("validation")),
            Stage.CURATION: self._events_may_send(self.stage_queue_arn(Stage.CURATION), names.rule("curation")),
        }
        queues = {names.dead_letter_queue: QueueSpec(names.dead_letter_queue, self.dead_letter_queue_policy)}
        for stage, queue_policy in stage_policies.items():
            spec = functions[stage]
            queues[names.stage_queue(stage.value)] = QueueSpec(
                names.stage_queue(stage.value), queue_policy, spec.visibility_timeout, self.dead_letter_arn)
        queues[names.quality_events_queue] = QueueSpec(names.quality_events_queue, self.quality_queue_policy)
        return queues

    def tls_only_policy(self, bucket: str) -> dict[str, Any]:
        """Refuse any request to the bucket that does not use TLS."""
        return policy({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",  # AWS requires a principal; "*" is every caller, which is the point of a deny
            "Action": "s3:*",  # likewise every action: no request without TLS
            "Resource": [self.bucket_arn(bucket), self.bucket_arn(bucket, "*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })

    @property
    def raw_notification(self) -> dict[str, Any]:
        return {"QueueConfigurations": [{
            "Id": "lakebox-ingestion",
            "QueueArn": self.stage_queue_arn(Stage.INGESTION),
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": INPUT_PREFIX}]}},
        }]}

    @property
    def operator_policy(self) -> dict[str, Any]:
        """What `lakebox` itself needs (see :mod:`lakebox_infra.operator_access`)."""
        return operator_access.operator_policy(self)

    # -- monitoring (see :mod:`lakebox_infra.observability`) ---------------------------------------------------

    @property
    def alerts_topic(self) -> str:
        return observability.alerts_topic(self)

    @property
    def alerts_topic_arn(self) -> str:
        return self.arn("sns", self.alerts_topic)

    @property
    def alarms(self) -> list[dict[str, Any]]:
        return observability.alarms(self)

    @property
    def dashboard(self) -> str:
        return observability.dashboard(self)

    @property
    def dashboard_body(self) -> dict[str, Any]:
        return observability.dashboard_body(self)
