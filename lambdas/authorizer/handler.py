"""The ingestion API's authorizer: a request's bearer key to its producer, as the context the API's function reads
(see lakebox_layer.stages.api). The key is never logged."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.settings import Settings
from lakebox_layer.stages.authorizer import Authorizer

logger = stage_logger("authorizer")
authorizer = Authorizer.from_settings(Settings.from_env(), logger)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorizer.answer(event)
