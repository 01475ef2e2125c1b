"""Quality: "Data Validated" in, CloudWatch metrics and "Quality Check Complete" out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.pipeline import Pipeline
from lakebox_layer.records import DataValidated
from lakebox_layer.settings import Settings

logger = stage_logger("quality")
pipeline = Pipeline.from_settings(Settings.from_env(), logger)


@logger.inject_lambda_context(correlation_id_path="detail.process_id")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    totals = pipeline.assess_quality(DataValidated.from_detail(EventBridgeEvent(event).detail))
    return {"files": totals.files if totals else None}
