"""`lakebox query`: rows as a table, as JSON objects keyed by column (numbers typed by the engine's column types)
and as CSV with a header; a failed query prints the engine's message and exits non-zero."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console
from typer.testing import CliRunner

from lakebox import cli
from lakebox.commands import query as query_command
from lakebox.lake import render
from lakebox.lake.athena import QueryFailed, QueryResult
from lakebox.lake.bringup import describe
from lakebox.lake.render import json_rows, json_value
from lakebox_layer.settings import ResourceNames

RESULT = QueryResult(
    query_id="q-1",
    columns=["dt", "orders", "amount", "average", "note"],
    types=["varchar", "bigint", "decimal(10,2)", "double", "varchar"],
    rows=[["2026-01-01", "3", "12.50", "4.1666", 'say "hi", twice'],
          ["2026-01-02", "1", "3.00", "3.0", None]],
)
runner = CliRunner()


@pytest.mark.parametrize(("text", "kind", "value"), [
    ("42", "bigint", 42), ("-7", "integer", -7), ("2.5", "double", 2.5), ("true", "boolean", True),
    ("12.50", "decimal(10,2)", "12.50"), ("2026-01-01", "date", "2026-01-01"), (None, "bigint", None),
    ("NaN", "double", "NaN"), ("Infinity", "double", "Infinity"), ("n/a", "integer", "n/a"),
])
def test_json_values_are_typed_by_the_engines_column_type(text: str | None, kind: str, value: Any) -> None:
    assert json_value(text, kind) == value


def test_json_rows_are_objects_keyed_by_column_name() -> None:
    assert json_rows(RESULT) == [
        {"dt": "2026-01-01", "orders": 3, "amount": "12.50", "average": 4.1666, "note": 'say "hi", twice'},
        {"dt": "2026-01-02", "orders": 1, "amount": "3.00", "average": 3.0, "note": None},
    ]


def test_csv_has_a_header_quotes_where_needed_and_leaves_null_empty() -> None:
    text = render.query_csv(RESULT)

    assert text.splitlines()[0] == "dt,orders,amount,average,note"
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["2026-01-01", "3", "12.50", "4.1666", 'say "hi", twice'], ["2026-01-02", "1", "3.00", "3.0", ""]]


def test_the_table_shows_every_column_and_row_and_null_as_null() -> None:
    console = Console(width=200, record=True)
    console.print(render.query_table(RESULT))
    text = console.export_text()

    for column in RESULT.columns:
        assert column in text
    assert "2026-01-02" in text and "NULL" in text and "2 rows" in text


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, float]]:
    """The CLI against a fake query runner: no emulator, no network."""
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    calls: list[tuple[str, float]] = []

    def fake_run_query(target: Any, sql: str, deadline_s: float) -> QueryResult:
        calls.append((sql, deadline_s))
        if "nope" in sql:
            raise QueryFailed("query failed: COLUMN_NOT_FOUND: Column 'nope' cannot be resolved")
        return RESULT

    monkeypatch.setattr(query_command, "run_query", fake_run_query)
    return calls


def test_query_json_prints_row_objects(recorded: list[tuple[str, float]]) -> None:
    result = runner.invoke(cli.app, ["query", "SELECT 1", "--json", "--timeout", "9"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json_rows(RESULT)
    assert recorded == [("SELECT 1", 9.0)]


def test_query_csv_prints_exactly_the_csv(recorded: list[tuple[str, float]]) -> None:
    result = runner.invoke(cli.app, ["query", "SELECT 1", "--csv"])

    assert result.exit_code == 0, result.output
    assert result.stdout == render.query_csv(RESULT)


def test_query_prints_a_table_by_default(recorded: list[tuple[str, float]]) -> None:
    result = runner.invoke(cli.app, ["query", "SELECT 1"])

    assert result.exit_code == 0, result.output
    assert "orders" in result.stdout and "2026-01-01" in result.stdout


def test_a_failed_query_prints_the_engines_message_and_exits_non_zero(recorded: list[tuple[str, float]]) -> None:
    result = runner.invoke(cli.app, ["query", "SELECT nope FROM orders"])

    assert result.exit_code == 1
    assert "error: query failed: COLUMN_NOT_FOUND: Column 'nope' cannot be resolved" in result.output


def test_json_and_csv_together_are_a_usage_error(recorded: list[tuple[str, float]]) -> None:
    result = runner.invoke(cli.app, ["query", "SELECT 1", "--json", "--csv"])

    assert result.exit_code == 2
    assert recorded == []


def test_up_names_the_workgroup_queries_run_in_and_the_ingestion_apis_url() -> None:
    apis = boto3.client("apigatewayv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    target: Any = SimpleNamespace(endpoint="http://127.0.0.1:4566", region="us-east-1", project="lakebox",
                                  names=ResourceNames("lakebox", "000000000000", "us-east-1"),
                                  clients=SimpleNamespace(client=lambda service: apis))
    with Stubber(apis) as stub:
        stub.add_response("get_apis", {"Items": [
            {"ApiId": "other1", "Name": "other-ingest-api", "ProtocolType": "HTTP", "RouteSelectionExpression": "x"},
            {"ApiId": "abc123", "Name": "lakebox-ingest-api", "ProtocolType": "HTTP",
             "RouteSelectionExpression": "x"}]})
        stub.add_response("get_apis", {"Items": []})
        described = describe(target)
        assert described["athena_workgroup"] == "lakebox-workgroup"
        assert described["ingest_api"] == "http://127.0.0.1:4566/_aws/execute-api/abc123"
        assert describe(target)["ingest_api"] is None, "no API provisioned: null"
