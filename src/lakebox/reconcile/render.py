"""How `lakebox reconcile` and `lakebox redrive` report on a terminal: a count line and a line per file; no AWS
calls."""

from __future__ import annotations

from lakebox.reconcile.accounting import Reconciliation
from lakebox.reconcile.redrive import Redrive


def reconciliation_lines(found: Reconciliation, where: str) -> list[str]:
    """`lakebox reconcile`: a count line, then one line per unfinished file (with why it waits when its stage is
    held) and per orphaned outcome."""
    lines = [f"{found.raw_objects} raw object versions at {where}: {len(found.unfinished)} not finished, "
             f"{len(found.orphaned)} outcomes without a raw object"]
    for unfinished in found.unfinished:
        why = f"  ({unfinished.held})" if unfinished.held else ""
        lines.append(f"  unfinished  {unfinished.status:<17} {unfinished.key}{why}")
    lines += [f"  orphaned    {orphan.status:<17} {orphan.key}" for orphan in found.orphaned]
    return lines


def redrive_line(done: Redrive) -> str:
    """`lakebox redrive`: what was resubmitted and what stays in the dead-letter queue."""
    left = f"; {len(done.dead_letters_left)} left in the queue (not ours to replay)" if done.dead_letters_left else ""
    again = f" ({len(done.reannounced)} of them as Data Validated again)" if done.reannounced else ""
    return (f"resubmitted {len(done.resubmitted)} raw files{again}; redrove {done.dead_letters_redriven} dead "
            f"letters{left}")
