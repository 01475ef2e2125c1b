"""Lambda, SQS, SNS and CloudWatch as the healer and `lakebox pause`/`resume` use them: a stage's event source
mapping paused and enabled, how many messages wait, whether its function starts and its code version, its dead
letters sent back, the alerts topic, the circuit states' metric, and the probes of a dependency.

Pausing a mapping stops the function taking work: its messages wait in the queue (none reaches the dead-letter queue
for want of a consumer), a stream's records wait at the mapping's position. On AWS a mapping passes through
Disabling and Enabling for some seconds; the emulator's changes at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.dead_letters import DeadLetters, Redriven
from lakebox_layer.adapters.errors import error_code
from lakebox_layer.adapters.metrics import NAMESPACE, publish_circuit_states
from lakebox_layer.circuits import Alert
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.registry import Stage
from lakebox_layer.settings import Settings

# SQS mappings take a maximum concurrency of 2 at least.
MIN_SQS_CONCURRENCY = 2


class ControlError(LakeboxError):
    """A stage's mapping, queue or the alerts topic could not be read or changed."""


class PipelineControl:
    """The stages' mappings and queues, and the alerts topic (`topic_arn`; None: alerts are logged only)."""

    def __init__(self, clients: AwsClients, settings: Settings, topic_arn: str | None = None) -> None:
        self._clients = clients
        self._settings = settings
        self.topic_arn = topic_arn
        self._queue_urls: dict[str, str] = {}
        self._dead_letters: DeadLetters | None = None

    def _mapping(self, stage: Stage) -> dict[str, Any]:
        function = self._settings.function(stage.value)
        try:
            mappings = self._clients.client("lambda").list_event_source_mappings(
                FunctionName=function).get("EventSourceMappings", [])
        except ClientError as error:
            raise ControlError(f"listing the mappings of {function}: {error_code(error)}") from error
        if not mappings:
            raise ControlError(f"{function} has no event source mapping: provision the pipeline first")
        return dict(mappings[0])

    def enabled(self, stage: Stage) -> bool:
        """Whether the stage's mapping is taking work (or about to)."""
        return self._mapping(stage).get("State") in ("Enabled", "Enabling", "Creating", "Updating")

    def pause(self, stage: Stage) -> None:
        """Disable the stage's mapping: its messages wait."""
        self._update(stage, Enabled=False)

    def enable(self, stage: Stage, batch_size: int | None = None, concurrency: int | None = None) -> None:
        """Enable the stage's mapping, with this batch size and maximum concurrency where given (a queue's)."""
        changes: dict[str, Any] = {"Enabled": True}
        if stage.spec.reads_queue:
            if batch_size is not None:
                changes["BatchSize"] = batch_size
            if concurrency is not None:
                changes["ScalingConfig"] = {"MaximumConcurrency": max(MIN_SQS_CONCURRENCY, concurrency)}
        self._update(stage, **changes)

    def restore(self, stage: Stage) -> None:
        """Enable the stage's mapping with its declared batch size and concurrency."""
        self.enable(stage, stage.spec.batch_size, stage.spec.concurrency)

    def _update(self, stage: Stage, **changes: Any) -> None:
        mapping = self._mapping(stage)
        try:
            self._clients.client("lambda").update_event_source_mapping(UUID=mapping["UUID"], **changes)
        except ClientError as error:
            raise ControlError(f"changing the mapping of {self._settings.function(stage.value)}: "
                               f"{error_code(error)}") from error

    def code_version(self, stage: Stage) -> str | None:
        """The function's deployed code (its CodeSha256): a new one closes a circuit opened for its code."""
        function = self._settings.function(stage.value)
        try:
            found = self._clients.client("lambda").get_function_configuration(FunctionName=function)
        except ClientError as error:
            raise ControlError(f"reading {function}: {error_code(error)}") from error
        return str(found.get("CodeSha256") or "") or None

    def waiting(self, stage: Stage) -> int | None:
        """Messages in the stage's queue, visible or being handled; None for a stage without a queue."""
        if not stage.spec.reads_queue:
            return None
        return self._messages(self._settings.stage_queue(stage.value))

    def in_flight(self, stage: Stage) -> int:
        """Messages of the stage's queue received and not yet deleted (0 for a stage without a queue)."""
        if not stage.spec.reads_queue:
            return 0
        return self._messages(self._settings.stage_queue(stage.value), ("ApproximateNumberOfMessagesNotVisible",))

    def start_failure(self, stage: Stage) -> str | None:
        """Whether the stage's function runs at all: invoked with an empty batch (which reads and writes nothing),
        None when it answers, else its error's type and message (a broken package fails so before any file)."""
        function = self._settings.function(stage.value)
        try:
            answer = self._clients.client("lambda").invoke(FunctionName=function, Payload=b'{"Records": []}')
        except ClientError as error:
            raise ControlError(f"invoking {function}: {error_code(error)}") from error
        if "FunctionError" not in answer:
            return None
        try:
            failure = json.loads(answer["Payload"].read() or b"null")
        except ValueError:
            failure = None
        if not isinstance(failure, dict):
            return str(answer["FunctionError"])
        return f"{failure.get('errorType', answer['FunctionError'])}: {str(failure.get('errorMessage', ''))[:200]}"

    def dead_letters(self) -> int:
        """Messages in the pipeline's dead-letter queue (shared by every stage)."""
        return self._messages(self._settings.dead_letter_queue)

    def _messages(self, queue: str, attributes: tuple[str, ...] = (
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")) -> int:
        try:
            found = self._clients.client("sqs").get_queue_attributes(
                QueueUrl=self._url(queue), AttributeNames=list(attributes))["Attributes"]
        except ClientError as error:
            raise ControlError(f"reading queue {queue}: {error_code(error)}") from error
        return sum(int(value) for value in found.values())

    def _url(self, queue: str) -> str:
        """A queue's URL by its name; it never changes, so it is asked once per instance."""
        if queue not in self._queue_urls:
            self._queue_urls[queue] = self._clients.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]
        return self._queue_urls[queue]

    def redrive(self, stage: Stage) -> Redriven:
        """Send the stage's dead letters back to its queue (see :mod:`lakebox_layer.adapters.dead_letters`)."""
        if not stage.spec.reads_queue:
            return Redriven()
        if self._dead_letters is None:
            self._dead_letters = DeadLetters(self._clients.client("sqs"), self._settings.dead_letter_queue, self._url)
        return self._dead_letters.redrive(self._settings.stage_queue(stage.value))

    def report(self, states: Mapping[str, str]) -> None:
        """Each stage's circuit state as a metric, for the dashboard."""
        publish_circuit_states(self._clients.cloudwatch, self._settings.project, states)

    def publish(self, alert: Alert, waiting: int | None) -> bool:
        """Publish a change of a circuit's state to the alerts topic; False where there is no topic."""
        if self.topic_arn is None:
            return False
        message = alert_message(alert, waiting)
        subject = f"lakebox {alert.stage} {'still ' if alert.persistent else ''}{alert.state.value}"
        try:
            self._clients.client("sns").publish(TopicArn=self.topic_arn, Subject=subject[:100],
                                                Message=json.dumps(message))
        except ClientError as error:
            raise ControlError(f"publishing to {self.topic_arn}: {error_code(error)}") from error
        return True

    def probe(self, dependency: str | None) -> bool:
        """Whether the dependency answers one harmless read. A dependency without a probe here (or none) counts as
        answering: the stage's own small batch, half-open, is then the probe."""
        probe = _PROBES.get(dependency or "")
        if probe is None:
            return True
        try:
            probe(self._clients, self._settings)
        except (ClientError, BotoCoreError, OSError):
            return False
        return True


def alert_message(alert: Alert, waiting: int | None) -> dict[str, Any]:
    """An alert as the topic's subscribers get it."""
    return {"source": "lakebox.healer", "stage": alert.stage, "state": alert.state.value,
            "class": alert.failure_class, "dependency": alert.dependency, "reason": alert.reason,
            "persistent": alert.persistent, "files_waiting": waiting}


_PROBES: Mapping[str, Callable[[AwsClients, Settings], object]] = {
    "s3": lambda c, s: c.s3.head_bucket(Bucket=s.processed_bucket),
    "dynamodb": lambda c, s: c.dynamodb.describe_table(TableName=s.metadata_table),
    "glue": lambda c, s: c.glue.get_tables(DatabaseName=s.glue_database, MaxResults=1),
    "kms": lambda c, s: c.kms.describe_key(KeyId=s.pii_key_alias),
    "events": lambda c, s: c.events.describe_event_bus(Name=s.event_bus),
    "cloudwatch": lambda c, s: c.cloudwatch.list_metrics(Namespace=NAMESPACE),
}
