"""A broken function package opens its stage's code circuit and it stays open until `lakebox resume`: with the
quality function's code replaced by a package whose handler cannot be imported, a file's quality message fails
before the function reads it (so nothing is counted); the deployed healer, seeing the message in flight and no work
counted, tries the function with an empty batch, opens quality's code circuit with the error's type as the reason,
pauses its mapping and alerts; it never probes it again; `lakebox resume quality` closes it and restores the
mapping; once the package is deployed again, `lakebox redrive` finishes the file."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.specs import HANDLER
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.control import PipelineControl
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import State, resume
from lakebox_layer.records import FileStatus
from lakebox_layer.registry import Stage
from lakebox_layer.stages.healer import Healer
from tests.e2e.healing import alerts, healer_run, mapping
from tests.e2e.lake import Invoke, Lake, subscribe_queue

DEADLINE_S = 180.0


def broken_package() -> bytes:
    """A package whose handler module fails on import, as a bad deployment's would."""
    module = HANDLER.partition(".")[0]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr(f"{module}.py", "raise ImportError('a dependency left out of the package')\n")
    return archive.getvalue()


@pytest.fixture
def broken_quality(lake: Lake) -> Iterator[HealthStore]:
    """The quality function deployed broken; afterwards deployed as declared again (bootstrap puts the declared
    package back), its circuit closed and its mapping as declared, whatever happened."""
    lam = lake.client("lambda")
    function = lake.names.function("quality")
    store = HealthStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    lam.update_function_code(FunctionName=function, ZipFile=broken_package())
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    try:
        yield store
    finally:
        Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()
        # The message the broken function failed on stays in flight for the queue's visibility timeout (minutes),
        # after `lakebox redrive` finished its file: the tests after this one find quality's queue idle.
        sqs = lake.client("sqs")
        sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=lake.names.stage_queue("quality"))["QueueUrl"])
        wait_until(lambda: lake.in_flight()["quality"] == 0, deadline_s=30, interval_s=0.2,
                   what="quality's queue to be empty after the purge", on_timeout=lambda: f"; {lake.in_flight()}")
        control = PipelineControl(AwsClients(lake.target.settings, lake.target.session), lake.target.settings)
        Healer(store, control, Logger(service="test-healer")).apply(Stage.QUALITY,
                                                                     resume(store.circuit("quality"), 0.0))


def test_a_broken_package_opens_the_code_circuit_until_resumed(lake: Lake, broken_quality: HealthStore,
                                                              invoke: Invoke) -> None:
    store = broken_quality
    sqs = lake.client("sqs")
    queue = subscribe_queue(sqs, lake.client("sns"), lake.topology.alerts_topic_arn,
                            f"broken-alerts-{uuid.uuid4().hex[:6]}")
    seen: list[dict[str, Any]] = []
    raw = lake.put_raw(f"input/broken_{uuid.uuid4().hex[:6]}/one.csv", b"id,value\n1,10\n")
    assert lake.outcome(raw).status is FileStatus.PROCESSED  # validation runs; quality's message now fails

    wait_until(lambda: healer_run(lake)["quality"] == State.OPEN.value, deadline_s=DEADLINE_S, interval_s=3.0,
               what="the healer to open quality's code circuit",
               on_timeout=lambda: f"; circuit {store.circuit('quality')}; in flight {lake.in_flight()}")
    circuit = store.circuit("quality")
    assert circuit.failure_class == "code" and circuit.dependency is None
    assert circuit.reason is not None and circuit.reason.startswith("the function fails before it reads a batch: ")
    # The runtime's error type differs (AWS: Runtime.ImportModuleError; the emulator: RuntimeError); its message
    # is the package's own.
    assert "a dependency left out of the package" in circuit.reason, circuit.reason
    assert mapping(lake, "quality")["State"] == "Disabled"
    assert "quality" not in {r["Stage"] for r in lake.stage_records(raw.process_id)}

    # Never probed, never closed by itself while the code stays the same.
    assert healer_run(lake)["quality"] == State.OPEN.value
    assert store.circuit("quality").version == circuit.version
    health = invoke("health")
    assert health.exit_code == 0, health.output
    assert "fails before it reads a batch" in health.stdout

    resumed = invoke("resume", "quality")
    assert resumed.exit_code == 0, resumed.output
    assert store.circuit("quality").state is State.CLOSED
    restored = mapping(lake, "quality")
    assert restored["State"] in ("Enabled", "Enabling")
    assert restored["BatchSize"] == Stage.QUALITY.spec.batch_size

    Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()  # the package deployed again
    redriven = invoke("redrive")
    assert redriven.exit_code == 0, redriven.output
    records = lake.wait_for_stages(raw.process_id, {"quality"}, deadline_s=DEADLINE_S)
    assert [r["Stage"] for r in records].count("quality") == 1

    wait_until(lambda: len(alerts(sqs, queue, seen)) >= 2, deadline_s=60, interval_s=0.5,
               what="the open and closed alerts", on_timeout=lambda: f"; got {seen}")
    assert [(a["stage"], a["state"], a["class"]) for a in seen[:2]] == [
        ("quality", "open", "code"), ("quality", "closed", "code")]
