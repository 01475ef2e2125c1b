"""Ingestion: S3 notifications in, one "Data Received" per raw object out; failed messages return to the queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.notifications import ObjectCreated, created_files, objects_created
from lakebox_layer.queues import message_json
from lakebox_layer.registry import Stage
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batch import StageHealth, sqs_batch_response
from lakebox_layer.stages.ingestion import Ingestion

logger = stage_logger("ingestion")
settings = Settings.from_env()
ingestion = Ingestion.from_settings(settings, logger)
health = StageHealth.from_settings(settings, Stage.INGESTION)


def notification(body: str) -> list[ObjectCreated]:
    return objects_created(message_json(body))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs_batch_response(event, notification, ingestion.ingest_batch, logger, created_files, health)
