"""Ingestion: S3 notifications from the ingestion queue in, one "Data Received" event per raw object out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import LoggedBatchProcessor, stage_logger
from lakebox_layer.notifications import objects_created
from lakebox_layer.queues import message_json
from lakebox_layer.settings import Settings
from lakebox_layer.stages.ingestion import Ingestion

logger = stage_logger("ingestion")
ingestion = Ingestion.from_settings(Settings.from_env(), logger)
processor = LoggedBatchProcessor(logger)


def ingest(record: SQSRecord) -> None:
    ingestion.ingest_all(objects_created(message_json(record.body)))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Only the messages that failed come back to the queue; the others are done."""
    return process_partial_response(event=event, record_handler=ingest, processor=processor, context=context)
