"""SQS: a stage's share of the pipeline's dead-letter queue sent back to the stage's queue when its circuit closes.

The dead-letter queue is shared by every stage; SQS names the queue each dead letter came from
(`DeadLetterQueueSourceArn`, which the emulator sets too). The healer sends a stage's dead letters back to its queue,
counting on each how often it did (the message attribute `lakebox-redrives`); one it already sent back
`MAX_REDRIVES` times is parked instead: put back in the dead-letter queue with the reason (`lakebox-parked`) and its
source (`lakebox-source`), where the healer leaves it for a person (`lakebox redrive` replays it). The other stages'
dead letters it reads are made visible again at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import LakeboxError

# The healer sends one dead letter back this many times at most (one per incident that closes), then parks it.
MAX_REDRIVES = 3
# At most this many dead letters are read in one run (the rest wait for the next incident or `lakebox redrive`).
MAX_READ = 100
REDRIVES = "lakebox-redrives"
PARKED = "lakebox-parked"
SOURCE = "lakebox-source"
SOURCE_ARN = "DeadLetterQueueSourceArn"
# Long enough to decide on a message, short enough that another stage's dead letters are not held up for long.
_HOLD_S = 60


class DeadLetterError(LakeboxError):
    """The dead-letter queue or a stage's queue could not be read or written."""


@dataclass(frozen=True)
class Redriven:
    """What one redrive did: dead letters sent back to the stage's queue, and parked."""

    sent: int = 0
    parked: int = 0


class DeadLetters:
    """The pipeline's dead-letter queue (`queue`, by name) on an SQS client; `url` gives a queue's URL by its name
    (the caller's, which keeps them)."""

    def __init__(self, sqs: Any, queue: str, url: Callable[[str], str]) -> None:
        self._sqs = sqs
        self.queue = queue
        self._url = url
        self._arns: dict[str, str] = {}

    def redrive(self, stage_queue: str) -> Redriven:
        """Send the dead letters that came from `stage_queue` (by name) back to it, parking each one sent back
        `MAX_REDRIVES` times already."""
        try:
            url, target = self._url(self.queue), self._url(stage_queue)
            if stage_queue not in self._arns:  # a queue's ARN never changes: asked once per instance
                self._arns[stage_queue] = self._sqs.get_queue_attributes(
                    QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            return self._redrive(url, target, self._arns[stage_queue])
        except ClientError as error:
            raise DeadLetterError(f"redriving the dead letters of {stage_queue}: {error_code(error)}") from error

    def _redrive(self, url: str, target: str, source: str) -> Redriven:
        sent = parked = read = 0
        others: list[str] = []
        while read < MAX_READ:
            messages = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=_HOLD_S, WaitTimeSeconds=0,
                MessageSystemAttributeNames=[SOURCE_ARN], MessageAttributeNames=["All"]).get("Messages", [])
            if not messages:
                break
            read += len(messages)
            for message in messages:
                attributes = message.get("MessageAttributes", {})
                came_from = message.get("Attributes", {}).get(SOURCE_ARN) or _text(attributes.get(SOURCE))
                if came_from != source or PARKED in attributes:
                    others.append(message["ReceiptHandle"])
                    continue
                redrives = int(_text(attributes.get(REDRIVES)) or 0)
                if redrives >= MAX_REDRIVES:
                    reason = f"sent back to its queue {redrives} times by the healer and failed each time"
                    self._sqs.send_message(QueueUrl=url, MessageBody=message["Body"], MessageAttributes={
                        **attributes, PARKED: _string(reason), SOURCE: _string(source)})
                    parked += 1
                else:
                    self._sqs.send_message(QueueUrl=target, MessageBody=message["Body"], MessageAttributes={
                        **attributes, REDRIVES: {"DataType": "Number", "StringValue": str(redrives + 1)}})
                    sent += 1
                self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        for start in range(0, len(others), 10):
            self._sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for n, handle in enumerate(others[start:start + 10])])
        return Redriven(sent, parked)


def _text(attribute: dict[str, Any] | None) -> str | None:
    return None if attribute is None else attribute.get("StringValue")


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}
