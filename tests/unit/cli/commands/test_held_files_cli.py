"""`lakebox status` and `lakebox reconcile` say why a file waits when the stage it waits for is held, on moto's AWS:
the circuit of each stage waited for read once, the files of the other stages untouched."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from lakebox import cli
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import Circuit, State
from tests.fakes.metadata import file_records
from tests.unit.cli.moto_lake import MotoLake

runner = CliRunner()
# Today 00:01 UTC, and the commands' clock an hour later (the same day, however long the run takes and whenever it
# starts), so the line says the hour alone.
SINCE = datetime.now(UTC).replace(hour=0, minute=1, second=0, microsecond=0).timestamp()
NOW = SINCE + 3600
GLUE_DOWN = Circuit("curation", State.OPEN, "glue failing: 12 transient failures", "transient", "glue", since=SINCE,
                    version=1)
WHY = "curation paused since 00:01 UTC, glue failing"


@pytest.fixture
def lake(moto_lake: Callable[..., MotoLake], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoLake:
    """Three raw files: one awaiting curation, one awaiting quality, one finished; curation's circuit open."""
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path))
    for command in ("lakebox.commands.status", "lakebox.reconcile.accounting"):
        monkeypatch.setattr(f"{command}.time", SimpleNamespace(time=lambda: NOW))
    lake = moto_lake()
    curating, judging, done = (lake.upload(f"input/{name}.json") for name in ("curating", "judging", "done"))
    lake.put_records(*file_records(curating.key, curating.process_id)[:3],
                     *file_records(judging.key, judging.process_id)[:2],
                     *file_records(done.key, done.process_id))
    lake.put_circuit(GLUE_DOWN)
    return lake


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stages whose circuit a command reads."""
    read, stages = HealthStore.circuit, []

    def counted(store: HealthStore, stage: str) -> Circuit:
        stages.append(stage)
        return read(store, stage)

    monkeypatch.setattr(HealthStore, "circuit", counted)
    return stages


def test_status_says_why_a_file_waits_for_a_paused_stage(lake: MotoLake, reads: list[str]) -> None:
    result = runner.invoke(cli.app, ["status"])

    assert result.exit_code == 0, result.output
    [curating] = [line for line in result.stdout.splitlines() if "input/curating.json" in line]
    assert "processed" in curating and WHY in curating
    [judging] = [line for line in result.stdout.splitlines() if "input/judging.json" in line]
    assert "paused" not in judging
    assert sorted(reads) == ["curation", "quality"], "one read per stage waited for"


@pytest.mark.parametrize("args", [["--json"], ["--json", "--limit", "10"]])
def test_status_json_says_it_in_held(lake: MotoLake, reads: list[str], args: list[str]) -> None:
    result = runner.invoke(cli.app, ["status", *args])

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    rows = printed if isinstance(printed, list) else printed["files"]
    assert {row["key"]: row["held"] for row in rows} == {
        "input/curating.json": WHY, "input/judging.json": None, "input/done.json": None}


def test_status_of_files_waiting_for_nothing_reads_no_circuit(moto_lake: Callable[..., MotoLake],
                                                               reads: list[str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path))
    lake = moto_lake()
    lake.put_records(*file_records("input/done.json", "p1"))
    lake.put_circuit(GLUE_DOWN)

    result = runner.invoke(cli.app, ["status"])

    assert result.exit_code == 0, result.output
    assert "waits on" not in result.stdout and reads == []


def test_reconcile_says_why_a_file_waits_for_a_paused_stage(lake: MotoLake, reads: list[str]) -> None:
    result = runner.invoke(cli.app, ["reconcile"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        f"  unfinished  awaiting curation input/curating.json  ({WHY})",
        "  unfinished  awaiting quality  input/judging.json"]
    assert sorted(reads) == ["curation", "quality"]


def test_reconcile_json_says_it_in_held(lake: MotoLake) -> None:
    lake.put_circuit(Circuit("quality", State.OPEN, "schema review", "manual", since=time.time(), version=1))

    result = runner.invoke(cli.app, ["reconcile", "--json"])

    assert result.exit_code == 0, result.output
    unfinished = {u["key"]: (u["status"], u["held"]) for u in json.loads(result.stdout)["unfinished"]}
    assert unfinished["input/curating.json"] == ("awaiting curation", WHY)
    status, held = unfinished["input/judging.json"]
    assert status == "awaiting quality" and held.startswith("quality paused by hand since ")
    assert held.endswith(": schema review")
