"""The whole topology as data: names, policies, event rules, triggers, derived from the resource names and the
stage registry (:mod:`lakebox_layer.registry`). No AWS calls here.

Each stage of the registry gets its function and role (:mod:`lakebox_infra.function_specs`), and, as its
declaration says, its queue (fed by S3 notifications or by the rule that carries the event it consumes), its
mapping (batch size, concurrency) or the ingest stream's (:mod:`lakebox_infra.stream`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lakebox_infra import function_specs, observability, operator_access, personal_data, stream
from lakebox_infra.arns import Arns
from lakebox_infra.operator_access import ATHENA_RESULTS_PREFIX
from lakebox_infra.personal_data import KeySpec
from lakebox_infra.specs import (
    HANDLER,
    MAX_EVENT_AGE_S,
    RUNTIME,
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
from lakebox_layer.records import INPUT_PREFIX
from lakebox_layer.registry import QUALITY_COMPLETE, STAGES, Event, Feed, Stage, StageSpec
from lakebox_layer.settings import ALERTS_TOPIC_ENV, Settings

# How often the healer runs: a circuit's thresholds count in minutes (see lakebox_layer.circuits).
HEALER_RATE = "rate(1 minute)"

# Importers of the topology find the pieces it is built of here too.
__all__ = ["ATHENA_RESULTS_PREFIX", "HANDLER", "RUNTIME", "FunctionSpec", "QueueSpec", "RuleSpec", "Topology", "allow",
           "canonical", "partition", "policy", "trust"]

# The functions are invoked by their queues; any asynchronous invocation besides (by hand, by a future trigger) is
# retried twice, Lambda's maximum, and then lands in the dead-letter queue too.
ASYNC_RETRIES = 2
# Days S3 keeps query results, and multipart uploads never completed (a function that died mid-upload).
QUERY_RESULTS_DAYS = 7
INCOMPLETE_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class Topology(Arns):
    """Everything bootstrap creates, derived from the resource names (and their ARNs, :class:`Arns`)."""

    # Added to, or overriding, the tags every taggable resource carries (see `resource_tags`).
    tags: dict[str, str] = field(default_factory=dict)
    # Settings other than the names' own: the stream bounds, the environment and the retention asked for (see
    # Settings.bootstrap_overrides).
    settings_overrides: dict[str, int | str] = field(default_factory=dict)

    @property
    def resource_tags(self) -> dict[str, str]:
        """The tags of every resource that takes tags: the project, that lakebox manages it, then `tags`."""
        return {"project": self.names.project, "managed-by": "lakebox", **self.tags}

    # -- settings the functions receive -------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return Settings.from_names(self.names, **self.settings_overrides)

    def function_environment(self, component: str) -> dict[str, str]:
        """The settings plus the logging level, set explicitly so no inherited LOG_LEVEL decides it, and what the
        stage's process needs (:attr:`StageSpec.environment`)."""
        environment = {**self.settings.function_environment(), "POWERTOOLS_LOG_LEVEL": "INFO",
                       "POWERTOOLS_SERVICE_NAME": f"lakebox-{component}", **STAGES[Stage(component)].environment}
        if component == Stage.HEALER.value:
            environment[ALERTS_TOPIC_ENV] = self.alerts_topic_arn
        return environment

    # -- storage ------------------------------------------------------------------------------------------------

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

    def lifecycle(self, bucket: str) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules: raw versions expire once overwritten (the current one stays), quarantined
        files with their reports after the retention asked for, query results after a week; and every bucket
        drops multipart uploads never completed."""
        names, settings = self.names, self.settings
        everything = {"Status": "Enabled", "Filter": {"Prefix": ""}}
        abort = {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS}
        rules: list[dict[str, Any]] = [{"ID": "abort-incomplete-uploads", **everything,
                                        "AbortIncompleteMultipartUpload": abort}]
        if bucket == names.raw_bucket:
            rules.append({"ID": "expire-overwritten-raw-versions", **everything,
                          "NoncurrentVersionExpiration": {"NoncurrentDays": settings.raw_noncurrent_days}})
        if bucket == names.quarantine_bucket:
            rules.append({"ID": "expire-quarantined-files", **everything,
                          "Expiration": {"Days": settings.quarantine_days}})
        if bucket == names.processed_bucket:
            rules.append({"ID": "expire-query-results", "Status": "Enabled",
                          "Filter": {"Prefix": f"{ATHENA_RESULTS_PREFIX}/"},
                          "Expiration": {"Days": QUERY_RESULTS_DAYS}})
        return rules

    @property
    def raw_notification(self) -> dict[str, Any]:
        """The raw bucket's notifications of new objects under input/, to the queue of the stage that reads them."""
        [reader] = [spec for spec in STAGES.values() if spec.consumes is Feed.RAW_NOTIFICATIONS]
        return {"QueueConfigurations": [{
            "Id": "lakebox-ingestion",
            "QueueArn": self.stage_queue_arn(reader.stage),
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": INPUT_PREFIX}]}},
        }]}

    # -- functions, their least-privilege roles and what invokes them -------------------------------------------

    @property
    def functions(self) -> list[FunctionSpec]:
        """One function per stage of the registry, in its order: the pipeline's stages, then the stream batcher."""
        return function_specs.functions(self)

    @property
    def stage_functions(self) -> dict[Stage, FunctionSpec]:
        """The functions that read a queue of their own (every stage but the stream batcher)."""
        return {f.stage: f for f in self.functions if f.queue is not None}

    def event_invoke_config(self, spec: FunctionSpec) -> dict[str, Any]:
        """put_function_event_invoke_config arguments: retries, maximum age, on-failure destination."""
        return {"FunctionName": spec.name, "MaximumRetryAttempts": ASYNC_RETRIES,
                "MaximumEventAgeInSeconds": MAX_EVENT_AGE_S,
                "DestinationConfig": {"OnFailure": {"Destination": self.dead_letter_arn}}}

    def event_source_mapping(self, spec: FunctionSpec) -> dict[str, Any]:
        """create_event_source_mapping arguments. A stage reads its queue in batches of its declared size, with its
        declared concurrency, reporting which records of a batch failed so only those come back; the batcher reads
        the ingest stream."""
        if spec.queue is None:
            return stream.event_source_mapping(self, self.settings, spec)
        declared = spec.declared
        return {"FunctionName": spec.name, "EventSourceArn": self.stage_queue_arn(spec.stage),
                "BatchSize": declared.batch_size, "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "ScalingConfig": {"MaximumConcurrency": declared.concurrency}}

    # -- the healer's schedule --------------------------------------------------------------------------------

    @property
    def healer_schedule(self) -> dict[str, Any]:
        """create_schedule arguments: the healer once a minute, invoked with the schedule's role; disabled where
        the `healer` setting is off."""
        names = self.names
        return {"Name": names.healer_schedule, "ScheduleExpression": HEALER_RATE,
                "FlexibleTimeWindow": {"Mode": "OFF"}, "State": "ENABLED" if self.settings.healer else "DISABLED",
                "Description": "lakebox: the stages' circuits, each minute",
                "Target": {"Arn": self.function_arn(names.function(Stage.HEALER.value)),
                           "RoleArn": self.role_arn(names.healer_schedule_role),
                           "RetryPolicy": {"MaximumRetryAttempts": 0}}}

    @property
    def healer_schedule_policy(self) -> dict[str, Any]:
        """The schedule's role may invoke the healer, and nothing else."""
        return policy(allow(["lambda:InvokeFunction"], [self.function_arn(self.names.function(Stage.HEALER.value))]))

    # -- the stream entry point (see :mod:`lakebox_infra.stream`) -------------------------------------------------

    @property
    def stream(self) -> StreamSpec:
        return stream.spec(self)

    # -- events -------------------------------------------------------------------------------------------------

    @property
    def rules(self) -> list[RuleSpec]:
        """The rule that feeds each stage consuming an event, then the one that hands the quality stage's events to
        the queue for consumers outside the pipeline (the "datalake.quality" rule of the Serverless Data Lake
        Architecture recipe, which had no target)."""
        names = self.names
        rules = [RuleSpec(name=names.rule(spec.rule), pattern=self._pattern(spec),
                          target_arn=self.stage_queue_arn(spec.stage), target_id=spec.name,
                          dead_letter_arn=self.dead_letter_arn)
                 for spec in STAGES.values() if spec.rule is not None]
        rules.append(RuleSpec(name=names.rule("quality"), pattern=_matching(QUALITY_COMPLETE),
                              target_arn=self.queue_arn, target_id="quality-events",
                              dead_letter_arn=self.dead_letter_arn))
        rules += self.notice_rules
        return rules

    @property
    def notice_rules(self) -> list[RuleSpec]:
        """A rule per notice a stage emits for people, to the alerts topic: "Sensitive Data Detected" tells a data
        steward of personal data a contract does not declare the moment it arrives."""
        return [RuleSpec(name=self.names.rule(_rule_word(notice)), pattern=_matching(notice),
                         target_arn=self.alerts_topic_arn, target_id="alerts", dead_letter_arn=self.dead_letter_arn)
                for spec in STAGES.values() for notice in spec.notices]

    @staticmethod
    def _pattern(spec: StageSpec) -> dict[str, Any]:
        assert isinstance(spec.consumes, Event)
        pattern = _matching(spec.consumes)
        if spec.only is not None:
            # Only files of that status have work for the stage (processed files have rows to curate).
            pattern["detail"] = {"status": [spec.only.value]}
        return pattern

    def _events_may_send(self, queue_arn: str, *rules: str) -> dict[str, Any]:
        return policy({
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": [self.rule_arn(rule) for rule in rules]}},
        })

    def _s3_may_send(self, queue_arn: str) -> dict[str, Any]:
        """S3 may send the raw bucket's notifications, and nothing else may."""
        return policy({
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": self.bucket_arn(self.names.raw_bucket)},
                          "StringEquals": {"aws:SourceAccount": self.names.account}},
        })

    def stage_queue_policy(self, spec: StageSpec) -> dict[str, Any]:
        """Who may send to the stage's queue: S3 for the raw notifications, else the rule that feeds it."""
        queue_arn = self.stage_queue_arn(spec.stage)
        if spec.rule is None:
            return self._s3_may_send(queue_arn)
        return self._events_may_send(queue_arn, self.names.rule(spec.rule))

    @property
    def dead_letter_queue_policy(self) -> dict[str, Any]:
        """EventBridge may send failed deliveries of the pipeline's rules here; the stage queues move messages here
        by their redrive policy, which needs no grant."""
        return self._events_may_send(self.dead_letter_arn, *(r.name for r in self.rules))

    @property
    def queues(self) -> dict[str, QueueSpec]:
        """Every queue: the dead-letter queue first (the others name it), the stage queues, the quality events."""
        names = self.names
        queues = {names.dead_letter_queue: QueueSpec(names.dead_letter_queue, self.dead_letter_queue_policy)}
        for stage, function in self.stage_functions.items():
            queues[names.stage_queue(stage.value)] = QueueSpec(
                names.stage_queue(stage.value), self.stage_queue_policy(STAGES[stage]), function.visibility_timeout,
                self.dead_letter_arn)
        queues[names.quality_events_queue] = QueueSpec(
            names.quality_events_queue, self._events_may_send(self.queue_arn, names.rule("quality")))
        return queues

    @property
    def operator_policy(self) -> dict[str, Any]:
        """What `lakebox` itself needs (see :mod:`lakebox_infra.operator_access`)."""
        return operator_access.operator_policy(self)

    @property
    def steward_policy(self) -> dict[str, Any]:
        """What the steward needs: the operator's, and decrypting personal data."""
        return operator_access.steward_policy(self)

    # -- personal data (see :mod:`lakebox_infra.personal_data`) ---------------------------------------------------

    @property
    def keys(self) -> list[KeySpec]:
        return personal_data.keys(self)

    # -- monitoring (see :mod:`lakebox_infra.observability`) ---------------------------------------------------

    @property
    def alarms(self) -> list[dict[str, Any]]:
        return observability.alarms(self)

    @property
    def alerts_topic_policy(self) -> dict[str, Any]:
        return observability.alerts_topic_policy(self, [rule.name for rule in self.notice_rules])

    @property
    def dashboard(self) -> str:
        return observability.dashboard(self)

    @property
    def dashboard_body(self) -> dict[str, Any]:
        return observability.dashboard_body(self)


def _rule_word(event: Event) -> str:
    """A rule's name for an event: its detail type in lowercase words ("sensitive-data-detected")."""
    return "-".join(event.detail_type.lower().split())


def _matching(event: Event) -> dict[str, Any]:
    """An event pattern that matches `event`."""
    return {"source": [event.source], "detail-type": [event.detail_type]}
