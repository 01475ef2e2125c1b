"""A dependency's outage healing itself, as a user of the pipeline sees it, on the embedded emulator.

Starts MiniStack on a free port in a temporary state directory and provisions the topology with the healer's
schedule enabled (whatever LAKEBOX_HEALER says), so EventBridge Scheduler runs the healer each minute; nothing here
invokes it. The curation function reaches the emulator through the e2e tests' fault-injecting proxy
(tests/e2e/fault_proxy.py), which answers 503 to every Glue request, and a queue subscribed to the alerts topic
collects what people are told. Then it uploads small CSV files and prints, as they happen: the time from the first
upload to curation's circuit opening; `lakebox health` (the table, then --json) while it is open; once Glue answers
again, the times to the circuit half-opening, to it closing and to every file curated exactly once; the dead-letter
queue's count; `lakebox health` after; every alert received; the emulator's version and the timings. Exits non-zero
with one line when something does not happen within the deadline, or happens wrongly.

    python benchmarks/self_healing.py [--files 12] [--deadline 600]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lakebox.emulator.embedded import HEALTH_PATH, EmbeddedEmulator, EmulatorState
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra import PROJECT_ROOT
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.control import PipelineControl
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import State
from lakebox_layer.records import RawObject
from lakebox_layer.registry import Stage
from lakebox_layer.settings import Settings

# The proxy and the alerts queue are the e2e tests' own: the checkout's root makes `tests` importable.
sys.path.insert(0, str(PROJECT_ROOT))
from tests.e2e.fault_proxy import fault_proxy
from tests.e2e.lake import subscribe_queue

DEADLINE_S = 600.0
DEPENDENCY = "glue"
# Wide enough for `lakebox health`'s table not to wrap.
COLUMNS = "160"


class Failed(Exception):
    """Something that should have happened did not, or not as it should: one line for the user."""


@contextmanager
def embedded_lake() -> Iterator[tuple[EmulatorState, Path]]:
    """A fresh emulator in a temporary state directory (where `lakebox` finds it), stopped afterwards."""
    with tempfile.TemporaryDirectory() as state_dir:
        emulator = EmbeddedEmulator(Path(state_dir))
        state, _ = emulator.start(port=None)
        try:
            yield state, Path(state_dir)
        finally:
            emulator.stop()


def emulator_version(endpoint: str) -> str:
    """What the emulator's health endpoint says it is."""
    with urllib.request.urlopen(f"{endpoint}{HEALTH_PATH}", timeout=5) as response:  # noqa: S310 - our endpoint
        health = json.load(response)
    return f"MiniStack {health.get('version', 'unknown')}"


def section(title: str, body: str = "") -> None:
    print(f"\n== {title}", flush=True)
    if body:
        print(body.rstrip(), flush=True)


