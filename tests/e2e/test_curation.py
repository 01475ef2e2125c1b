"""The curated zone on the running pipeline: every processed sample file becomes Parquet under
`curated/<dataset>/dt=.../`, its rows are queryable through Athena with the counts `sample_data/expected.json`
names, the Glue columns equal each Parquet file's schema, a redelivery adds nothing, a dataset without a contract
gets inferred types and widens, and a value that cannot take the table's type fails curation with a reason."""

from __future__ import annotations

import csv
import io
import json
import shlex
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from lakebox.cli import app
from lakebox.demo.samples import SAMPLE_DATA, expected_outcomes
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload, upload
from lakebox.lake.athena import run_query
from lakebox.lake.render import json_rows
from lakebox_layer.columns import Column
from lakebox_layer.privacy import TOKEN_COMMENT
from lakebox_layer.records import DEFAULT_DATASET, FileStatus
from tests.e2e.lake import Lake

CURATION_DEADLINE_S = 90.0


def curated(lake: Lake, process_id: str) -> dict[str, Any]:
    """The curation stage record of one file, once it exists."""
    records = lake.wait_for_stages(process_id, {"curation"}, deadline_s=CURATION_DEADLINE_S)
    [record] = [r for r in records if r["Stage"] == "curation"]
    return record


def query(lake: Lake, sql: str) -> list[dict[str, Any]]:
    return json_rows(run_query(lake.target, sql, deadline_s=60))


def glue_columns(lake: Lake, table: str) -> list[Column]:
    """The table's columns as Parquet has them: names and types (the comments on protected columns are Glue's)."""
    found = lake.client("glue").get_table(DatabaseName=lake.names.glue_database, Name=table)["Table"]
    return [Column(c.name, c.type) for c in map(Column.from_glue, found["StorageDescriptor"]["Columns"])]


def parquet_columns(lake: Lake, uri: str, tmp_path: Path) -> list[Column]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    local = tmp_path / f"{uuid.uuid4().hex}.parquet"
    lake.s3.download_file(bucket, key, str(local))
    with duckdb.connect() as db:
        described = db.execute(f"DESCRIBE SELECT * FROM read_parquet('{local}', hive_partitioning = false)").fetchall()
    types = {"BIGINT": "bigint", "DOUBLE": "double", "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
             "VARCHAR": "string"}
    return [Column(str(name), types.get(str(kind), str(kind))) for name, kind, *_ in described]


@pytest.fixture(scope="module")
def samples(lake: Lake) -> dict[str, Upload]:
    """Every sample file ingested as `lakebox demo` does, each processed one curated; uploads by raw key."""
    files = [(SAMPLE_DATA / name, name) for name in sorted(expected_outcomes())]
    uploads = upload(lake.target, files, DEFAULT_DATASET)
    rows = wait_for_outcomes(lake.target, [u.raw for u in uploads], deadline_s=CURATION_DEADLINE_S)
    for row in rows.values():
        if row.status is FileStatus.PROCESSED:
            curated(lake, row.process_id)
    return {u.raw.key: u for u in uploads}


def test_every_sample_dataset_is_queryable_with_the_expected_counts(lake: Lake, samples: dict[str, Upload]) -> None:
    expected = json.loads((SAMPLE_DATA / "expected.json").read_text())["curated_rows"]
    process_ids = ", ".join(f"'{u.raw.process_id}'" for u in samples.values())
    counts = {}
    for dataset in expected:
        [found] = query(lake, f'SELECT COUNT(*) AS n FROM "{dataset}" WHERE _process_id IN ({process_ids})')
        counts[dataset] = found["n"]
    assert counts == expected
    # Each processed file's curated rows are its valid records, and nothing else was curated.
    statuses = wait_for_outcomes(lake.target, [u.raw for u in samples.values()])
    for upload_ in samples.values():
        row = statuses[upload_.raw.process_id]
        if row.status is FileStatus.PROCESSED:
            assert curated(lake, row.process_id)["CuratedRows"] == row.records_valid, row.key
        else:
            assert "curation" not in {r["Stage"] for r in lake.stage_records(row.process_id)}, row.key


