"""`lakebox reconcile`: the raw files not yet through every stage, and the outcomes whose raw file is gone."""

from __future__ import annotations

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.lake.target import Target
from lakebox.reconcile.accounting import reconcile as reconcile_lake
from lakebox.reconcile.render import reconciliation_lines


def reconcile(json_output: JsonOption = False) -> None:
    """List raw files not yet through every stage, and outcomes whose raw file is gone."""
    target = Target.resolve()
    found = reconcile_lake(target)
    if json_output:
        common.print_json(found.to_json())
        return
    for line in reconciliation_lines(found, target.where):
        common.out.print(line, highlight=False)