class Lakebox:
    """The installed `lakebox` command, run as a user runs it, finding the emulator by its state directory."""

    def __init__(self, state_dir: Path) -> None:
        beside = Path(sys.executable).with_name("lakebox")  # a virtual environment's scripts sit by its python
        command = str(beside) if beside.exists() else shutil.which("lakebox")
        if command is None:
            raise Failed("no `lakebox` command: install the project (pip install -e .)")
        self.command = command
        self.environment = {**{k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"},
                            "LAKEBOX_STATE_DIR": str(state_dir), "COLUMNS": COLUMNS}

    def __call__(self, *args: str) -> str:
        done = subprocess.run([self.command, *args], env=self.environment, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise Failed(f"`lakebox {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return done.stdout


class Alerts:
    """What reaches the queue subscribed to the alerts topic, kept in order (receiving takes it off the queue)."""

    def __init__(self, target: Target, topic_arn: str) -> None:
        self._sqs = target.clients.client("sqs")
        self._url = subscribe_queue(self._sqs, target.clients.client("sns"), topic_arn,
                                    f"self-healing-alerts-{uuid.uuid4().hex[:6]}")
        self.received: list[Any] = []

    def receive(self) -> list[Any]:
        answer = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in answer.get("Messages", []):
            try:
                self.received.append(json.loads(message["Body"]))
            except ValueError:
                self.received.append(message["Body"])
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return self.received

    def healer_states(self, stage: Stage) -> list[str]:
        return [a["state"] for a in self.receive()
                if isinstance(a, dict) and a.get("source") == "lakebox.healer" and a.get("stage") == stage.value]


def provision(state: EmulatorState) -> tuple[Target, Topology]:
    """The product's topology with the healer's schedule running."""
    target = Target.at(state.endpoint, state.region)
    topology = Topology(target.names, settings_overrides={**Settings.bootstrap_overrides(), "healer": True})
    Provisioner(topology, target.session, state.endpoint).apply()
    return target, topology


def route_through(target: Target, stage: Stage, endpoint: str) -> None:
    """The stage's function reaches AWS at `endpoint` from its next invocation on."""
    lam = target.clients.client("lambda")
    function = target.names.function(stage.value)
    variables = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=function,
                                      Environment={"Variables": {**variables, "AWS_ENDPOINT_URL": endpoint}})
    lam.get_waiter("function_updated").wait(FunctionName=function)


def upload(target: Target, key: str, body: bytes) -> RawObject:
    bucket = target.settings.raw_bucket
    response = target.clients.s3.put_object(Bucket=bucket, Key=key, Body=body)
    return RawObject(bucket, key, response["ETag"].strip('"'), len(body), response.get("VersionId"))


def curations(target: Target, raw: RawObject) -> list[str]:
    """The curation status of each of the file's curation records (one, once curated exactly once)."""
    return [str(r.get("CurationStatus")) for r in target.metadata.stage_records(raw.process_id)
            if r["Stage"] == Stage.CURATION.value]


def timings_table(rows: list[tuple[str, float]]) -> str:
    width = max(len(what) for what, _ in rows)
    lines = [f"{'':<{width}}  seconds"] + [f"{what:<{width}}  {seconds:7.1f}" for what, seconds in rows]
    return "\n".join(lines)


def run(state: EmulatorState, state_dir: Path, files: int, deadline_s: float) -> list[str]:
    """The outage and its healing, printed as they happen; what went wrong, if anything did, without a deadline
    passing (a file curated twice, dead letters)."""
    version = emulator_version(state.endpoint)
    lakebox = Lakebox(state_dir)
    started = time.monotonic()
    target, topology = provision(state)
    section("provisioned", f"{version} at {state.endpoint}, in {time.monotonic() - started:.1f} s; the healer's "
                           f"schedule {topology.healer_schedule['ScheduleExpression']}, "
                           f"{topology.healer_schedule['State'].lower()}")
    store = HealthStore(target.clients.dynamodb, target.settings.metadata_table)
    control = PipelineControl(target.clients, target.settings)
    alerts = Alerts(target, topology.alerts_topic_arn)
    problems: list[str] = []
    timings: list[tuple[str, float]] = []

    def failures() -> str:
        minutes = [(m.at, m.successes, dict(m.failures)) for m in store.minutes(Stage.CURATION.value, 0)]
        return f"; circuit {store.circuit(Stage.CURATION.value)}; curation's minutes {minutes}"

    with fault_proxy(state.endpoint) as (proxy, url):
        route_through(target, Stage.CURATION, url)
        proxy.down.add(DEPENDENCY)
        dataset = f"outage_{uuid.uuid4().hex[:6]}"
        first_upload = time.time()
        raws = [upload(target, f"input/{dataset}/part-{n:02}.csv", f"id,value\n{n},{n * 10}\n".encode())
                for n in range(files)]
        section("outage", f"{DEPENDENCY} answers 503 to curation; {files} CSV files uploaded to "
                          f"s3://{target.settings.raw_bucket}/input/{dataset}/")

        wait_until(lambda: store.circuit(Stage.CURATION.value).state is State.OPEN, deadline_s=deadline_s,
                   interval_s=1.0, what="the scheduled healer to open curation's circuit",
                   on_timeout=lambda: f"; the proxy refused {proxy.refused} requests{failures()}")
        opened = store.circuit(Stage.CURATION.value)
        if (opened.failure_class, opened.dependency) != ("transient", DEPENDENCY):
            problems.append(f"curation's circuit opened for {opened.failure_class} {opened.dependency}, "
                            f"not transient {DEPENDENCY}")
        timings.append(("first upload -> circuit open", (opened.opened_at or opened.since or 0) - first_upload))
        curated_early = sum(1 for raw in raws if curations(target, raw))
        section("circuit open",
                f"{timings[-1][1]:.1f} s after the first upload: {opened.reason}; the proxy refused "
                f"{proxy.refused} {DEPENDENCY} requests; {curated_early} of {files} files curated so far")
        section("lakebox health (open)", lakebox("health"))
        section("lakebox health --json (open)", lakebox("health", "--json"))

        proxy.down.clear()
        healed = time.time()
        section("healed", f"{DEPENDENCY} answers curation again")
        half_open: list[float] = []

        def closed() -> bool:
            circuit = store.circuit(Stage.CURATION.value)
            if circuit.state is State.HALF_OPEN and not half_open:
                half_open.append(circuit.since or time.time())
            return circuit.state is State.CLOSED

        wait_until(closed, deadline_s=deadline_s, interval_s=1.0,
                   what="the scheduled healer to close curation's circuit", on_timeout=failures)
        shut = store.circuit(Stage.CURATION.value)
        if half_open:
            timings.append(("heal -> circuit half-open", half_open[0] - healed))
        else:
            problems.append("curation's circuit closed without being seen half-open")
        timings.append(("heal -> circuit closed", (shut.since or time.time()) - healed))
        section("circuit closed", f"{timings[-1][1]:.1f} s after the heal: {shut.reason}")

        counts: dict[str, list[str]] = {}

        def all_curated() -> bool:
            counts.update({raw.key: curations(target, raw) for raw in raws})
            return all(counts.values()) and control.waiting(Stage.CURATION) == 0

        wait_until(all_curated, deadline_s=deadline_s, interval_s=0.5,
                   what=f"all {files} files curated and curation's queue empty",
                   on_timeout=lambda: f"; curation records {counts}; in curation's queue "
                                      f"{control.waiting(Stage.CURATION)}; dead letters {control.dead_letters()}")
        timings.append(("heal -> every file curated", time.time() - healed))
        wrong = {key: statuses for key, statuses in counts.items() if statuses != ["curated"]}
        once = files - len(wrong)
        if wrong:
            problems.append(f"{len(wrong)} of {files} files not curated exactly once: {wrong}")
        section("every file curated", f"{timings[-1][1]:.1f} s after the heal; {once} of {files} files curated "
                                      f"exactly once; the proxy passed {proxy.passed} requests, refused "
                                      f"{proxy.refused}")

    dead_letters = control.dead_letters()
    if dead_letters:
        problems.append(f"{dead_letters} messages in the dead-letter queue")
    section("dead-letter queue", f"{dead_letters} messages")
    section("lakebox health (after)", lakebox("health"))
    section("lakebox health --json (after)", lakebox("health", "--json"))

    wanted = [State.OPEN.value, State.HALF_OPEN.value, State.CLOSED.value]
    wait_until(lambda: State.CLOSED.value in alerts.healer_states(Stage.CURATION), deadline_s=60, interval_s=0.5,
               what="the healer's alert that curation closed",
               on_timeout=lambda: f"; received {alerts.received}")
    if alerts.healer_states(Stage.CURATION) != wanted:
        problems.append(f"curation's alerts were {alerts.healer_states(Stage.CURATION)}, not {wanted}")
    section(f"alerts received ({len(alerts.received)})",
            "\n".join(json.dumps(alert) for alert in alerts.received))
    section("timings", f"{version}, {files} files\n{timings_table(timings)}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--deadline", type=float, default=DEADLINE_S, help="seconds each step may take")
    args = parser.parse_args()
    try:
        with embedded_lake() as (state, state_dir):
            problems = run(state, state_dir, args.files, args.deadline)
    except (TimeoutError, Failed) as error:
        sys.exit(f"self_healing: {error}")
    if problems:
        sys.exit(f"self_healing: {'; '.join(problems)}")


if __name__ == "__main__":
    main()