def test_orders_are_typed_partitioned_by_order_day_and_carry_lineage(lake: Lake, samples: dict[str, Upload]) -> None:
    orders = samples["input/orders/orders-2026-01.csv"]
    record = curated(lake, orders.raw.process_id)
    assert record["CurationStatus"] == "curated"
    assert record["Partitions"] == ["2026-01-02", "2026-01-03", "2026-01-05", "2026-01-06", "2026-01-07"]
    bucket = lake.names.processed_bucket
    assert sorted(record["CuratedObjects"]) == [
        f"s3://{bucket}/curated/orders/dt={day}/{orders.raw.process_id}_0.parquet" for day in record["Partitions"]]
    rows = query(lake, "SELECT currency, CAST(ordered_at AS DATE) AS day, COUNT(*) AS orders, SUM(amount) AS amount "
                       f"FROM orders WHERE _process_id = '{orders.raw.process_id}' GROUP BY 1, 2 ORDER BY 1, 2")
    assert rows == [
        {"currency": "EUR", "day": "2026-01-02", "orders": 1, "amount": 19.99},
        {"currency": "EUR", "day": "2026-01-05", "orders": 1, "amount": 7.25},
        {"currency": "EUR", "day": "2026-01-06", "orders": 1, "amount": 88.0},
        {"currency": "GBP", "day": "2026-01-03", "orders": 1, "amount": 120.5},
        {"currency": "USD", "day": "2026-01-02", "orders": 1, "amount": 5.0},
        {"currency": "USD", "day": "2026-01-07", "orders": 1, "amount": 15.0},
    ]
    [lineage] = query(lake, "SELECT DISTINCT _source_key, _source_version, _contract_version, dt FROM orders "
                            f"WHERE _process_id = '{orders.raw.process_id}' AND order_id = 1001")
    assert lineage["_source_key"] == "input/orders/orders-2026-01.csv"
    assert lineage["_source_version"] == orders.raw.version_id
    assert str(lineage["_contract_version"]).startswith("1.1.0+")
    assert lineage["dt"] == "2026-01-02"


def test_glue_columns_equal_every_curated_files_parquet_schema(lake: Lake, samples: dict[str, Upload],
                                                              tmp_path: Path) -> None:
    """Each file's Parquet has the table's columns as they were when it was curated: the same names, types and
    order; a file curated before a later one widened the table lacks only what that one added (here the token
    columns of personal data first found in a later default file)."""
    checked = 0
    for upload_ in samples.values():
        records = [r for r in lake.stage_records(upload_.raw.process_id) if r["Stage"] == "curation"]
        for record in records:
            table = lake.client("glue").get_table(DatabaseName=lake.names.glue_database, Name=record["Table"])
            described = [Column.from_glue(c) for c in table["Table"]["StorageDescriptor"]["Columns"]]
            for uri in record["CuratedObjects"]:
                written = parquet_columns(lake, uri, tmp_path)
                names = {c.name for c in written}
                assert written == [Column(c.name, c.type) for c in described if c.name in names], uri
                later = [c for c in described if c.name not in names]
                assert all((c.comment or "").startswith(TOKEN_COMMENT) for c in later), (uri, later)
                checked += 1
    assert checked >= 9  # four default files (one day each) and five order days


def test_a_redelivered_validation_event_curates_nothing_twice(lake: Lake, samples: dict[str, Upload]) -> None:
    readings = samples["input/readings.jsonl"]
    first = curated(lake, readings.raw.process_id)
    [before] = query(lake, f"SELECT COUNT(*) AS n FROM \"default\" WHERE _process_id = '{readings.raw.process_id}'")
    validation = next(r for r in lake.stage_records(readings.raw.process_id) if r["Stage"] == "validation")
    detail = {"process_id": readings.raw.process_id, "key": readings.raw.key, "dataset": "default",
              "arrived_at": str(validation["Timestamp"]).split("#")[0], "status": "processed",
              "quality_score": 100.0, "records_total": 3, "records_valid": 3, "errors": [],
              "destination": validation["Destination"], "format": "jsonl"}
    lake.send("curation", {"source": "datalake.validation", "detail-type": "Data Validated", "detail": detail})
    lake.wait_for_log("curation", readings.raw.process_id, "duplicate delivery: curation already recorded")
    records = [r for r in lake.stage_records(readings.raw.process_id) if r["Stage"] == "curation"]
    assert records == [first]
    [after] = query(lake, f"SELECT COUNT(*) AS n FROM \"default\" WHERE _process_id = '{readings.raw.process_id}'")
    assert after == before == {"n": 3}


