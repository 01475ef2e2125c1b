"""ParquetEngine on real DuckDB and local files: the Parquet schema is the Glue table's (names, order, types), values
keep their meaning through the casts, rows land in the right day partition under deterministic names, a value that
does not cast fails with its column named, and every row carries its lineage."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakebox_infra.contract_files import contracts
from lakebox_layer.columns import MAX_COLUMNS, Column, contract_columns, table_columns
from lakebox_layer.exceptions import CurationRejected
from lakebox_layer.parquet import CuratedPart, Lineage, ParquetEngine, memory_limit, object_limit
from lakebox_layer.parsing import MAX_JSON_OBJECT_BYTES, MAX_LINE_CHARS
from lakebox_layer.records import FileFormat

ORDERS = next(c for c in contracts() if c.dataset == "orders")
ORDER_COLUMNS = contract_columns(ORDERS) or []
LINEAGE = Lineage("pid-1", "input/orders/day.csv", "v7", "1.1.0+abcd1234", "2026-01-17T09:30:00.250+00:00")
ARRIVAL = "2026-01-17"
ORDERS_CSV = (
    "order_id,customer_email,phone,amount,currency,ordered_at,sku\n"
    "1,a@example.com,+1-555-123-4567,10.5,EUR,2026-01-15T10:30:00Z,AB-123\n"
    "2,b@example.com,,99999.99,USD,2026-01-15T01:00:00+02:00,\n"
    "3,c@example.com,,0,GBP,2026-01-16T23:59:59,CD-4567\n"
    "4,d@example.com,,7.25,EUR,,\n"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ParquetEngine]:
    engine = ParquetEngine(tmp_path / "work")
    yield engine
    engine.close()


def put(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def write(engine: ParquetEngine, path: Path, columns: list[Column], *, file_format: FileFormat = FileFormat.CSV,
          compression: str | None = None, partition_by: str | None = None, out: str = "out",
          stem: str = "pid-1") -> list[CuratedPart]:
    source = engine.source(path, file_format, compression)
    return engine.write(source, columns, LINEAGE, partition_by=partition_by, arrival_day=ARRIVAL,
                        out_dir=path.parent / out, stem=stem)


def rows(*paths: Path, select: str = "*", order: str = "1") -> list[tuple[Any, ...]]:
    files = ", ".join(f"'{p}'" for p in paths)
    with duckdb.connect() as db:
        query = f"SELECT {select} FROM read_parquet([{files}], hive_partitioning = false) ORDER BY {order}"
        return db.execute(query).fetchall()


def by_day(parts: list[CuratedPart]) -> dict[str, int]:
    return {part.dt: part.rows for part in parts}


# -- the schema Glue declares is the schema the files carry -----------------------------------------------------


def test_the_parquet_schema_is_the_glue_table_schema(engine: ParquetEngine, tmp_path: Path) -> None:
    parts = write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS, partition_by="ordered_at")
    assert parts
    for part in parts:
        assert engine.parquet_schema(part.path) == table_columns(ORDER_COLUMNS)


def test_every_glue_type_is_written_as_itself(engine: ParquetEngine, tmp_path: Path) -> None:
    columns = [Column("s", "string"), Column("b", "boolean"), Column("t", "timestamp"), Column("d", "date"),
               Column("x", "double"), Column("i", "bigint")]
    [part] = write(engine, put(tmp_path, "all.csv", "i,x,d,t,b,s\n1,2.5,2026-01-01,2026-01-01T00:00:00,true,s\n"),
                   columns)
    assert engine.parquet_schema(part.path) == table_columns(columns)


def test_values_keep_their_meaning(engine: ParquetEngine, tmp_path: Path) -> None:
    parts = write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS)
    got = rows(*(p.path for p in parts), select="order_id, amount, ordered_at, phone, sku")
    assert got == [
        (1, 10.5, datetime(2026, 1, 15, 10, 30), "+1-555-123-4567", "AB-123"),
        (2, 99999.99, datetime(2026, 1, 14, 23, 0), None, None),  # +02:00 stored in UTC; empty cell is NULL
        (3, 0.0, datetime(2026, 1, 16, 23, 59, 59), None, "CD-4567"),  # no offset: already UTC
        (4, 7.25, None, None, None),
    ]


def test_dates_booleans_and_empty_cells(engine: ParquetEngine, tmp_path: Path) -> None:
    columns = [Column("n", "bigint"), Column("on", "boolean"), Column("day", "date"), Column("x", "double")]
    csv = put(tmp_path, "f.csv", "n,on,day,x\n1,true,2026-02-28,1e3\n2,FALSE,,-0.5\n3,,2024-02-29,\n")
    [part] = write(engine, csv, columns)
    assert rows(part.path, select='n, "on", day, x') == [
        (1, True, date(2026, 2, 28), 1000.0), (2, False, None, -0.5), (3, None, date(2024, 2, 29), None)]


# -- day partitions and file names ------------------------------------------------------------------------------


def test_rows_are_partitioned_by_the_day_of_the_partition_field(engine: ParquetEngine, tmp_path: Path) -> None:
    parts = write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS, partition_by="ordered_at")
    # 2026-01-15T01:00+02:00 is the 14th in UTC; the row without ordered_at goes to the arrival day.
    assert by_day(parts) == {"2026-01-14": 1, "2026-01-15": 1, "2026-01-16": 1, ARRIVAL: 1}
    for part in parts:
        assert part.path == tmp_path / "out" / f"dt={part.dt}" / "pid-1_0.parquet"
        assert rows(part.path, select="count(*)") == [(part.rows,)]
    [(ids,)] = rows(next(p.path for p in parts if p.dt == ARRIVAL), select="list(order_id)")
    assert ids == [4]


def test_a_date_field_partitions_too(engine: ParquetEngine, tmp_path: Path) -> None:
    columns = [Column("id", "bigint"), Column("day", "date")]
    csv = put(tmp_path, "d.csv", "id,day\n1,2026-03-01\n2,2026-03-01\n3,2026-03-02\n4,\n")
    assert by_day(write(engine, csv, columns, partition_by="day")) == {"2026-03-01": 2, "2026-03-02": 1, ARRIVAL: 1}


def test_without_a_partition_field_every_row_goes_to_the_arrival_day(engine: ParquetEngine, tmp_path: Path) -> None:
    parts = write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS)
    assert by_day(parts) == {ARRIVAL: 4}
    assert [p.path.name for p in parts] == ["pid-1_0.parquet"]


def test_a_partition_field_that_is_not_a_date_is_ignored(engine: ParquetEngine, tmp_path: Path) -> None:
    parts = write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS, partition_by="currency")
    assert by_day(parts) == {ARRIVAL: 4}


def test_writing_again_gives_the_same_files_overwritten(engine: ParquetEngine, tmp_path: Path) -> None:
    csv = put(tmp_path, "orders.csv", ORDERS_CSV)
    first = write(engine, csv, ORDER_COLUMNS, partition_by="ordered_at")
    second = write(engine, csv, ORDER_COLUMNS, partition_by="ordered_at")
    assert [(p.dt, p.path) for p in second] == [(p.dt, p.path) for p in first]
    assert by_day(second) == by_day(first)
    assert sorted((tmp_path / "out").rglob("*.parquet")) == sorted(p.path for p in first)
    assert rows(*(p.path for p in second), select="count(*)") == [(4,)]


def test_a_stem_that_is_not_a_plain_name_is_refused(engine: ParquetEngine, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="stem"):
        write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS, stem="../escape")


# -- JSON, JSON Lines, gzip -------------------------------------------------------------------------------------


def test_nested_json_values_are_json_text(engine: ParquetEngine, tmp_path: Path) -> None:
    lines = [{"id": 1, "customer": {"name": "Ann", "tags": ["a", "b"]}, "items": [{"sku": "AB-1"}, {"sku": "CD-2"}]},
             {"id": 2, "customer": None}]
    path = put(tmp_path, "n.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    source = engine.source(path, FileFormat.JSON_LINES, None)
    assert source.names == ["id", "customer", "items"]
    columns = engine.infer(source)
    assert columns == [Column("id", "bigint"), Column("customer", "string"), Column("items", "string")]
    [part] = engine.write(source, columns, LINEAGE, partition_by=None, arrival_day=ARRIVAL,
                          out_dir=tmp_path / "out", stem="p")
    nested = ("id, json_extract_string(customer, '$.name'), json_extract_string(customer, '$.tags[1]'), "
              "json_extract_string(items, '$[1].sku'), json_array_length(items)")
    assert rows(part.path, select=nested) == [(1, "Ann", "b", "CD-2", 2), (2, None, None, None, None)]


def test_a_single_json_document(engine: ParquetEngine, tmp_path: Path) -> None:
    path = put(tmp_path, "one.json", json.dumps({"id": 5, "ok": True, "at": "2026-01-15T10:00:00Z"}))
    source = engine.source(path, FileFormat.JSON, None)
    columns = engine.infer(source)
    assert columns == [Column("id", "bigint"), Column("ok", "boolean"), Column("at", "timestamp")]
    [part] = engine.write(source, columns, LINEAGE, partition_by="at", arrival_day=ARRIVAL,
                          out_dir=tmp_path / "out", stem="p")
    assert (part.dt, part.rows) == ("2026-01-15", 1)
    assert rows(part.path, select='id, ok, "at"') == [(5, True, datetime(2026, 1, 15, 10))]


def test_a_json_array_document_fields_in_first_seen_order(engine: ParquetEngine, tmp_path: Path) -> None:
    path = put(tmp_path, "many.json", json.dumps([{"b": 1, "a": "x"}, {"a": "y", "c": 2.5}, {"b": 3}]))
    source = engine.source(path, FileFormat.JSON, None)
    assert source.names == ["b", "a", "c"]
    columns = engine.infer(source)
    assert columns == [Column("b", "bigint"), Column("a", "string"), Column("c", "double")]
    [part] = engine.write(source, columns, LINEAGE, partition_by=None, arrival_day=ARRIVAL,
                          out_dir=tmp_path / "out", stem="p")
    assert rows(part.path, select="b, a, c", order="a NULLS LAST") == [(1, "x", None), (None, "y", 2.5),
                                                                       (3, None, None)]


def test_a_csv_line_as_long_as_validation_accepts_is_read(engine: ParquetEngine, tmp_path: Path) -> None:
    """3 MiB is over DuckDB's default line size (2 MB) and within validation's 16 Mi characters."""
    assert MAX_LINE_CHARS > 3 * 1024 * 1024
    path = put(tmp_path, "wide.csv", "id,payload\n1," + "x" * (3 * 1024 * 1024) + "\n2,y\n")
    source = engine.source(path, FileFormat.CSV, None)
    [part] = engine.write(source, engine.infer(source), LINEAGE, partition_by=None, arrival_day=ARRIVAL,
                          out_dir=tmp_path / "out", stem="p")
    assert rows(part.path, select="id, length(payload)") == [(1, 3 * 1024 * 1024), (2, 1)]


@pytest.mark.parametrize(("function_mb", "expected"), [(1024, MAX_JSON_OBJECT_BYTES), (512, MAX_JSON_OBJECT_BYTES),
                                                         (256, 16 * 1024 * 1024), (128, 16 * 1024 * 1024)])
def test_the_object_bound_is_validations_where_the_memory_holds_it(monkeypatch: pytest.MonkeyPatch,
                                                                  function_mb: int, expected: int) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", str(function_mb))
    limit = memory_limit()
    assert object_limit(limit) == expected
    assert expected * 2 <= int(limit.removesuffix("MB")) * 1024 * 1024 or expected == 16 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("file_format", [FileFormat.JSON, FileFormat.JSON_LINES])
def test_an_object_as_large_as_validation_accepts_is_read(engine: ParquetEngine, tmp_path: Path,
                                                          file_format: FileFormat) -> None:
    """A 20 MiB string is over DuckDB's default object size (16 MiB) and well within validation's limits."""
    record = {"id": 1, "payload": "é" * (10 * 1024 * 1024)}  # 20 MiB in UTF-8
    path = put(tmp_path, "big.json", json.dumps(record, ensure_ascii=False) + "\n")
    source = engine.source(path, file_format, None)
    assert source.names == ["id", "payload"]
    [part] = engine.write(source, engine.infer(source), LINEAGE, partition_by=None, arrival_day=ARRIVAL,
                          out_dir=tmp_path / "out", stem="p")
    assert rows(part.path, select="id, length(payload)") == [(1, 10 * 1024 * 1024)]


@pytest.mark.parametrize("file_format", [FileFormat.JSON, FileFormat.JSON_LINES])
def test_json_duckdb_cannot_read_fails_the_files_curation_with_the_reason(engine: ParquetEngine, tmp_path: Path,
                                                                           file_format: FileFormat) -> None:
    path = put(tmp_path, "broken.json", '{"id": 1, "a": \n')
    with pytest.raises(CurationRejected, match=r"the processed file cannot be read: .*JSON"):
        engine.source(path, file_format, None)


def test_a_gzip_csv(engine: ParquetEngine, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv.gz"
    path.write_bytes(gzip.compress(ORDERS_CSV.encode()))
    parts = write(engine, path, ORDER_COLUMNS, compression="gzip", partition_by="ordered_at")
    assert sum(p.rows for p in parts) == 4
    assert rows(*(p.path for p in parts), select="order_id") == [(1,), (2,), (3,), (4,)]


@pytest.mark.parametrize(("header", "says"), [("id,dt", "partition key"), ("Id,id", "differ only in case"),
                                            ("id, ID ", "differ only in case"), ("id,", "empty name")])
def test_csv_names_a_table_cannot_have_are_refused(engine: ParquetEngine, tmp_path: Path, header: str,
                                                   says: str) -> None:
    # DuckDB would rename "Id,id" to "Id,id_1" and "id," to "id,column1": the header as written is checked.
    with pytest.raises(CurationRejected, match=says):
        engine.source(put(tmp_path, "bad.csv", f"{header}\n1,2\n"), FileFormat.CSV, None)


def test_csv_header_names_are_trimmed(engine: ParquetEngine, tmp_path: Path) -> None:
    assert engine.source(put(tmp_path, "a.csv", "id, name \n1,x\n"), FileFormat.CSV, None).names == ["id", "name"]


@pytest.mark.parametrize(("record", "says"), [({"id": 1, "DT": 2}, "partition key"),
                                              ({"a": 1, "A": 2}, "differ only in case"), ({"": 1}, "empty name")])
def test_json_names_a_table_cannot_have_are_refused(engine: ParquetEngine, tmp_path: Path, record: dict[str, int],
                                                    says: str) -> None:
    with pytest.raises(CurationRejected, match=says):
        engine.source(put(tmp_path, "bad.jsonl", json.dumps(record) + "\n"), FileFormat.JSON_LINES, None)


# -- inference --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "expected"), [
    (["1", "-20", "+3", "0"], "bigint"),
    (["007", "12"], "string"),  # a leading zero is an identifier: a number would lose it
    (["1.5", "2", "-3e2", ".5"], "double"),
    (["00.5"], "string"),
    (["true", "FALSE", "True"], "boolean"),
    (["2026-01-15", "2024-02-29"], "date"),
    (["2026-02-30"], "string"),  # looks like a date, is none
    (["2026-01-15T10:30:00Z", "2026-01-15 10:30", "2026-01-15T10:30:00.123+02:00"], "timestamp"),
    (["2026-01-15T25:00:00"], "string"),
    (["2026-01-15", "2026-01-15T10:30:00"], "string"),
    (["1", "x"], "string"),
    (["1", "true"], "string"),
    (["", ""], "string"),  # no value at all
    (["", "5"], "bigint"),  # nulls do not count
])
def test_inference(engine: ParquetEngine, tmp_path: Path, values: list[str], expected: str) -> None:
    path = put(tmp_path, "i.csv", "k,v\n" + "".join(f"{n},{v}\n" for n, v in enumerate(values)))
    columns = engine.infer(engine.source(path, FileFormat.CSV, None))
    assert columns == [Column("k", "bigint"), Column("v", expected)]
    write(engine, path, columns)  # what inference decides always casts


def test_inference_of_an_empty_file(engine: ParquetEngine, tmp_path: Path) -> None:
    path = put(tmp_path, "empty.csv", "a,b\n")
    columns = engine.infer(engine.source(path, FileFormat.CSV, None))
    assert columns == [Column("a", "string"), Column("b", "string")]
    assert write(engine, path, columns) == []


# -- values that do not cast ------------------------------------------------------------------------------------


def test_a_value_that_does_not_cast_names_the_column_and_the_first_bad_value(engine: ParquetEngine,
                                                                           tmp_path: Path) -> None:
    csv = put(tmp_path, "bad.csv", "id,amount\n1,2.5\nabc,3\n2,4\nxyz,5\n")
    with pytest.raises(CurationRejected) as rejected:
        write(engine, csv, [Column("id", "bigint"), Column("amount", "double")])
    assert "'id'" in rejected.value.reason and "bigint" in rejected.value.reason
    assert "2 value(s)" in rejected.value.reason and "'abc'" in rejected.value.reason
    assert not list((tmp_path / "out").rglob("*.parquet"))


@pytest.mark.parametrize(("glue_type", "bad"), [("timestamp", "yesterday"), ("date", "2026-13-01"),
                                                ("boolean", "maybe"), ("double", "1,5")])
def test_each_type_names_its_bad_value(engine: ParquetEngine, tmp_path: Path, glue_type: str, bad: str) -> None:
    csv = put(tmp_path, "bad.csv", f'v\n"{bad}"\n')
    with pytest.raises(CurationRejected) as rejected:
        write(engine, csv, [Column("v", glue_type)])
    assert f"column 'v' is {glue_type}" in rejected.value.reason and repr(bad) in rejected.value.reason


# -- lineage and missing columns --------------------------------------------------------------------------------


def test_every_row_carries_its_lineage(engine: ParquetEngine, tmp_path: Path) -> None:
    parts = write(engine, put(tmp_path, "orders.csv", ORDERS_CSV), ORDER_COLUMNS, partition_by="ordered_at")
    lineage = rows(*(p.path for p in parts), select="DISTINCT _process_id, _source_key, _source_version, "
                                                    "_contract_version, _ingested_at")
    ingested = datetime(2026, 1, 17, 9, 30, 0, 250000)
    assert lineage == [("pid-1", "input/orders/day.csv", "v7", "1.1.0+abcd1234", ingested)]


def test_lineage_without_a_version(engine: ParquetEngine, tmp_path: Path) -> None:
    source = engine.source(put(tmp_path, "a.csv", "a\n1\n"), FileFormat.CSV, None)
    lineage = Lineage("p", "input/a.csv", None, None, "2026-01-17T09:30:00+02:00")
    [part] = engine.write(source, [Column("a", "bigint")], lineage, partition_by=None, arrival_day=ARRIVAL,
                          out_dir=tmp_path / "out", stem="p")
    assert rows(part.path, select="_source_version, _contract_version, _ingested_at") == [
        (None, None, datetime(2026, 1, 17, 7, 30))]


def test_a_column_the_file_lacks_is_null_of_its_type(engine: ParquetEngine, tmp_path: Path) -> None:
    columns = [Column("a", "bigint"), Column("gone_n", "bigint"), Column("gone_t", "timestamp"),
               Column("gone_s", "string")]
    [part] = write(engine, put(tmp_path, "a.csv", "a\n1\n2\n"), columns)
    assert engine.parquet_schema(part.path) == table_columns(columns)
    assert rows(part.path, select="a, gone_n, gone_t, gone_s") == [(1, None, None, None), (2, None, None, None)]


def test_a_file_column_the_table_lacks_is_left_out(engine: ParquetEngine, tmp_path: Path) -> None:
    [part] = write(engine, put(tmp_path, "a.csv", "a,extra\n1,x\n"), [Column("a", "bigint")])
    assert engine.parquet_schema(part.path) == table_columns([Column("a", "bigint")])


# -- memory -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "limit"), [("1024", "614MB"), ("3008", "1804MB"), ("512", "307MB"),
                                            ("256", "96MB"), ("128", "64MB"), ("64", "64MB"),
                                            ("lots", "614MB"), (None, "614MB")])
def test_memory_limit_is_a_share_of_the_function_memory(monkeypatch: pytest.MonkeyPatch, env: str | None,
                                                        limit: str) -> None:
    if env is None:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", env)
    assert memory_limit() == limit


def test_the_engine_applies_the_memory_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    engine = ParquetEngine(tmp_path / "w")
    try:
        with duckdb.connect(config={"memory_limit": "1228MB"}) as reference:
            expected = reference.execute("SELECT current_setting('memory_limit')").fetchall()
        assert engine.db.execute("SELECT current_setting('memory_limit')").fetchall() == expected
        assert (tmp_path / "w" / "duckdb-spill").is_dir()
    finally:
        engine.close()


def test_a_file_wider_than_a_table_may_be_is_refused_before_duckdb_reads_it(engine: ParquetEngine,
                                                                              tmp_path: Path) -> None:
    width = MAX_COLUMNS + 1
    path = put(tmp_path, "wide.csv", ",".join(f"c{i}" for i in range(width)) + "\n" + ",".join("1" * width) + "\n")
    with pytest.raises(CurationRejected, match=f"{width:,} columns; a curated table keeps at most {MAX_COLUMNS:,}"):
        engine.source(path, FileFormat.CSV, None)


def test_running_out_of_duckdb_memory_is_a_reason_not_a_retry(tmp_path: Path) -> None:
    tight = ParquetEngine(tmp_path / "w", memory="1MB", threads=1)
    try:
        path = put(tmp_path, "big.csv", "a,b\n" + "".join(f"{i},{'x' * 200}\n" for i in range(50_000)))
        with pytest.raises(CurationRejected, match=r"does not fit in DuckDB's memory limit \(1MB\)"):
            write(tight, path, [Column("a", "bigint"), Column("b", "string")])
    finally:
        tight.close()
