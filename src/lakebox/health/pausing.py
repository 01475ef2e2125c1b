"""`lakebox pause` and `lakebox resume`: a stage's circuit decided by hand (:func:`lakebox_layer.circuits.pause` and
`resume`) and carried out by the healer's own :meth:`~lakebox_layer.stages.healer.Healer.apply`, so a change by hand
and one by the healer go the same way: the circuit stored over the version read, then the stage's mapping, then the
alert to the alerts topic. A circuit the healer moved meanwhile is left as it is, and the command says so."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from lakebox.exceptions import CircuitMoved, UsageError
from lakebox.health.model import StageHealth, store_of
from lakebox_infra.arns import Arns
from lakebox_layer import circuits
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.control import ControlError, PipelineControl
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import Alert, Decision, State
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.settings import Settings
from lakebox_layer.stages.healer import Healer

if TYPE_CHECKING:
    from lakebox.lake.target import Target
    from lakebox_layer import ports

PAUSED_BY_HAND = "paused by hand"
# The stages a circuit can hold, as a command's help and its usage error name them.
STAGE_NAMES = ", ".join(spec.name for spec in MAPPED_STAGES)


class OperatorControl(PipelineControl):
    """The stages' mappings and queues as `lakebox` changes them: an alert that cannot be published (no alerts topic
    where the pipeline runs, or one that refuses) is kept as a warning, since what it tells of is done by then."""

    def __init__(self, clients: AwsClients, settings: Settings, topic_arn: str | None = None) -> None:
        super().__init__(clients, settings, topic_arn)
        self.unpublished: list[str] = []

    def publish(self, alert: Alert, waiting: int | None) -> bool:
        try:
            return super().publish(alert, waiting)
        except ControlError as error:
            self.unpublished.append(str(error))
            return False


def controls_of(target: Target) -> tuple[HealthStore, OperatorControl]:
    """The target's circuits, and its stages' controls publishing to the topology's alerts topic."""
    return store_of(target), OperatorControl(target.clients, target.settings, Arns(target.names).alerts_topic_arn)


def mapped_stage(name: str, verb: str) -> Stage:
    """The stage a circuit can hold that `name` names; a usage error naming those there are otherwise."""
    if name not in {spec.name for spec in MAPPED_STAGES}:
        raise UsageError(f"no stage {name!r} to {verb}: choose one of {STAGE_NAMES}")
    return Stage(name)


@dataclass(frozen=True)
class HandChange:
    """What `pause` or `resume` did: the decision carried out (`applied` False: nothing to do), what waits after,
    and the alerts that could not be published."""

    stage: Stage
    decision: Decision
    applied: bool
    waiting: int | None
    dead_letters: int
    unpublished: tuple[str, ...] = ()

    @property
    def health(self) -> StageHealth:
        """The circuit after, as `lakebox health` shows it."""
        return StageHealth.of(self.decision.circuit, self.waiting, self.dead_letters)


def pause_stage(store: ports.Circuits, control: OperatorControl, stage: Stage, reason: str,
                now: float) -> HandChange:
    """Open the stage's circuit by hand and pause its mapping: its messages wait in its queue."""
    decision = circuits.pause(store.circuit(stage.value), reason, now)
    return _carried_out(store, control, stage, decision)


def resume_stage(store: ports.Circuits, control: OperatorControl, stage: Stage, now: float) -> HandChange:
    """Close the stage's circuit and restore its mapping; a closed circuit is left as it is, and so is its mapping
    (the healer makes a mapping agree with its circuit each minute)."""
    circuit = store.circuit(stage.value)
    decision = circuits.resume(circuit, now)
    if circuit.state is State.CLOSED:
        return HandChange(stage, decision, False, control.waiting(stage), control.dead_letters())
    return _carried_out(store, control, stage, decision)


def _carried_out(store: ports.Circuits, control: OperatorControl, stage: Stage, decision: Decision) -> HandChange:
    try:
        stored = Healer(store, control, _quiet()).apply(stage, decision).stored
    except ControlError as error:  # raised only after the circuit was stored
        raise ControlError(f"{stage.value}'s circuit is {decision.circuit.state.value} now, but {error}: the healer "
                           "makes the mapping agree with the circuit within a minute") from error
    if not stored:
        raise CircuitMoved(f"{stage.value}'s circuit changed meanwhile (the healer or another lakebox moved it), "
                           "and nothing was changed: run it again")
    return HandChange(stage, decision, True, control.waiting(stage), control.dead_letters(),
                      tuple(control.unpublished))


def _quiet() -> Logger:
    """The healer's logger for a command: what it logs the command says in its own lines, so only errors, and on
    stderr, away from the results."""
    return Logger(service="lakebox-cli", level="ERROR", stream=sys.stderr)
