"""The CLI against the session's emulator, found through the state `up` records (no endpoint given)."""

from __future__ import annotations

import json
import uuid

import pytest
from typer.testing import CliRunner

from lakebox.cli import app

STATUS_FIELDS = {"key", "status", "quality_score", "errors", "destination", "process_id"}


@pytest.fixture
def run(lake, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in lake.cli_environment().items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def test_up_json_reuses_the_running_emulator_and_names_everything(lake, run) -> None:
    described = json.loads(run("up", "--json"))

    assert described["endpoint"] == lake.target.endpoint
    for field in ("region", "raw_bucket", "processed_bucket", "quarantine_bucket", "metadata_table", "event_bus"):
        assert described[field], field
    assert described["raw_bucket"] == lake.names.raw_bucket
    assert described["metadata_table"] == lake.names.metadata_table


def test_ingest_wait_then_status(lake, run, tmp_path) -> None:
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


def test_ingest_of_a_missing_path_is_a_clear_error(lake, monkeypatch, tmp_path) -> None:
    for name, value in lake.cli_environment().items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope.csv")])

    assert result.exit_code == 1
    assert "no such file or folder" in result.output
