"""The running pipeline as e2e tests drive it: boto3 calls, waits with deadlines, log and queue reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from typer.testing import Result

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.metadata import MetadataStore
from lakebox_layer.records import QualityTotals, RawObject
from lakebox_layer.settings import Settings
from lakebox_layer.status import FileRow
from tests.emulators import Emulator

DEADLINE_S = 60.0
# The CLI as the e2e fixtures `invoke` and `run` give it (tests/e2e/conftest.py): a result, or a successful stdout.
Invoke = Callable[..., Result]
Run = Callable[..., str]
STAGE_QUEUES = ("ingestion", "validation", "quality", "curation")


def topology_of(target: Target) -> Topology:
    """The topology the session's lake is provisioned with: the settings the environment asks for, and the healer's
    schedule disabled (a test that breaks a stage on purpose must not have its circuit opened behind the next test's
    back; the healer's own test runs it itself, tests/e2e/test_self_healing.py). What a test re-provisions with, so
    it changes nothing it did not mean to."""
    return Topology(target.names, settings_overrides={**Settings.bootstrap_overrides(), "healer": False})


@dataclass
class Lake:
    """The running pipeline and the helpers tests use to drive it through boto3."""

    target: Target
    emulator: Emulator

    @property
    def names(self) -> Any:
        return self.target.names

    @property
    def topology(self) -> Topology:
        return topology_of(self.target)

    @property
    def s3(self) -> Any:
        return self.target.clients.s3

    def cli_environment(self) -> dict[str, str]:
        """What the CLI needs to find this emulator: the state `up` records, or else the endpoint."""
        if self.emulator.state_dir is not None:
            return {"LAKEBOX_STATE_DIR": str(self.emulator.state_dir)}
        return {"AWS_ENDPOINT_URL": self.emulator.endpoint}

    def client(self, service: str) -> Any:
        return self.target.session.client(service, region_name=self.target.region,  # type: ignore[call-overload]
                                          endpoint_url=self.target.endpoint)

    def put_raw(self, key: str, body: bytes) -> RawObject:
        """Upload through boto3 exactly as any producer would; the S3 notification does the rest."""
        bucket = self.names.raw_bucket
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return RawObject(bucket, key, response["ETag"].strip('"'), len(body), response.get("VersionId"))

    def outcome(self, raw: RawObject, deadline_s: float = DEADLINE_S) -> FileRow:
        rows = wait_for_outcomes(self.target, [raw], deadline_s=deadline_s)
        return rows[raw.process_id]

    def stage_records(self, process_id: str) -> list[dict[str, Any]]:
        return self.target.metadata.stage_records(process_id)

    def wait_for_stages(self, process_id: str, stages: set[str],
                        deadline_s: float = DEADLINE_S) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []

        def recorded() -> bool:
            nonlocal records
            records = self.stage_records(process_id)
            return stages <= {r["Stage"] for r in records}

        wait_until(recorded, deadline_s=deadline_s, what=f"stage records {sorted(stages)} of {process_id}",
                   on_timeout=lambda: f"; found {sorted(r['Stage'] for r in records)}")
        return records

    def send(self, stage: str, body: dict[str, Any]) -> None:
        """Deliver a message to a stage's queue, exactly as S3 or EventBridge would."""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=self.names.stage_queue(stage))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    def log_lines(self, stage: str, correlation_id: str) -> list[dict[str, Any]]:
        """The JSON log lines a stage's function wrote for one process id."""
        logs = self.client("logs")
        group = f"/aws/lambda/{self.names.function(stage)}"
        found = []
        try:
            pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
            streams = [stream for page in pages for stream in page["logStreams"]]
        except logs.exceptions.ResourceNotFoundException:
            return []
        for stream in streams:
            events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"],
                                         startFromHead=True)["events"]
            for event in events:
                if event["message"].startswith("{"):
                    entry = json.loads(event["message"])
                    if entry.get("correlation_id") == correlation_id:
                        found.append(entry)
        return found

    def wait_for_log(self, stage: str, correlation_id: str, message: str, count: int = 1) -> list[dict[str, Any]]:
        lines: list[dict[str, Any]] = []

        def logged() -> bool:
            nonlocal lines
            lines = [e for e in self.log_lines(stage, correlation_id) if e.get("message") == message]
            return len(lines) >= count

        wait_until(logged, deadline_s=DEADLINE_S, interval_s=0.3,
                   what=f"{count} '{message}' log line(s) of the {stage} function for {correlation_id}",
                   on_timeout=lambda: f"; found {len(lines)}")
        return lines

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def wait(self, check: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
        wait_until(check, deadline_s=deadline_s, what=what, interval_s=0.2)

    def totals(self) -> QualityTotals:
        """The pipeline's running quality totals, as the quality stage keeps them."""
        return MetadataStore(self.target.clients.dynamodb, self.names.metadata_table).totals(self.target.project)

    def in_flight(self) -> dict[str, int]:
        """Messages waiting in or being handled from each stage queue."""
        sqs = self.client("sqs")
        counts = {}
        for stage in STAGE_QUEUES:
            url = sqs.get_queue_url(QueueName=self.names.stage_queue(stage))["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            counts[stage] = sum(int(value) for value in attributes.values())
        return counts

    def wait_until_idle(self, deadline_s: float = DEADLINE_S) -> None:
        """Wait until no stage queue holds a message, so pipeline-wide figures stand still."""
        counts: dict[str, int] = {}

        def idle() -> bool:
            nonlocal counts
            counts = self.in_flight()
            return not any(counts.values())

        wait_until(idle, deadline_s=deadline_s, interval_s=0.2, what="every stage queue to be empty",
                   on_timeout=lambda: f"; still in flight: {counts}")


def subscribe_queue(sqs: Any, sns: Any, topic_arn: str, name: str) -> str:
    """A queue subscribed to the topic (raw delivery: each message is the event)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": arn}]})})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return str(url)
