"""The ingestion API's function: a producer's records to the ingest stream, a presigned URL for a file, a file's
status (see lakebox_layer.stages.api). Neither the key nor the body is ever logged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.settings import Settings
from lakebox_layer.stages.api import IngestApi

logger = stage_logger("api")
api = IngestApi.from_settings(Settings.from_env(), logger)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(event)
