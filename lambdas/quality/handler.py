"""Quality: "Data Validated" from the quality queue in, CloudWatch metrics and "Quality Check Complete" out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.queues import event_detail
from lakebox_layer.records import DataValidated
from lakebox_layer.registry import Stage
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batch import StageHealth, one_file, sqs_batch_response
from lakebox_layer.stages.quality import Quality

logger = stage_logger("quality")
settings = Settings.from_env()
quality = Quality.from_settings(settings, logger)
health = StageHealth.from_settings(settings, Stage.QUALITY)


def validated(body: str) -> DataValidated:
    return DataValidated.from_detail(event_detail(body))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs_batch_response(event, validated, quality.assess_all, logger, one_file, health)
