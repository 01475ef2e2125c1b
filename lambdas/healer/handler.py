"""The healer: once a minute, every mapped stage's health counters to its circuit, and what the circuit asks done
(see lakebox_layer.stages.healer)."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import stage_logger
from lakebox_layer.settings import ALERTS_TOPIC_ENV, Settings
from lakebox_layer.stages.healer import Healed, Healer, Unhealed

logger = stage_logger("healer")
healer = Healer.from_settings(Settings.from_env(), logger, os.environ.get(ALERTS_TOPIC_ENV))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    healed = healer.heal(time.time())
    circuits = {h.stage.value: h.decision.circuit.state.value for h in healed if isinstance(h, Healed)}
    failed = {h.stage.value: h.error for h in healed if isinstance(h, Unhealed)}
    logger.info("healer run done", extra={"circuits": circuits, "failed": failed})
    return {"circuits": circuits, "failed": failed}
