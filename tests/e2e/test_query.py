"""`lakebox query` through Athena over a curated dataset: Parquet under `curated/<dataset>/dt=.../` and its Glue
table, as the curation stage will leave them. The CLI acts as the operator user, so under enforced IAM
(LAKEBOX_TEST_STRICT_IAM=1) the operator's policy must suffice. The SQL stays in the subset DuckDB (local) and
Trino (AWS) share."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner, Result

from lakebox.cli import app
from lakebox.emulator.identities import issue_credentials
from tests.e2e.lake import Lake

ORDERS = [  # (dt, sku, quantity)
    ("2026-01-01", "AB-100", 2), ("2026-01-01", "AB-200", 3),
    ("2026-01-02", "AB-100", 1),
    ("2026-01-03", "CD-300", 4), ("2026-01-03", "AB-100", 5), ("2026-01-03", "AB-200", 0),
]
SQL = ("SELECT dt, COUNT(*) AS orders, SUM(quantity) AS units FROM {table} WHERE quantity > 0 "
       "GROUP BY dt ORDER BY dt")
EXPECTED = [{"dt": "2026-01-01", "orders": 2, "units": 5}, {"dt": "2026-01-02", "orders": 1, "units": 1},
            {"dt": "2026-01-03", "orders": 2, "units": 9}]
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


@dataclass(frozen=True)
class Curated:
    table: str
    location: str


def write_parquet(folder: Path) -> list[Path]:
    """The orders as Parquet, one folder per day (`dt=.../x_0.parquet`), written by the local DuckDB."""
    values = ", ".join(f"('{dt}', '{sku}', CAST({quantity} AS BIGINT))" for dt, sku, quantity in ORDERS)
    with duckdb.connect() as connection:
        connection.execute(
            f"COPY (SELECT * FROM (VALUES {values}) AS orders(dt, sku, quantity)) TO '{folder}' "
            "(FORMAT parquet, PARTITION_BY (dt), FILENAME_PATTERN 'x_{i}')")
    return sorted(folder.rglob("*.parquet"))


@pytest.fixture
def curated(lake: Lake, tmp_path: Path) -> Iterator[Curated]:
    """A curated dataset: its Parquet files in the processed bucket and its Glue table with one partition per day."""
    dataset = f"query_{uuid.uuid4().hex[:8]}"
    bucket = lake.names.processed_bucket
    prefix = f"curated/{dataset}/"
    location = f"s3://{bucket}/{prefix}"
    files = write_parquet(tmp_path / "parquet")
    for path in files:
        lake.s3.put_object(Bucket=bucket, Key=prefix + path.relative_to(tmp_path / "parquet").as_posix(),
                           Body=path.read_bytes())
    glue = lake.client("glue")
    database = lake.names.glue_database
    glue.create_table(DatabaseName=database, TableInput={
        "Name": dataset, "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "parquet"},
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {"Columns": [{"Name": "sku", "Type": "string"}, {"Name": "quantity", "Type": "bigint"}],
                              "Location": location, **PARQUET},
    })
    # Athena on AWS reads only registered partitions; MiniStack finds them from the dt= folders.
    days = sorted({dt for dt, _, _ in ORDERS})
    glue.batch_create_partition(DatabaseName=database, TableName=dataset, PartitionInputList=[
        {"Values": [day], "StorageDescriptor": {"Location": f"{location}dt={day}/", **PARQUET}} for day in days])
    try:
        yield Curated(dataset, location)
    finally:
        glue.delete_table(DatabaseName=database, Name=dataset)
        for key in lake.keys(bucket, prefix):
            lake.s3.delete_object(Bucket=bucket, Key=key)


@pytest.fixture
def query(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI that reaches the session's emulator as the operator user, the identity `lakebox up --strict-iam` gives
    it (the keys work whether or not the emulator enforces IAM)."""
    credentials = issue_credentials(lake.client("iam"), lake.topology)
    monkeypatch.delenv("LAKEBOX_STATE_DIR", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", lake.target.endpoint or "")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials["aws_secret_access_key"])
    return CliRunner()


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["query", *args, "--timeout", "60"])


def test_a_group_by_over_a_curated_table_in_every_form(curated: Curated, query: CliRunner) -> None:
    sql = SQL.format(table=curated.table)

    as_json = run(query, sql, "--json")
    as_csv = run(query, sql, "--csv")
    as_table = run(query, sql)

    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == EXPECTED
    assert as_csv.exit_code == 0, as_csv.output
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["dt", "orders", "units"], ["2026-01-01", "2", "5"], ["2026-01-02", "1", "1"], ["2026-01-03", "2", "9"]]
    assert as_table.exit_code == 0, as_table.output
    cells = [[cell.strip() for cell in re.split("[│┃|]", line)[1:-1]] for line in as_table.stdout.splitlines()]
    assert [row for row in cells if len(row) == 3] == [
        ["dt", "orders", "units"], ["2026-01-01", "2", "5"], ["2026-01-02", "1", "1"], ["2026-01-03", "2", "9"]]
    assert "3 rows" in as_table.stdout


def test_an_unknown_column_fails_with_the_engines_message(curated: Curated, query: CliRunner) -> None:
    failed = run(query, f"SELECT no_such_column FROM {curated.table}")

    assert failed.exit_code == 1
    assert "error: query failed:" in failed.output
    assert "no_such_column" in failed.output
