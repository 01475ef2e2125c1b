"""`lakebox health`: each mapped stage's circuit, what waits in its queue, and the shared dead-letter queue."""

from __future__ import annotations

import time

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.health.model import read_health, store_of
from lakebox.health.render import health_table
from lakebox.lake.target import Target
from lakebox_layer.adapters.control import PipelineControl


def health(json_output: JsonOption = False) -> None:
    """One row per stage a circuit can pause: closed, open or half-open, since when, why, and what waits."""
    target = Target.resolve()
    entries = read_health(store_of(target), PipelineControl(target.clients, target.settings))
    if json_output:
        common.print_json([entry.to_json() for entry in entries])
    else:
        common.out.print(health_table(entries, time.time()))
