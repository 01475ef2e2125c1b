"""What `lakebox health` reads: each mapped stage's circuit (the healer's item in the metadata table; a stage without
one is closed), the messages waiting in its queue, and the dead-letter queue's count, which every stage shares. And
why a file waits when the stage it waits for is held (paused, or letting a few files through), for `lakebox status`
and `lakebox reconcile`: one circuit read per stage waited for, never one per file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import CODE, MANUAL, TRANSIENT, Circuit, State
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.status import FileRow, waits_for

if TYPE_CHECKING:
    from lakebox.lake.target import Target


class CircuitReader(Protocol):
    """Where the stages' circuits are read (a :class:`HealthStore`)."""

    def circuit(self, stage: str) -> Circuit: ...


class QueueCounts(Protocol):
    """How many messages wait (a :class:`~lakebox_layer.adapters.control.PipelineControl`)."""

    def waiting(self, stage: Stage) -> int | None: ...

    def dead_letters(self) -> int: ...


def store_of(target: Target) -> HealthStore:
    """The circuits and counters of the target's pipeline."""
    return HealthStore(target.clients.dynamodb, target.settings.metadata_table)


class TargetCircuits:
    """The target's circuits, reached at the first read: a listing whose files wait for nothing reads none."""

    def __init__(self, target: Target) -> None:
        self._target = target

    @cached_property
    def _store(self) -> HealthStore:
        return store_of(self._target)

    def circuit(self, stage: str) -> Circuit:
        return self._store.circuit(stage)


def iso(at: float | None) -> str | None:
    """A time as ISO 8601 in UTC (`2026-12-07T10:02:13Z`), None kept."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StageHealth:
    """One mapped stage's circuit and what waits for it: an entry of `lakebox health`."""

    stage: str
    state: State
    reason: str | None
    since: float | None
    next_probe: float | None
    failure_class: str | None  # "transient", "code", "manual" or None
    dependency: str | None
    waiting: int | None  # messages in the stage's queue, visible or in flight; None for the batcher (a stream)
    dead_letters: int  # the pipeline's one dead-letter queue: the same count for every stage

    @classmethod
    def of(cls, circuit: Circuit, waiting: int | None, dead_letters: int) -> StageHealth:
        return cls(circuit.stage, circuit.state, circuit.reason, circuit.since, circuit.next_probe_at,
                   circuit.failure_class, circuit.dependency, waiting, dead_letters)

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "state": self.state.value, "reason": self.reason, "since": iso(self.since),
                "next_probe": iso(self.next_probe), "failure_class": self.failure_class,
                "dependency": self.dependency, "waiting": self.waiting, "dead_letters": self.dead_letters}


def read_health(circuits: CircuitReader, counts: QueueCounts) -> list[StageHealth]:
    """Every mapped stage's entry, in registry order; the dead-letter queue is counted once for all of them."""
    dead_letters = counts.dead_letters()
    return [StageHealth.of(circuits.circuit(spec.name), counts.waiting(spec.stage), dead_letters)
            for spec in MAPPED_STAGES]


def clock(at: float, now: float) -> str:
    """A time for a line of text, in UTC: `10:02 UTC` today, `2026-12-06 10:02 UTC` another day."""
    moment, today = datetime.fromtimestamp(at, UTC), datetime.fromtimestamp(now, UTC)
    return moment.strftime("%H:%M UTC" if moment.date() == today.date() else "%Y-%m-%d %H:%M UTC")


def held(circuit: Circuit, now: float) -> str | None:
    """Why the stage is not taking all its work, in a few words ("curation paused since 10:02 UTC, glue failing");
    None while its circuit is closed."""
    if circuit.state is State.CLOSED:
        return None
    stage, since = circuit.stage, "" if circuit.since is None else f" since {clock(circuit.since, now)}"
    told = f": {circuit.reason}" if circuit.reason else ""
    if circuit.state is State.HALF_OPEN:
        return f"{stage} half-open{since}{told}"
    if circuit.failure_class == MANUAL:
        return f"{stage} paused by hand{since}{told}"
    if circuit.failure_class == TRANSIENT and circuit.dependency:
        return f"{stage} paused{since}, {circuit.dependency} failing"
    if circuit.failure_class == CODE:
        return f"{stage} paused{since}, its code failing"
    return f"{stage} paused{since}{told}"


def holds(circuits: CircuitReader, stages: Iterable[Stage | None], now: float) -> dict[Stage, str]:
    """Why each of `stages` holds its files, for those whose circuit is not closed: one read per distinct mapped
    stage (None, a file that waits for nothing, is skipped)."""
    wanted = sorted({stage for stage in stages if stage is not None and stage.spec.mapped}, key=lambda s: s.order)
    found = {stage: held(circuits.circuit(stage.value), now) for stage in wanted}
    return {stage: note for stage, note in found.items() if note is not None}


def held_by(circuits: CircuitReader, waits: Mapping[str, Stage | None], now: float) -> dict[str, str]:
    """Why each file waits (`waits`: the stage each waits for, by process id), for the files whose stage is held;
    only the circuits of the stages some file waits for are read."""
    notes = holds(circuits, waits.values(), now)
    return {process_id: notes[stage] for process_id, stage in waits.items() if stage is not None and stage in notes}


def held_files(circuits: CircuitReader, rows: Iterable[FileRow], now: float) -> dict[str, str]:
    """Why each of these status rows waits, by process id, for the files whose stage is held."""
    return held_by(circuits, {row.process_id: waits_for(row) for row in rows}, now)