def test_a_dataset_without_a_contract_is_inferred_then_widened(lake: Lake) -> None:
    dataset = f"loose_{uuid.uuid4().hex[:8]}"
    first = lake.put_raw(f"input/{dataset}/a.csv", b"id,amount,seen\n1,2.5,2026-03-01\n2,4,2026-03-02\n")
    assert lake.outcome(first).status is FileStatus.PROCESSED
    assert curated(lake, first.process_id)["CurationStatus"] == "curated"
    assert [(c.name, c.type) for c in glue_columns(lake, dataset)][:3] == [
        ("id", "bigint"), ("amount", "double"), ("seen", "date")]

    second = lake.put_raw(f"input/{dataset}/b.jsonl",
                          b'{"id": 3, "amount": 1, "seen": "2026-03-03", "tags": {"vip": true}, "note": "late"}\n')
    assert lake.outcome(second).status is FileStatus.PROCESSED
    assert curated(lake, second.process_id)["CurationStatus"] == "curated"
    names = [(c.name, c.type) for c in glue_columns(lake, dataset) if not c.name.startswith("_")]
    assert names == [("id", "bigint"), ("amount", "double"), ("seen", "date"), ("tags", "string"),
                     ("note", "string")]
    rows = query(lake, f"SELECT id, amount, note, json_extract_string(tags, '$.vip') AS vip FROM {dataset} ORDER BY id")
    assert rows == [{"id": 1, "amount": 2.5, "note": None, "vip": None},
                    {"id": 2, "amount": 4.0, "note": None, "vip": None},
                    {"id": 3, "amount": 1.0, "note": "late", "vip": "true"}]


def test_a_value_that_cannot_take_the_tables_type_fails_curation_with_the_reason(lake: Lake) -> None:
    dataset = f"typed_{uuid.uuid4().hex[:8]}"
    first = lake.put_raw(f"input/{dataset}/a.csv", b"id,qty\n1,5\n")
    assert lake.outcome(first).status is FileStatus.PROCESSED
    assert curated(lake, first.process_id)["CurationStatus"] == "curated"
    second = lake.put_raw(f"input/{dataset}/b.csv", b"id,qty\n2,many\n")
    assert lake.outcome(second).status is FileStatus.PROCESSED
    record = curated(lake, second.process_id)
    assert record["CurationStatus"] == "failed"
    assert "qty" in record["Reason"] and "bigint" in record["Reason"] and "many" in record["Reason"]
    assert record["CuratedObjects"] == []
    assert not lake.keys(lake.names.processed_bucket, f"curated/{dataset}/dt=") or all(
        first.process_id in key for key in lake.keys(lake.names.processed_bucket, f"curated/{dataset}/"))
    # The validated copy stays where validation put it.
    assert lake.keys(lake.names.processed_bucket, f"validated/{dataset}/b.csv") == [f"validated/{dataset}/b.csv"]


def querying_page_examples() -> list[list[str]]:
    """The `lakebox query` lines of the querying page, docs/querying.md, as a shell splits them."""
    page = (Path(__file__).parents[2] / "docs" / "querying.md").read_text()
    return [shlex.split(line)[1:] for line in page.splitlines() if line.startswith("lakebox query ")]


def test_the_querying_pages_examples_run_as_written(lake: Lake, samples: dict[str, Upload],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    examples = querying_page_examples()
    assert len(examples) == 3
    monkeypatch.delenv("LAKEBOX_STATE_DIR", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", lake.target.endpoint or "")
    outputs = []
    for args in examples:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.stdout)
    assert "EUR" in outputs[0] and "GBP" in outputs[0] and "USD" in outputs[0]
    by_day = json.loads(outputs[1])
    assert by_day and all(row["dt"] >= "2026-01-03" and row["orders"] >= 1 for row in by_day)
    header, *rows = list(csv.reader(io.StringIO(outputs[2])))
    assert header == ["_source_key", "n"]
    assert [r[0] for r in rows if r[0] == "input/readings.jsonl"] == ["input/readings.jsonl"]
