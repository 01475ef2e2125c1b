"""JSON logs with the process id as correlation id (Powertools Logger), and SQS batches whose failed records are
logged before they return to their queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo


def stage_logger(stage: str) -> Logger:
    return Logger(service=f"lakebox-{stage}")


class LoggedBatchProcessor(BatchProcessor):
    """Partial batch failures for a stage queue. Each failed record is logged with its traceback: otherwise it would
    come back after the visibility timeout with nothing saying why."""

    def __init__(self, logger: Logger) -> None:
        super().__init__(event_type=EventType.SQS)
        self.stage_logger = logger

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        self.stage_logger.error("processing failed; the message returns to its queue", exc_info=exception[1],
                                extra={"message_id": getattr(record, "message_id", None)})
        return super().failure_handler(record, exception)
