"""The healer: once a minute (an EventBridge Scheduler schedule), each mapped stage's health counters decide its
circuit (:mod:`lakebox_layer.circuits`), and what the decision asks is carried out: the stage's mapping paused,
probed and enabled with a small batch, or restored and the stage's dead letters sent back; every change of state
published to the alerts topic, and every stage's state to the dashboard's metric.

A function that fails before it reads a batch (a broken package) counts nothing, so its counters cannot say so:
when a stage counted no work in the window while its queue has messages in flight, the healer invokes its function
with an empty batch, and a failure opens the stage's code circuit.

A circuit is stored before its actions run, on the condition that nobody stored another version meanwhile (two
healers, or a healer and `lakebox pause`, never undo each other); and every run also makes the mapping agree with
the stored circuit, so an action that failed, or a mapping somebody enabled by hand, is put right a minute later.
`lakebox pause` and `lakebox resume` decide through :func:`lakebox_layer.circuits.pause` and `resume` and carry
out their decisions here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.control import PipelineControl
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import (
    CODE,
    Action,
    Circuit,
    Decision,
    State,
    Thresholds,
    Window,
    broken,
    probed,
    step,
    successes_start,
    window_start,
)
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.settings import Settings


@dataclass(frozen=True)
class Healed:
    """What one run did to one stage: its circuit after, and whether it was stored (False: another writer moved
    it first; the next run decides again)."""

    stage: Stage
    decision: Decision
    stored: bool


@dataclass(frozen=True)
class Unhealed:
    """A stage whose circuit one run could not read or move, and why (logged; the next run tries again)."""

    stage: Stage
    error: str


class Healer:
    """The stages' circuits, on a health store and the pipeline's controls."""

    def __init__(self, store: ports.Circuits, control: ports.StageControl, logger: Logger,
                 thresholds: Thresholds | None = None) -> None:
        self.store = store
        self.control = control
        self.logger = logger
        self.thresholds = thresholds or Thresholds()

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, topic_arn: str | None,
                      clients: AwsClients | None = None) -> Healer:
        clients = clients or AwsClients(settings)
        return cls(HealthStore(clients.dynamodb, settings.metadata_table),
                   PipelineControl(clients, settings, topic_arn), logger)

    def heal(self, now: float) -> list[Healed | Unhealed]:
        """One run over every mapped stage; a stage whose circuit cannot be read or moved is logged and left for
        the next run, and the others go on."""
        healed: list[Healed | Unhealed] = []
        for spec in MAPPED_STAGES:
            try:
                healed.append(self.heal_stage(spec.stage, now))
            except Exception as error:  # one stage's trouble never keeps the others' circuits still
                self.logger.exception("healing failed", extra={"stage": spec.name, "error": str(error)})
                healed.append(Unhealed(spec.stage, f"{type(error).__name__}: {error}"))
        try:
            self.control.report({h.stage.value: h.decision.circuit.state.value
                                 for h in healed if isinstance(h, Healed)})
        except Exception as error:  # the dashboard misses a point; the circuits stand
            self.logger.warning("circuit states not reported", extra={"error": str(error)})
        return healed

    def heal_stage(self, stage: Stage, now: float) -> Healed:
        """Decide the stage's circuit from its counters, store it, carry out what it asks."""
        circuit = self.store.circuit(stage.value)
        since = window_start(circuit, now, self.thresholds)
        counted = successes_start(circuit, now, self.thresholds)
        window = Window.of(self.store.minutes(stage.value, min(since, counted)), since, counted)
        if circuit.state is State.CLOSED and not window.work and self.control.in_flight(stage):
            failure = self.control.start_failure(stage)
            if failure is not None:
                return self.apply(stage, broken(circuit, f"the function fails before it reads a batch: {failure}",
                                                now, self.control.code_version(stage)))
        code_failures, _ = window.of_class(CODE)
        # A code circuit closes when the function's code changes; its version is read only when it may matter.
        version = self.control.code_version(stage) if circuit.failure_class == CODE or code_failures else None
        decision = step(circuit, window, now, self.thresholds, version)
        if Action.PROBE in decision.actions:
            answered = probed(decision.circuit, self.control.probe(decision.circuit.dependency), now,
                              self.thresholds)
            decision = _then(decision, answered)
        return self.apply(stage, decision)

    def apply(self, stage: Stage, decision: Decision) -> Healed:
        """Store a decision, then carry out its actions and publish its alerts; whatever was decided, make the
        mapping agree with the stored circuit."""
        stored = self.store.save(decision)
        if not stored:
            self.logger.warning("circuit moved by another writer: deciding again next run",
                                extra={"stage": stage.value})
            return Healed(stage, decision, stored=False)
        actions: dict[Action, Callable[[], None]] = {
            Action.PAUSE: lambda: self.control.pause(stage),
            Action.ENABLE_SMALL: lambda: self.control.enable(stage, self.thresholds.probe_batch_size,
                                                             self.thresholds.probe_concurrency),
            Action.RESTORE: lambda: self.control.restore(stage),
            Action.REDRIVE: lambda: self._redrive(stage),
        }
        for action in decision.actions:
            if action in actions:
                actions[action]()
        self._agree(stage, decision.circuit)
        waiting = self.control.waiting(stage) if decision.alerts else None
        for alert in decision.alerts:
            self.logger.warning("circuit changed", extra={
                "stage": alert.stage, "state": alert.state.value, "failure_class": alert.failure_class,
                "dependency": alert.dependency, "reason": alert.reason, "persistent": alert.persistent,
                "files_waiting": waiting})
            try:
                self.control.publish(alert, waiting)
            except Exception as error:  # the circuit and its mapping stand; the log line above says what changed
                self.logger.error("alert not published", extra={"stage": alert.stage, "error": str(error)})
        return Healed(stage, decision, stored=True)

    def _agree(self, stage: Stage, circuit: Circuit) -> None:
        """An open circuit's mapping is paused, any other's enabled (half-open with its small batch)."""
        enabled = self.control.enabled(stage)
        if circuit.state is State.OPEN and enabled:
            self.control.pause(stage)
        elif circuit.state is State.CLOSED and not enabled:
            self.control.restore(stage)
        elif circuit.state is State.HALF_OPEN and not enabled:
            self.control.enable(stage, self.thresholds.probe_batch_size, self.thresholds.probe_concurrency)

    def _redrive(self, stage: Stage) -> None:
        # The circuit kept the outage's messages in their queue; what reached the dead-letter queue before it opened
        # (or in an earlier incident) goes back to the stage's queue, each dead letter a bounded number of times.
        redriven = self.control.redrive(stage)
        if redriven.sent or redriven.parked:
            self.logger.info("dead letters sent back", extra={"stage": stage.value, "sent": redriven.sent,
                                                              "parked": redriven.parked})


def _then(first: Decision, second: Decision) -> Decision:
    """Two decisions taken one after the other in one run, as one: stored over the first one's read."""
    actions = tuple(a for a in first.actions if a is not Action.PROBE) + second.actions
    return replace(second, actions=actions, alerts=first.alerts + second.alerts,
                   previous_version=first.previous_version)
