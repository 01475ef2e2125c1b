"""The stream batcher: one shard's Kinesis records in, JSON Lines raw files (poison records set aside) out; a failure
returns the whole batch, written again create-once (see lakebox_layer.stages.batcher)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.registry import Stage
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batch import StageHealth
from lakebox_layer.stages.batcher import StreamBatcher

logger = stage_logger("batcher")
settings = Settings.from_env()
batcher = StreamBatcher.from_settings(settings, logger)
health = StageHealth.from_settings(settings, Stage.BATCHER)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    outcome = health.stream_batch(event, batcher.batch, logger)
    logger.info("stream batch done", extra={
        "shard": outcome.shard, "written": len(outcome.written), "found": len(outcome.found),
        "records": outcome.records, "poison": outcome.poison, "committed": outcome.committed,
        "resumed": outcome.resumed})
