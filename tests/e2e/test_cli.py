"""The CLI against the session's emulator, found through the state `up` records (no endpoint given)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakebox.cli import app
from tests.e2e.lake import Lake, Run

STATUS_FIELDS = {"key", "status", "quality_score", "errors", "destination", "process_id"}


def test_up_json_reuses_the_running_emulator_and_names_everything(lake: Lake, run: Run) -> None:
    described = json.loads(run("up", "--json"))

    assert described["endpoint"] == lake.target.endpoint
    for field in ("region", "raw_bucket", "processed_bucket", "quarantine_bucket", "metadata_table", "event_bus"):
        assert described[field], field
    assert described["raw_bucket"] == lake.names.raw_bucket
    assert described["glue_database"] == lake.names.glue_database
    assert described["dead_letter_queue"] == lake.names.dead_letter_queue
    assert described["metadata_table"] == lake.names.metadata_table


def test_ingest_wait_then_status(lake: Lake, run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    (folder / "nested").mkdir(parents=True)
    dataset = f"cli{uuid.uuid4().hex[:6]}"
    (folder / "good one.csv").write_text("id,email\n1,a@example.com\n")
    (folder / "nested" / "bad.json").write_text('{"id": 1, ')
    (folder / ".hidden").write_text("skipped")

    ingested = json.loads(run("ingest", str(folder), "--dataset", dataset, "--wait", "--json"))

    by_key = {row["key"]: row for row in ingested}
    assert set(by_key) == {f"input/{dataset}/good one.csv", f"input/{dataset}/nested/bad.json"}
    assert by_key[f"input/{dataset}/good one.csv"]["status"] == "processed"
    assert by_key[f"input/{dataset}/nested/bad.json"]["status"] == "quarantined"
    rows = {row["key"]: row for row in json.loads(run("status", "--json"))}
    for key, row in by_key.items():
        assert set(rows[key]) >= STATUS_FIELDS
        assert rows[key]["status"] == row["status"]
        assert rows[key]["process_id"] == row["process_id"]
    assert rows[f"input/{dataset}/nested/bad.json"]["errors"]
    assert rows[f"input/{dataset}/good one.csv"]["destination"].endswith(f"validated/{dataset}/good one.csv")


def test_ingest_of_a_missing_path_is_a_clear_error(
        lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in lake.cli_environment().items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.csv")])

    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_status_and_reconcile_as_text(lake: Lake, run: Run) -> None:
    key = f"input/cli-text-{uuid.uuid4().hex[:6]}.json"
    lake.outcome(lake.put_raw(key, b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}'))

    table = run("status", "--all")  # a page in key order might not reach this key on a busy lake
    reconciled = run("reconcile")

    assert "outcomes" in table and key in table and "processed" in table
    assert f"raw object versions at {lake.target.endpoint}:" in reconciled
