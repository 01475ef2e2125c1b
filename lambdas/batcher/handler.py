"""The stream batcher: a batch of one shard's Kinesis records in, JSON Lines raw files (and poison records set aside)
out. It never reports partial batch failures: a failure returns the whole batch, which is written again create-once
(see lakebox_layer.stages.batcher)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batcher import StreamBatcher

logger = stage_logger("batcher")
batcher = StreamBatcher.from_settings(Settings.from_env(), logger)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    outcome = batcher.batch(event)
    logger.info("stream batch done", extra={
        "shard": outcome.shard, "written": len(outcome.written), "found": len(outcome.found),
        "records": outcome.records, "poison": outcome.poison, "committed": outcome.committed,
        "resumed": outcome.resumed})
