"""`lakebox health`, `pause` and `resume` at the command line, on moto's AWS: health's entries as JSON and as a
table, a pause and a resume as one line each (and --json the circuit after), the dead letters `lakebox redrive`
replays, a missing alerts topic as a warning, and every failure one line with its exit code."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from lakebox import cli
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import Circuit, State
from lakebox_layer.registry import Stage
from tests.unit.cli.moto_lake import MotoLake

runner = CliRunner()
FIELDS = ["stage", "state", "reason", "since", "next_probe", "failure_class", "dependency", "waiting",
          "dead_letters"]


def run(*args: str, code: int = 0) -> Result:
    result = runner.invoke(cli.app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_health_json_has_an_entry_per_mapped_stage(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()
    since = float(int(time.time()))
    lake.put_circuit(Circuit("curation", State.OPEN, "glue failing", "transient", "glue", since=since,
                             next_probe_at=since + 60, version=1))
    run("pause", "validation", "--reason", "contract change")
    lake.send(Stage.VALIDATION, 2)
    lake.dead_letter(3)

    entries = json.loads(run("health", "--json").stdout)

    assert [list(entry) for entry in entries] == [FIELDS] * 5
    assert [(e["stage"], e["state"], e["failure_class"], e["waiting"]) for e in entries] == [
        ("ingestion", "closed", None, 0), ("validation", "open", "manual", 2), ("quality", "closed", None, 0),
        ("curation", "open", "transient", 0), ("batcher", "closed", None, None)]
    assert {e["dead_letters"] for e in entries} == {3}
    curation = entries[3]
    assert (curation["dependency"], curation["reason"]) == ("glue", "glue failing")
    assert time.strptime(curation["since"], "%Y-%m-%dT%H:%M:%SZ")
    assert curation["next_probe"] > curation["since"]
    assert entries[1]["reason"] == "contract change"


def test_health_as_a_table(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()
    lake.put_circuit(Circuit("curation", State.OPEN, "glue failing", "transient", "glue", since=time.time()))

    output = run("health").stdout

    lines = output.splitlines()
    assert "open" in next(line for line in lines if "curation" in line)
    assert "transient (glue)" in output
    assert all(any(stage in line for line in lines) for stage in ("ingestion", "batcher"))
    assert "dead-letter queue (shared by every stage): 0 messages" in output


def test_pause_then_resume_print_one_line_each(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()

    paused = run("pause", "curation", "--reason", "[wip] glue upgrade")
    lake.send(Stage.CURATION, 4)
    resumed = run("resume", "curation")
    again = run("resume", "curation")

    assert paused.stdout == ("curation paused: [wip] glue upgrade; its messages wait in its queue (0 now) until "
                             "`lakebox resume curation`\n")
    assert resumed.stdout == ("curation resumed: closed, its mapping enabled with its declared batch size (10) and "
                              "concurrency (4)\n")
    assert again.stdout == "curation is not paused (its circuit is closed): nothing changed\n"
    assert lake.mapping(Stage.CURATION)["State"] == "Enabled"
    assert [alert["state"] for alert in lake.alerts()] == ["open", "closed"]


def test_pause_without_a_reason_and_as_json(moto_lake: Callable[..., MotoLake]) -> None:
    moto_lake()

    paused = json.loads(run("pause", "batcher", "--json").stdout)

    assert list(paused) == FIELDS
    assert (paused["stage"], paused["state"], paused["reason"], paused["failure_class"], paused["waiting"]) == \
        ("batcher", "open", "paused by hand", "manual", None)
    assert "its records wait in the ingest stream" in run("pause", "batcher").stdout
    assert json.loads(run("resume", "batcher", "--json").stdout)["state"] == "closed"


def test_resume_after_an_outage_names_the_dead_letters_redrive_replays(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake()
    lake.put_circuit(Circuit("curation", State.OPEN, "glue failing", "transient", "glue", since=time.time(),
                             version=4))
    lake.dead_letter(2)

    lines = run("resume", "curation").stdout.splitlines()

    assert lines[1] == ("2 dead letters wait in the dead-letter queue (shared by every stage): `lakebox redrive` "
                        "replays them")


def test_without_an_alerts_topic_a_pause_is_done_with_a_warning(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)

    result = run("pause", "quality")

    assert result.stdout.startswith("quality paused: paused by hand;")
    assert result.stderr.startswith("warning: done, but its alert was not published (publishing to "
                                    "arn:aws:sns:us-east-1:123456789012:lakebox-quality-alerts: NotFound")
    assert len(result.stderr.splitlines()) == 1
    assert lake.mapping(Stage.QUALITY)["State"] == "Disabled"


@pytest.mark.parametrize("command", ["pause", "resume"])
def test_an_unknown_stage_is_a_usage_error_before_any_call(command: str, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    # Sockets are blocked: a call to this endpoint would fail otherwise than with the usage error.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path))

    result = run(command, "healer", code=2)

    assert result.stderr == (f"error: no stage 'healer' to {command}: choose one of ingestion, validation, quality, "
                             "curation, batcher\n")
    assert run(command, code=2).stderr.count("\n") == 1  # no STAGE at all: typer's usage error, one line too


def test_a_circuit_moved_meanwhile_fails_in_one_line(moto_lake: Callable[..., MotoLake],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    lake = moto_lake()
    read = HealthStore.circuit

    def read_then_healer_moves_it(store: HealthStore, stage: str) -> Circuit:
        circuit = read(store, stage)
        lake.put_circuit(Circuit(stage, State.OPEN, "glue failing", "transient", "glue", version=1))
        return circuit

    monkeypatch.setattr(HealthStore, "circuit", read_then_healer_moves_it)

    result = run("pause", "curation", code=1)

    assert result.stdout == ""
    assert result.stderr == ("error: curation's circuit changed meanwhile (the healer or another lakebox moved it), "
                             "and nothing was changed: run it again\n")
    assert lake.mapping(Stage.CURATION)["State"] == "Enabled"
