"""Ingestion: S3 notification in, one "Data Received" event per raw object out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.notifications import objects_created
from lakebox_layer.pipeline import Pipeline
from lakebox_layer.settings import Settings

logger = stage_logger("ingestion")
pipeline = Pipeline.from_settings(Settings.from_env(), logger)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Handle every record; one that fails makes the event retry, and the others are then deduplicated."""
    return {"ingested": pipeline.ingest_all(objects_created(event))}
