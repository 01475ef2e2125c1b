"""Pausing and resuming by hand on moto's AWS, through the healer's own apply: pause opens the circuit (manual),
stores it and disables the mapping; resume closes it and restores the declared batch size and concurrency; each
change reaches the alerts topic, or is a warning where there is none; a circuit moved meanwhile is left alone."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from lakebox.exceptions import CircuitMoved, UsageError
from lakebox.health.pausing import HandChange, OperatorControl, controls_of, mapped_stage, pause_stage, resume_stage
from lakebox_layer.adapters.control import ControlError
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import Action, Circuit, State
from lakebox_layer.registry import Stage
from tests.unit.cli.moto_lake import MotoLake

NOW = float(int(time.time()))


def pause(lake: MotoLake, stage: Stage = Stage.CURATION, reason: str = "glue upgrade") -> HandChange:
    store, control = controls_of(lake.target)
    return pause_stage(store, control, stage, reason, NOW)


def resume(lake: MotoLake, stage: Stage = Stage.CURATION) -> HandChange:
    store, control = controls_of(lake.target)
    return resume_stage(store, control, stage, NOW + 60)


def test_pause_then_resume_moves_the_circuit_and_the_mapping(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()

    paused = pause(lake)
    lake.send(Stage.CURATION, 3)  # they wait: moto would run an enabled mapping's function at once

    circuit = lake.store.circuit("curation")
    assert (circuit.state, circuit.failure_class, circuit.reason, circuit.since) == \
        (State.OPEN, "manual", "glue upgrade", NOW)
    assert lake.mapping(Stage.CURATION)["State"] == "Disabled"
    assert lake.mapping(Stage.VALIDATION)["State"] == "Enabled", "the other stages keep working"
    assert (paused.applied, paused.waiting, paused.unpublished) == (True, 0, ())

    resumed = resume(lake)

    assert lake.store.circuit("curation").state is State.CLOSED
    mapping = lake.mapping(Stage.CURATION)
    assert (mapping["State"], mapping["BatchSize"], mapping["ScalingConfig"]) == \
        ("Enabled", 10, {"MaximumConcurrency": 4})
    assert (resumed.health.state, resumed.applied, resumed.waiting) == (State.CLOSED, True, 3)
    assert [(a["stage"], a["state"], a["class"], a["reason"]) for a in lake.alerts()] == [
        ("curation", "open", "manual", "glue upgrade"), ("curation", "closed", "manual", "resumed by hand")]


def test_pausing_the_stream_batcher_pauses_its_stream_mapping(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()

    change = pause(lake, Stage.BATCHER)

    assert lake.mapping(Stage.BATCHER)["State"] == "Disabled"
    assert change.waiting is None


def test_resume_of_a_closed_circuit_changes_nothing(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()
    _, control = controls_of(lake.target)
    control.pause(Stage.QUALITY)  # a mapping paused by hand outside lakebox: the healer puts it right, not resume

    change = resume(lake, Stage.QUALITY)

    assert not change.applied
    assert lake.mapping(Stage.QUALITY)["State"] == "Disabled"
    assert lake.store.circuit("quality") == Circuit("quality")
    assert lake.alerts() == []


def test_resuming_a_transient_incident_asks_for_its_dead_letters_to_be_replayed(
        moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()
    lake.put_circuit(Circuit("curation", State.OPEN, "glue failing", "transient", "glue", since=NOW - 300,
                             version=2))
    lake.dead_letter(2)

    change = resume(lake)

    assert Action.REDRIVE in change.decision.actions and change.dead_letters == 2
    assert lake.store.circuit("curation").version == 3


def test_without_an_alerts_topic_the_pause_is_done_and_the_alert_a_warning(
        moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)

    change = pause(lake)

    assert lake.mapping(Stage.CURATION)["State"] == "Disabled"
    assert lake.store.circuit("curation").state is State.OPEN
    [problem] = change.unpublished
    assert problem.startswith("publishing to arn:aws:sns:us-east-1:123456789012:lakebox-quality-alerts: NotFound")


def test_a_circuit_moved_meanwhile_is_left_alone(moto_lake: Callable[..., MotoLake],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lake = moto_lake()
    read = HealthStore.circuit

    def read_then_healer_moves_it(store: HealthStore, stage: str) -> Circuit:
        circuit = read(store, stage)
        lake.put_circuit(Circuit(stage, State.OPEN, "glue failing", "transient", "glue", since=NOW, version=1))
        return circuit

    monkeypatch.setattr(HealthStore, "circuit", read_then_healer_moves_it)

    with pytest.raises(CircuitMoved, match=r"^curation's circuit changed meanwhile .*: run it again$"):
        pause(lake)

    assert lake.mapping(Stage.CURATION)["State"] == "Enabled", "nothing carried out over another's decision"
    assert lake.alerts() == []


@pytest.mark.parametrize("name", ["healer", "Curation", "nope", ""])
def test_only_a_mapped_stage_can_be_paused(name: str) -> None:
    with pytest.raises(UsageError, match=f"^no stage '{name}' to pause: choose one of ingestion, validation, "
                                         "quality, curation, batcher$"):
        mapped_stage(name, "pause")
    assert mapped_stage("batcher", "pause") is Stage.BATCHER


def test_the_operator_control_is_the_pipelines_with_its_alerts_topic(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()
    _, control = controls_of(lake.target)
    assert isinstance(control, OperatorControl)
    assert control.topic_arn == "arn:aws:sns:us-east-1:123456789012:lakebox-quality-alerts"


def test_a_mapping_that_cannot_be_changed_says_the_circuit_is_stored(moto_lake: Callable[..., MotoLake],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    lake = moto_lake()

    def refused(self: OperatorControl, stage: Stage) -> None:
        raise ControlError(f"changing the mapping of lakebox-{stage.value}: AccessDeniedException")

    monkeypatch.setattr(OperatorControl, "pause", refused)

    with pytest.raises(ControlError, match=r"^curation's circuit is open now, but changing the mapping of "
                                           r"lakebox-curation: AccessDeniedException: the healer makes the mapping "
                                           r"agree with the circuit within a minute$"):
        pause(lake)
    assert lake.store.circuit("curation").state is State.OPEN
