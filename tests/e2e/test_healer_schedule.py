"""The healer's schedule really fires: enabled on the session's lake (provisioned with it disabled), EventBridge
Scheduler invokes the deployed healer, which runs under its own role and makes a stage's mapping agree with its
stored circuit. The circuit is stored open by hand, as `lakebox pause` would store it, without its mapping paused:
only a run of the healer pauses that mapping, and nothing here invokes the healer. Afterwards the schedule is disabled
again and every circuit the test (or the scheduled runs) opened is resumed, so the shared lake is left as found."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lakebox.polling import wait_until
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.control import PipelineControl
from lakebox_layer.adapters.errors import cannot_list, error_code
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import MANUAL, State, pause, resume
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.stages.healer import Healer
from tests.e2e.healing import mapping
from tests.e2e.lake import Lake

STAGE = Stage.QUALITY
REASON = "held by the schedule's e2e test"
# MiniStack sweeps its schedules every 10 s and fires a rate(1 minute) one a minute after its last firing (or its
# creation): the first scheduled run comes within some 70 s, and its healer takes a few seconds more.
DEADLINE_S = 150.0


def healer_runs(lake: Lake, since_ms: int) -> list[dict[str, Any]]:
    """The deployed healer's "healer run done" log lines written since `since_ms` (epoch milliseconds)."""
    logs = lake.client("logs")
    group = f"/aws/lambda/{lake.names.function(Stage.HEALER.value)}"
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms)
        messages = [event["message"] for page in pages for event in page.get("events", [])]
    except logs.exceptions.ResourceNotFoundException:
        return []
    lines = [json.loads(message) for message in messages if message.startswith("{")]
    return [line for line in lines if line.get("message") == "healer run done"]


def schedule_state(lake: Lake) -> str:
    found = lake.client("scheduler").get_schedule(Name=lake.topology.healer_schedule["Name"])
    return f"{found.get('State')} ({found.get('ScheduleExpression')})"


@pytest.fixture
def healer(lake: Lake) -> Healer:
    """The healer's own decisions carried out from the test's side: how the test puts circuits back."""
    store = HealthStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    control = PipelineControl(AwsClients(lake.target.settings, lake.target.session), lake.target.settings)
    return Healer(store, control, Logger(service="test-healer-schedule"))


@pytest.fixture
def left_as_found(lake: Lake, healer: Healer) -> Iterator[None]:
    """Afterwards, whatever happened: the healer's schedule disabled as the lake declares it, and every circuit that
    was closed before and is not now (or whose mapping is not enabled) resumed through the healer."""
    scheduler = lake.client("scheduler")
    try:
        scheduler.list_schedules()
    except ClientError as error:
        if not cannot_list(error):
            raise
        pytest.skip(f"the endpoint offers no EventBridge Scheduler ({error_code(error)}): provisioning skipped the "
                    "healer's schedule")
    declared = lake.topology.healer_schedule
    assert declared["State"] == "DISABLED", "the session's lake runs without the healer's schedule"
    closed_before = [spec.stage for spec in MAPPED_STAGES if healer.store.circuit(spec.name).state is State.CLOSED]
    try:
        yield
    finally:
        scheduler.update_schedule(**declared)
        for stage in closed_before:
            circuit = healer.store.circuit(stage.value)
            if circuit.state is not State.CLOSED or not healer.control.enabled(stage):
                healer.apply(stage, resume(circuit, time.time()))


def test_the_schedule_runs_the_deployed_healer_which_pauses_a_stage_whose_circuit_is_open(
        lake: Lake, healer: Healer, left_as_found: None) -> None:
    assert healer.store.circuit(STAGE.value).state is State.CLOSED, "the test starts from a closed circuit"
    assert mapping(lake, STAGE.value)["State"] in ("Enabled", "Enabling")
    # Stored open as `lakebox pause` stores it, but with the mapping left enabled: only a healer run pauses it.
    opened = pause(healer.store.circuit(STAGE.value), REASON, time.time())
    assert healer.store.save(opened)
    since_ms = int(time.time() * 1000)
    lake.client("scheduler").update_schedule(**{**lake.topology.healer_schedule, "State": "ENABLED"})

    wait_until(lambda: mapping(lake, STAGE.value)["State"] == "Disabled", deadline_s=DEADLINE_S, interval_s=2.0,
               what=f"the scheduled healer to pause {STAGE.value}'s mapping (its circuit stored open)",
               on_timeout=lambda: f"; schedule {schedule_state(lake)}, mapping {mapping(lake, STAGE.value)}, "
                                  f"circuit {healer.store.circuit(STAGE.value)}, "
                                  f"healer runs {healer_runs(lake, since_ms)}")
    # The run that paused it says so in its log: the circuit open, no stage it could not heal.
    runs: list[dict[str, Any]] = []

    def reported() -> bool:
        runs[:] = [run for run in healer_runs(lake, since_ms)
                   if run.get("circuits", {}).get(STAGE.value) == State.OPEN.value]
        return bool(runs)

    wait_until(reported, deadline_s=30, interval_s=1.0,
               what=f"the scheduled healer's 'healer run done' line with {STAGE.value} open",
               on_timeout=lambda: f"; its lines since the schedule was enabled: {healer_runs(lake, since_ms)}")
    assert runs[0]["failed"] == {}, runs[0]
    circuit = healer.store.circuit(STAGE.value)
    assert (circuit.state, circuit.failure_class, circuit.reason) == (State.OPEN, MANUAL, REASON)
    assert circuit.version == opened.circuit.version, "the healer kept the circuit it found and paused its mapping"
