"""How `lakebox health`, `pause` and `resume` look on a terminal: a table with a row per stage, and one-line reports;
no AWS calls."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from lakebox.health.model import StageHealth, clock
from lakebox.health.pausing import HandChange
from lakebox_layer.circuits import Action, State

_ROW_STYLES = {State.OPEN: "bold red", State.HALF_OPEN: "yellow", State.CLOSED: ""}
_STATE_STYLES = {State.OPEN: "bold red", State.HALF_OPEN: "yellow", State.CLOSED: "green"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def health_table(entries: list[StageHealth], now: float) -> Table:
    """`lakebox health`: a row per mapped stage, an open circuit's in bold red, a half-open one's in yellow; the
    dead-letter queue, which every stage shares, under the table."""
    dead_letters = entries[0].dead_letters if entries else 0
    table = Table(title="pipeline health",
                  caption=f"dead-letter queue (shared by every stage): {_plural(dead_letters, 'message')}")
    for column in ("stage", "state", "since", "cause", "next probe", "waiting", "reason"):
        table.add_column(column, justify="right" if column == "waiting" else "left")
    for entry in entries:
        cause = entry.failure_class or ""
        if entry.dependency and entry.failure_class is not None:
            cause += f" ({entry.dependency})"
        table.add_row(
            entry.stage, Text(entry.state.value, style=_STATE_STYLES[entry.state]),
            "" if entry.since is None else clock(entry.since, now), cause,
            "" if entry.next_probe is None else clock(entry.next_probe, now),
            "(stream)" if entry.waiting is None else str(entry.waiting), Text(entry.reason or ""),
            style=_ROW_STYLES[entry.state])
    return table


def _what_waits(change: HandChange) -> str:
    if change.waiting is None:
        return "its records wait in the ingest stream"
    return f"its messages wait in its queue ({change.waiting} now)"


def pause_line(change: HandChange, now: float) -> str:
    """`lakebox pause`: what holds the stage now, what waits, and how to take it back."""
    stage, circuit = change.stage.value, change.decision.circuit
    already = "" if change.decision.changed else \
        f" (already, since {clock(circuit.since, now)})" if circuit.since is not None else " (already)"
    return (f"{stage} paused{already}: {circuit.reason}; {_what_waits(change)} until `lakebox resume {stage}`")


def resume_lines(change: HandChange) -> list[str]:
    """`lakebox resume`: the stage closed and its mapping restored (or that it was not paused), and the dead letters
    `lakebox redrive` replays when the incident sent some there."""
    stage, spec = change.stage.value, change.stage.spec
    if not change.applied:
        return [f"{stage} is not paused (its circuit is closed): nothing changed"]
    declared = "" if not spec.reads_queue else \
        f" with its declared batch size ({spec.batch_size}) and concurrency ({spec.concurrency})"
    lines = [f"{stage} resumed: closed, its mapping enabled{declared}"]
    if Action.REDRIVE in change.decision.actions and change.dead_letters:
        lines.append(f"{_plural(change.dead_letters, 'dead letter')} wait in the dead-letter queue (shared by every "
                     "stage): `lakebox redrive` replays them")
    return lines
