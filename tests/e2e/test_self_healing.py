"""A dependency's outage heals itself: with Glue answering 503 to the curation function (a fault-injecting proxy set
as its AWS_ENDPOINT_URL), the deployed healer (invoked as its schedule would, under its own role) opens curation's
circuit and pauses its mapping while the stages upstream keep recording; once Glue answers again it probes,
half-opens with a small batch and closes, restoring the mapping; every change reaches a queue subscribed to the
alerts topic, and every file ends curated exactly once, with no step by hand."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox.polling import wait_until
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.control import PipelineControl
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import State, resume
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.registry import Stage
from lakebox_layer.stages.healer import Healer
from tests.e2e.fault_proxy import FaultProxy, fault_proxy
from tests.e2e.healing import alerts, healer_run, mapping, wear_out
from tests.e2e.lake import Lake, subscribe_queue

FILES = 12
DEADLINE_S = 240.0


@pytest.fixture
def glue_outage(lake: Lake) -> Iterator[FaultProxy]:
    """The curation function reaching the emulator through the proxy; afterwards its own endpoint again, its
    circuit closed and its mapping as declared, whatever happened."""
    if lake.emulator.kind != "embedded":
        pytest.skip("the fault proxy listens on this host's loopback, which functions in a container cannot reach")
    lam = lake.client("lambda")
    function = lake.names.function("curation")
    variables = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    store = HealthStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    assert lake.target.endpoint is not None, "the e2e lake runs on an emulator"
    with fault_proxy(lake.target.endpoint) as (proxy, url):
        lam.update_function_configuration(FunctionName=function,
                                          Environment={"Variables": {**variables, "AWS_ENDPOINT_URL": url}})
        lam.get_waiter("function_updated").wait(FunctionName=function)
        try:
            yield proxy
        finally:
            lam.update_function_configuration(FunctionName=function, Environment={"Variables": variables})
            lam.get_waiter("function_updated").wait(FunctionName=function)
            control = PipelineControl(AwsClients(lake.target.settings, lake.target.session), lake.target.settings)
            Healer(store, control, Logger(service="test-healer")).apply(
                Stage.CURATION, resume(store.circuit("curation"), 0.0))


def test_a_dependency_outage_pauses_its_stage_and_heals_with_no_step_by_hand(
        lake: Lake, glue_outage: FaultProxy) -> None:
    sqs = lake.client("sqs")
    queue = subscribe_queue(sqs, lake.client("sns"), lake.topology.alerts_topic_arn,
                            f"healer-alerts-{uuid.uuid4().hex[:6]}")
    seen: list[dict[str, Any]] = []
    store = HealthStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    control = PipelineControl(AwsClients(lake.target.settings, lake.target.session), lake.target.settings)
    dead_letters_before = control.dead_letters()
    dataset = f"healer_{uuid.uuid4().hex[:6]}"
    glue_outage.down.add("glue")

    raws = [lake.put_raw(f"input/{dataset}/part-{n:02}.csv", f"id,value\n{n},{n * 10}\n".encode())
            for n in range(FILES)]

    def glue_failures() -> int:
        return sum(m.failures.get(("transient", "glue"), 0) for m in store.minutes("curation", 0))

    # The healer opens the circuit at the first run whose window holds enough failures (as the schedule's would).
    wait_until(lambda: healer_run(lake)["curation"] == "open", deadline_s=DEADLINE_S, interval_s=5.0,
               what="the healer to open curation's circuit",
               on_timeout=lambda: f"; {glue_failures()} Glue failures, the proxy refused {glue_outage.refused}, "
                                  f"minutes {store.minutes('curation', 0)}")
    circuit = store.circuit("curation")
    assert (circuit.failure_class, circuit.dependency) == ("transient", "glue")
    assert mapping(lake, "curation")["State"] == "Disabled"
    assert control.dead_letters() == dead_letters_before  # the outage's files wait in curation's queue

    # Files whose tries ran out before the circuit opened (as they would in a slower outage): the healer sends them
    # back when it closes.
    wear_out(lake, "curation", 2)
    assert control.dead_letters() >= dead_letters_before + 2

    # The stages upstream keep working while curation waits.
    later: RawObject = lake.put_raw(f"input/{dataset}/late.csv", b"id,value\n99,990\n")
    assert lake.outcome(later).status is FileStatus.PROCESSED
    lake.wait_for_stages(later.process_id, {"validation", "quality"})
    assert "curation" not in {r["Stage"] for r in lake.stage_records(later.process_id)}

    glue_outage.down.clear()
    states: dict[str, str] = {}

    def healed() -> bool:
        states.update(healer_run(lake))
        return states["curation"] == State.CLOSED.value

    def diagnosis() -> str:
        minutes = [(m.at, m.successes, dict(m.failures)) for m in store.minutes("curation", 0)]
        statuses = {raw.key: [r.get("CurationStatus") for r in lake.stage_records(raw.process_id)
                              if r["Stage"] == "curation"] for raw in [*raws, later]}
        logs = [(line.get("level"), line.get("message"), str(line.get("exception", ""))[-300:])
                for line in lake.log_lines("curation", raws[0].process_id)]
        return (f"; circuit {store.circuit('curation')}; minutes {minutes}; curation records {statuses}; "
                f"mapping {mapping(lake, 'curation')}; in flight {lake.in_flight()}; dead letters "
                f"{control.dead_letters()}; proxy passed {glue_outage.passed} refused {glue_outage.refused}; "
                f"logs of {raws[0].key}: {logs}")

    wait_until(healed, deadline_s=DEADLINE_S, interval_s=5.0, what="curation's circuit to close once Glue answers",
               on_timeout=diagnosis)

    restored = mapping(lake, "curation")
    assert restored["State"] in ("Enabled", "Enabling")
    assert (restored["BatchSize"], restored["ScalingConfig"]["MaximumConcurrency"]) == (10, 4)
    for raw in [*raws, later]:
        records = lake.wait_for_stages(raw.process_id, {"curation"}, deadline_s=DEADLINE_S)
        curations = [r for r in records if r["Stage"] == "curation"]
        assert [r["CurationStatus"] for r in curations] == ["curated"], raw.key
    assert control.dead_letters() <= dead_letters_before  # curation's were sent back, and are curated above
    wait_until(lambda: len(alerts(sqs, queue, seen)) >= 3, deadline_s=60, interval_s=0.5,
               what="the open, half-open and closed alerts", on_timeout=lambda: f"; got {seen}")
    assert [(a["stage"], a["state"]) for a in seen] == [
        ("curation", "open"), ("curation", "half_open"), ("curation", "closed")]
    assert seen[0]["dependency"] == "glue" and seen[0]["class"] == "transient"


def test_a_burst_of_bad_files_opens_no_circuit(lake: Lake) -> None:
    """Twelve files that cannot be read each end quarantined with their reason; the healer, run after them, finds
    every circuit closed: a file's failure is never a dependency's."""
    dataset = f"bad_burst_{uuid.uuid4().hex[:6]}"
    store = HealthStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    started = time.time()
    raws = [lake.put_raw(f"input/{dataset}/broken-{n:02}.json", b'{"id": 1, "value": ') for n in range(FILES)]
    for raw in raws:
        assert lake.outcome(raw).status is FileStatus.QUARANTINED, raw.key

    circuits = healer_run(lake)

    assert set(circuits.values()) == {State.CLOSED.value}, circuits
    # Validation counted each file as work it finished, and nothing against a dependency or its code.
    minutes = store.minutes("validation", started)
    assert sum(m.successes for m in minutes) >= FILES
    assert not [key for m in minutes for key in m.failures if key[0] in ("transient", "code")], minutes
    assert all(mapping(lake, stage)["State"] in ("Enabled", "Enabling") for stage in ("validation", "quality"))
