"""SQS: a failed message's next try, sooner than its queue's visibility timeout and later each time (backoff).

A stage queue's visibility timeout is long (several times the function's time limit), so a message whose file
failed would wait that long before its next try. Its visibility is set instead to BACKOFF_BASE_S doubled on each
receive, up to BACKOFF_MAX_S: with the queue's five receives, a file failing for a dependency keeps trying for some
eight minutes before the dead-letter queue, time enough for the healer to open the stage's circuit (which pauses
the queue: a waiting message is never received, so it never reaches the dead-letter queue for the outage).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import LakeboxError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

BACKOFF_BASE_S = 30
BACKOFF_MAX_S = 900


def backoff_s(receives: int) -> int:
    """Seconds until the next try of a message received `receives` times (1 on its first failure)."""
    return int(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** max(0, receives - 1)))


class RetryError(LakeboxError):
    """A failed message's visibility could not be changed (it then waits for its queue's visibility timeout)."""


class QueueRetries:
    """Sets failed messages' visibility for their next try."""

    def __init__(self, sqs: SQSClient) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}

    def later(self, failed: Sequence[tuple[str, str, int]]) -> None:
        """Each failed message (its queue's ARN, its receipt handle, how many times it was received) tried again
        after its backoff: one call each (a batch's failures are few; the batch call is authorized as an action of
        its own by some emulators, as the single one everywhere)."""
        for queue_arn, receipt, receives in failed:
            try:
                self._sqs.change_message_visibility(QueueUrl=self._url(queue_arn), ReceiptHandle=receipt,
                                                    VisibilityTimeout=backoff_s(receives))
            except ClientError as error:
                raise RetryError(f"changing visibility in {queue_arn}: {error_code(error)}") from error

    def _url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            *_, account, name = queue_arn.split(":")
            try:
                self._urls[queue_arn] = self._sqs.get_queue_url(QueueName=name,
                                                                QueueOwnerAWSAccountId=account)["QueueUrl"]
            except ClientError as error:
                raise RetryError(f"finding queue {name}: {error_code(error)}") from error
        return self._urls[queue_arn]
