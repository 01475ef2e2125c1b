"""`lakebox reconcile`: the raw files not yet through every stage, and the outcomes whose raw file is gone."""

from __future__ import annotations

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.health.model import TargetCircuits
from lakebox.lake.target import Target
from lakebox.reconcile.accounting import reconcile as reconcile_lake
from lakebox.reconcile.render import reconciliation_lines


def reconcile(json_output: JsonOption = False) -> None:
    """List raw files not yet through every stage (and why, when the stage they wait for is paused), and outcomes
    whose raw file is gone."""
    target = Target.resolve()
    found = reconcile_lake(target, TargetCircuits(target))
    if json_output:
        common.print_json(found.to_json())
        return
    for line in reconciliation_lines(found, target.where):
        common.out.print(line, markup=False, highlight=False)  # a key or a pause's reason may hold brackets
