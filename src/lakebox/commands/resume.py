"""`lakebox resume`: close a stage's circuit and restore its mapping, whoever opened it."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.health.pausing import STAGE_NAMES, controls_of, mapped_stage, resume_stage
from lakebox.health.render import resume_lines
from lakebox.lake.target import Target


def resume(
    stage: Annotated[str, typer.Argument(metavar="STAGE", help=f"one of {STAGE_NAMES}")],
    json_output: JsonOption = False,
) -> None:
    """Resume a stage: its circuit closed, its mapping enabled with its declared batch size and concurrency."""
    chosen = mapped_stage(stage, "resume")
    store, control = controls_of(Target.resolve())
    change = resume_stage(store, control, chosen, time.time())
    for problem in change.unpublished:
        common.say(f"warning: done, but its alert was not published ({problem})")
    if json_output:
        common.print_json(change.health.to_json())
        return
    for line in resume_lines(change):
        common.out.print(line, markup=False, highlight=False, soft_wrap=True)
