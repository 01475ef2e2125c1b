"""`lakebox redrive`: resubmit every raw file not yet through every stage, and replay the dead-letter queue."""

from __future__ import annotations

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.lake.target import Target
from lakebox.reconcile.redrive import redrive as redrive_lake
from lakebox.reconcile.render import redrive_line


def redrive(json_output: JsonOption = False) -> None:
    """Resubmit every raw file not yet through every stage, and drain the dead-letter queue."""
    done = redrive_lake(Target.resolve())
    if json_output:
        common.print_json(done.to_json())
    else:
        common.out.print(redrive_line(done))
