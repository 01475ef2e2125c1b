"""`lakebox pause`: open a stage's circuit by hand; its messages wait in its queue until `lakebox resume`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.health.pausing import PAUSED_BY_HAND, STAGE_NAMES, controls_of, mapped_stage, pause_stage
from lakebox.health.render import pause_line
from lakebox.lake.target import Target


def pause(
    stage: Annotated[str, typer.Argument(metavar="STAGE", help=f"one of {STAGE_NAMES}")],
    reason: Annotated[str | None, typer.Option(help=f"why, for `lakebox health` and the alert (default: "
                                                    f"{PAUSED_BY_HAND})")] = None,
    json_output: JsonOption = False,
) -> None:
    """Pause a stage: its mapping stops taking work and its messages wait; the healer never resumes it by itself."""
    chosen = mapped_stage(stage, "pause")
    store, control = controls_of(Target.resolve())
    now = time.time()
    change = pause_stage(store, control, chosen, reason or PAUSED_BY_HAND, now)
    for problem in change.unpublished:
        common.say(f"warning: done, but its alert was not published ({problem})")
    if json_output:
        common.print_json(change.health.to_json())
    else:
        common.out.print(pause_line(change, now), markup=False, highlight=False, soft_wrap=True)
