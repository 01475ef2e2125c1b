"""The healer on a given clock, the health store on moto's DynamoDB and the stages' controls faked: a dependency's
outage opens its stage's circuit and pauses the mapping, a probe half-opens it with a small batch, clean files close
it and restore the mapping; every change is alerted once; file failures open nothing; a code circuit waits for a
new deployment, and a function that fails before it reads a batch opens one; closing sends the stage's dead letters
back; every run reports each stage's state; the mapping is made to agree with the circuit whoever changed it; a moved
circuit is left alone."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest
from aws_lambda_powertools import Logger

from lakebox_layer.adapters.dead_letters import Redriven
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import Alert, Circuit, Decision, State, Thresholds, pause
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.stages.healer import Healer, Unhealed
from tests.fakes.moto_table import TABLE, moto_metadata_table

T0 = 1_796_000_040.0
GLUE_DOWN = ("transient", "glue")


@dataclass
class FakeControl:
    """The mappings as a dict of (enabled, batch size, concurrency), the alerts kept, probes answered as told."""

    mappings: dict[Stage, tuple[bool, int | None, int | None]] = field(default_factory=lambda: {
        stage: (True, stage.spec.batch_size, stage.spec.concurrency) for stage in Stage if stage.spec.mapped})
    alerts: list[tuple[Alert, int | None]] = field(default_factory=list)
    answers: bool = True
    probes: list[str | None] = field(default_factory=list)
    code: str = "sha-1"
    in_flight_messages: int = 0
    start_failures: dict[Stage, str] = field(default_factory=dict)
    started: list[Stage] = field(default_factory=list)
    redriven: list[Stage] = field(default_factory=list)
    reports: list[dict[str, str]] = field(default_factory=list)

    def enabled(self, stage: Stage) -> bool:
        return self.mappings[stage][0]

    def pause(self, stage: Stage) -> None:
        self.mappings[stage] = (False, *self.mappings[stage][1:])

    def enable(self, stage: Stage, batch_size: int | None = None, concurrency: int | None = None) -> None:
        _, size, most = self.mappings[stage]
        self.mappings[stage] = (True, batch_size or size, concurrency or most)

    def restore(self, stage: Stage) -> None:
        self.mappings[stage] = (True, stage.spec.batch_size, stage.spec.concurrency)

    def code_version(self, stage: Stage) -> str | None:
        return self.code

    def waiting(self, stage: Stage) -> int | None:
        return 7

    def in_flight(self, stage: Stage) -> int:
        return self.in_flight_messages

    def start_failure(self, stage: Stage) -> str | None:
        self.started.append(stage)
        return self.start_failures.get(stage)

    def dead_letters(self) -> int:
        return 0

    def redrive(self, stage: Stage) -> Redriven:
        self.redriven.append(stage)
        return Redriven(sent=2)

    def report(self, states: Mapping[str, str]) -> None:
        self.reports.append(dict(states))

    def publish(self, alert: Alert, waiting: int | None) -> bool:
        self.alerts.append((alert, waiting))
        return True

    def probe(self, dependency: str | None) -> bool:
        self.probes.append(dependency)
        return self.answers


@pytest.fixture
def store() -> Iterator[HealthStore]:
    with moto_metadata_table() as client:
        yield HealthStore(client, TABLE)


def healer(store: HealthStore, control: FakeControl) -> Healer:
    return Healer(store, control, Logger(service="test-healer"), Thresholds())


def fail(store: HealthStore, at: float, files: int, failure: tuple[str, str | None] = GLUE_DOWN,
         stage: Stage = Stage.CURATION) -> None:
    for n in range(files):
        store.count(stage.value, at, 0, {failure: 1}, {failure: [f"{failure[0]}-{at}-{n}"]})


def states(control: FakeControl) -> list[str]:
    return [f"{alert.stage} {alert.state.value}{' persistent' if alert.persistent else ''}"
            for alert, _ in control.alerts]


def test_an_outage_opens_pauses_probes_half_opens_and_clean_files_close(store: HealthStore) -> None:
    control = FakeControl()
    fail(store, T0, 12)

    healer(store, control).heal(T0 + 30)

    circuit = store.circuit("curation")
    assert (circuit.state, circuit.dependency) == (State.OPEN, "glue")
    assert control.mappings[Stage.CURATION][0] is False
    assert control.mappings[Stage.VALIDATION][0] is True  # the stages upstream keep working
    assert states(control) == ["curation open"]
    assert control.alerts[0][1] == 7  # how many files wait

    healer(store, control).heal(T0 + 60)  # within the cool-down: nothing
    assert control.probes == [] and store.circuit("curation").version == circuit.version

    healer(store, control).heal(T0 + 95)  # the probe answers: half-open, a small batch
    assert control.probes == ["glue"]
    assert store.circuit("curation").state is State.HALF_OPEN
    assert control.mappings[Stage.CURATION] == (True, 1, 2)

    store.count("curation", T0 + 130, 3, {}, {})
    healer(store, control).heal(T0 + 150)
    assert store.circuit("curation").state is State.CLOSED
    assert control.mappings[Stage.CURATION] == (True, 10, 4)  # its declared settings again
    assert states(control) == ["curation open", "curation half_open", "curation closed"]
    assert control.redriven == [Stage.CURATION]  # the stage's dead letters go back to its queue, once
    assert [report["curation"] for report in control.reports] == ["open", "open", "half_open", "closed"]
    assert set(control.reports[0]) == {spec.name for spec in MAPPED_STAGES}


def test_a_probe_that_fails_keeps_it_open_for_a_doubled_cool_down(store: HealthStore) -> None:
    control = FakeControl(answers=False)
    fail(store, T0, 12)
    healer(store, control).heal(T0 + 30)

    healer(store, control).heal(T0 + 95)

    circuit = store.circuit("curation")
    assert circuit.state is State.OPEN and circuit.cool_down_s == 120
    assert control.mappings[Stage.CURATION][0] is False
    assert states(control) == ["curation open"]


def test_failing_again_while_half_open_reopens(store: HealthStore) -> None:
    control = FakeControl()
    fail(store, T0, 12)
    healer(store, control).heal(T0 + 30)
    healer(store, control).heal(T0 + 95)

    fail(store, T0 + 130, 1)
    healer(store, control).heal(T0 + 150)

    circuit = store.circuit("curation")
    assert (circuit.state, circuit.reopens) == (State.OPEN, 1)
    assert control.mappings[Stage.CURATION][0] is False


def test_a_burst_of_bad_files_opens_nothing(store: HealthStore) -> None:
    control = FakeControl()
    fail(store, T0, 50, ("file", None))

    healer(store, control).heal(T0 + 30)

    assert store.circuit("curation").state is State.CLOSED
    assert control.alerts == [] and control.mappings[Stage.CURATION][0] is True


def test_a_code_circuit_waits_for_a_new_deployment(store: HealthStore) -> None:
    control = FakeControl()
    fail(store, T0, 5, ("code", None), Stage.VALIDATION)
    healer(store, control).heal(T0 + 30)
    assert store.circuit("validation").failure_class == "code"

    healer(store, control).heal(T0 + 4000)  # long after: still open, never probed
    assert store.circuit("validation").state is State.OPEN and control.probes == []

    control.code = "sha-2"
    healer(store, control).heal(T0 + 4030)
    assert store.circuit("validation").state is State.CLOSED
    assert control.mappings[Stage.VALIDATION][0] is True
    assert states(control) == ["validation open", "validation open persistent", "validation closed"]


def test_the_mapping_is_made_to_agree_with_the_circuit(store: HealthStore) -> None:
    """A mapping somebody enabled while its circuit is open is paused again at the next run."""
    control = FakeControl()
    assert store.save(pause(store.circuit("quality"), "maintenance", T0))
    healer(store, control).heal(T0 + 10)
    assert control.mappings[Stage.QUALITY][0] is False

    control.restore(Stage.QUALITY)  # enabled behind the circuit's back
    healer(store, control).heal(T0 + 70)

    assert control.mappings[Stage.QUALITY][0] is False
    assert store.circuit("quality").reason == "maintenance"  # a manual pause is never healed


def test_a_decision_on_a_circuit_another_writer_moved_is_not_carried_out(store: HealthStore) -> None:
    control = FakeControl()
    stale = Decision(Circuit("curation", State.OPEN, version=1), (), (), previous_version=0)
    assert store.save(pause(store.circuit("curation"), "by hand", T0))

    healed = healer(store, control).apply(Stage.CURATION, stale)

    assert not healed.stored
    assert store.circuit("curation").reason == "by hand"


def test_one_stage_in_trouble_leaves_the_others_healed(store: HealthStore) -> None:
    control = FakeControl()
    fail(store, T0, 12)
    broken = Healer(store, control, Logger(service="test-healer"))
    original = control.code_version

    def failing(stage: Stage) -> str | None:
        if stage is Stage.VALIDATION:
            raise RuntimeError("lambda unreachable")
        return original(stage)

    control.code_version = failing  # type: ignore[method-assign]
    fail(store, T0, 3, ("code", None), Stage.VALIDATION)

    healed = broken.heal(T0 + 30)

    assert [h for h in healed if isinstance(h, Unhealed)] == [
        Unhealed(Stage.VALIDATION, "RuntimeError: lambda unreachable")]
    assert store.circuit("curation").state is State.OPEN


def test_a_function_that_fails_before_reading_its_batch_opens_its_code_circuit(store: HealthStore) -> None:
    """A broken package counts nothing: messages in flight with no work counted make the healer try the function
    with an empty batch; its failure opens the code circuit, which a new deployment closes."""
    control = FakeControl(in_flight_messages=3,
                          start_failures={Stage.QUALITY: "Runtime.ImportModuleError: No module named 'handler'"})

    healer(store, control).heal(T0 + 30)

    circuit = store.circuit("quality")
    assert (circuit.state, circuit.failure_class, circuit.code_version) == (State.OPEN, "code", "sha-1")
    assert circuit.reason == ("the function fails before it reads a batch: "
                              "Runtime.ImportModuleError: No module named 'handler'")
    assert control.mappings[Stage.QUALITY][0] is False and states(control) == ["quality open"]
    assert store.circuit("curation").state is State.CLOSED  # the functions that start are left alone
    started = len(control.started)

    healer(store, control).heal(T0 + 90)  # open: the function is not tried again
    assert store.circuit("quality").state is State.OPEN
    assert Stage.QUALITY not in control.started[started:]

    control.code = "sha-2"
    healer(store, control).heal(T0 + 150)
    assert store.circuit("quality").state is State.CLOSED and control.mappings[Stage.QUALITY][0] is True


def test_a_function_is_tried_only_when_its_messages_are_in_flight_and_nothing_is_counted(
        store: HealthStore) -> None:
    idle = FakeControl(start_failures={Stage.QUALITY: "Runtime.ImportModuleError: x"})
    healer(store, idle).heal(T0 + 30)
    assert idle.started == [] and store.circuit("quality").state is State.CLOSED

    busy = FakeControl(in_flight_messages=2, start_failures={Stage.QUALITY: "Runtime.ImportModuleError: x"})
    store.count("quality", T0 + 35, 1, {}, {})  # quality counted work: its function runs
    healer(store, busy).heal(T0 + 40)
    assert Stage.QUALITY not in busy.started and store.circuit("quality").state is State.CLOSED


def test_a_report_the_dashboard_cannot_take_leaves_the_circuits_healed(store: HealthStore) -> None:
    control = FakeControl()
    fail(store, T0, 12)

    def refused(states: Mapping[str, str]) -> None:
        raise RuntimeError("cloudwatch down")

    control.report = refused  # type: ignore[method-assign]
    healed = healer(store, control).heal(T0 + 30)

    assert not [h for h in healed if isinstance(h, Unhealed)]
    assert store.circuit("curation").state is State.OPEN
