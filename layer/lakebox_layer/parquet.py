"""Typed, partitioned Parquet from a processed file, written by DuckDB on local disk: no AWS calls here.

A processed file is read as text (CSV cells, or each JSON record's fields as text: nested values as JSON text), so
the contract's types, or the table's, decide every column, with an explicit cast; a value that does not cast fails
the file's curation with the column named. Rows are partitioned by day (`dt=YYYY-MM-DD`) with one file per day per
process, `<stem>_0.parquet`, so writing the same input again gives the same keys.
"""

# SQL here is composed from column names and values only through `_ident` and `_literal`, which quote them.
# ruff: noqa: S608

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from lakebox_layer.columns import GLUE_TYPES, LINEAGE, PARTITION_KEY, Column, check_names
from lakebox_layer.exceptions import CurationRejected
from lakebox_layer.parsing import sniff_delimiter
from lakebox_layer.records import FileFormat

# Glue types as DuckDB writes them to Parquet (and reads them back), for casting and for the schema check.
DUCKDB_TYPES = {"bigint": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
                "timestamp": "TIMESTAMP", "string": "VARCHAR"}
GLUE_OF_DUCKDB = {duck: glue for glue, duck in DUCKDB_TYPES.items()}
# Inference, narrowest first: a column gets the first type every non-null value of it has (matches the pattern
# and casts: "2026-02-30" looks like a date but is none). A number with a leading zero ("007") is an identifier and
# stays text: as bigint or double it would lose its zeros; so does an integer too long for a bigint, which a double
# would round (a double holds 15 significant digits exactly).
_INFERENCE = (
    ("bigint", r"[+-]?(0|[1-9][0-9]{0,17})"),
    ("double", r"[+-]?((0|[1-9][0-9]{0,14})|(0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"),
    ("boolean", r"(?i)(true|false)"),
    ("date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    ("timestamp", r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
                  r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"),
)
HEADER_BYTES = 16 * 1024 * 1024  # validation refuses longer lines
DEFAULT_MEMORY_MB = 1024
MEMORY_SHARE = 0.6  # of the function's memory; the rest is Python, boto3 and the upload's buffers
OUTSIDE_LIMIT_MB = 160


def _literal(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pointer(name: str) -> str:
    """A JSON pointer to a top-level key (RFC 6901 escapes)."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def csv_header(path: Path, compression: str | None, limit: int = HEADER_BYTES) -> list[str]:
    """A CSV file's header names as written (trimmed), read from its first line only."""
    opener = gzip.open if compression == "gzip" else open
    with opener(path, "rb") as stream:
        first = stream.readline(limit).decode("utf-8-sig", errors="replace")
    line = first.rstrip("\r\n")
    if not line:
        return []
    [names] = list(csv.reader([line], delimiter=sniff_delimiter(first)))
    return [name.strip() for name in names]


def memory_limit() -> str:
    """DuckDB's memory limit inside a function: a share of the function's memory, less what Python, boto3 and
    DuckDB's own bookkeeping take beyond the limit (measured at about 100 MiB), so DuckDB spills to /tmp before
    Lambda kills the process."""
    try:
        function_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEFAULT_MEMORY_MB))
    except ValueError:
        function_mb = DEFAULT_MEMORY_MB
    return f"{max(64, min(int(function_mb * MEMORY_SHARE), function_mb - OUTSIDE_LIMIT_MB))}MB"


@dataclass(frozen=True)
class Lineage:
    """Where every row of one curated file came from."""

    process_id: str
    source_key: str
    source_version: str | None
    contract_version: str | None
    ingested_at: str  # ISO 8601, the raw file's arrival


@dataclass(frozen=True)
class CuratedPart:
    """One Parquet file written for one day partition."""

    dt: str
    path: Path
    rows: int


@dataclass(frozen=True)
class Source:
    """A processed file as text columns: `relation` is SQL with one VARCHAR per name in `names` (CSV), or one JSON
    column `json` whose fields are read by name (JSON)."""

    relation: str
    names: list[str]
    is_json: bool

    def text(self, name: str) -> str:
        """The SQL expression of a field's text; NULL where the field is absent or null."""
        if self.is_json:
            return f"json_extract_string(json, {_literal(_pointer(name))})"
        return _ident(name)


class ParquetEngine:
    """One DuckDB connection, set up for a function: home and spill directory in `work_dir`, a memory limit, no
    extension downloads."""

    def __init__(self, work_dir: Path, *, memory: str | None = None, threads: int | None = None) -> None:
        self.work_dir = work_dir
        self.memory = memory or memory_limit()
        (work_dir / "duckdb-spill").mkdir(parents=True, exist_ok=True)
        self.db = duckdb.connect(config={
            "home_directory": str(work_dir),
            "temp_directory": str(work_dir / "duckdb-spill"),
            "memory_limit": self.memory,
            "threads": threads or max(1, min(4, os.cpu_count() or 1)),
            "preserve_insertion_order": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        })
        self.db.execute("SET TimeZone = 'UTC'")

    def close(self) -> None:
        self.db.close()

    # -- reading ------------------------------------------------------------------------------------------------

    def source(self, path: Path, file_format: FileFormat, compression: str | None) -> Source:
        """The file's fields as text, in the order they first appear."""
        compressed = "gzip" if compression == "gzip" else "none"
        if file_format is FileFormat.CSV:
            relation = (f"read_csv({_literal(str(path))}, header = true, all_varchar = true, "
                        f"compression = {_literal(compressed)})")
            # The header as written, read here before DuckDB allocates per column: DuckDB renames an empty or
            # repeated name ("column1", "id_1"), hiding a clash, and a very wide file is refused before it is read.
            check_names(csv_header(path, compression))
            names = [row[0] for row in self._rows(f"DESCRIBE SELECT * FROM {relation}")]
            check_names(names)
            return Source(relation, names, is_json=False)
        shape = "newline_delimited" if file_format is FileFormat.JSON_LINES else "auto"
        relation = (f"(SELECT json FROM read_json_objects({_literal(str(path))}, format = {_literal(shape)}, "
                    f"compression = {_literal(compressed)}) WHERE json_type(json) = 'OBJECT')")
        keys = self._rows(
            f"SELECT key FROM (SELECT unnest(keys) AS key, unnest(range(len(keys))) AS position, row AS row "
            f"FROM (SELECT json_keys(json) AS keys, row_number() OVER () AS row FROM {relation})) "
            f"GROUP BY key ORDER BY min(row), min(position)")
        names = [str(row[0]) for row in keys]
        check_names(names)
        return Source(relation, names, is_json=True)

    def infer(self, source: Source) -> list[Column]:
        """Each field's narrowest type that all its values have; string when none fits or no value is set."""
        if not source.names:
            return []
        checks = []
        for name in source.names:
            text = source.text(name)
            checks.append(f"count({text})")
            checks.extend(f"bool_and({text} IS NULL OR (regexp_full_match({text}, {_literal(pattern)}) "
                          f"AND {self._typed(text, glue, cast='TRY_CAST')} IS NOT NULL))"
                          for glue, pattern in _INFERENCE)
        [row] = self._rows(f"SELECT {', '.join(checks)} FROM {source.relation}")
        width = 1 + len(_INFERENCE)
        columns = []
        for index, name in enumerate(source.names):
            count, *fits = row[index * width:(index + 1) * width]
            found = next((glue for (glue, _), fit in zip(_INFERENCE, fits, strict=True) if fit), "string")
            columns.append(Column(name, found if count else "string"))
        return columns

    # -- writing ------------------------------------------------------------------------------------------------

    @staticmethod
    def _typed(text: str, glue_type: str, cast: str = "CAST") -> str:
        if glue_type not in GLUE_TYPES:
            raise CurationRejected(f"unsupported column type {glue_type!r}")
        if glue_type == "string":
            return text
        if glue_type == "timestamp":
            # An offset is honoured: every timestamp is stored in UTC.
            return f"CAST({cast}({text} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
        return f"{cast}({text} AS {DUCKDB_TYPES[glue_type]})"

    @staticmethod
    def _null(glue_type: str) -> str:
        return f"CAST(NULL AS {DUCKDB_TYPES[glue_type]})"

    def _select(self, source: Source, columns: list[Column], lineage: Lineage, partition_by: str | None,
                arrival_day: str) -> str:
        present = set(source.names)
        typed = [
            f"{self._typed(source.text(c.name), c.type) if c.name in present else self._null(c.type)} "
            f"AS {_ident(c.name)}"
            for c in columns
        ]
        values = {"_process_id": lineage.process_id, "_source_key": lineage.source_key,
                  "_source_version": lineage.source_version, "_contract_version": lineage.contract_version}
        lineage_sql = [f"CAST({_literal(values[c.name])} AS VARCHAR) AS {_ident(c.name)}" for c in LINEAGE[:-1]]
        lineage_sql.append(f"{self._typed(_literal(lineage.ingested_at), 'timestamp')} AS {_ident('_ingested_at')}")
        day = _literal(arrival_day)
        by_type = {c.name: c.type for c in columns}
        if partition_by is not None and by_type.get(partition_by) in ("date", "timestamp"):
            partition = f"coalesce(strftime({_ident(partition_by)}, '%Y-%m-%d'), {day})"
        else:
            partition = day
        inner = f"SELECT {', '.join(typed + lineage_sql)} FROM {source.relation}"
        return f"SELECT *, {partition} AS {PARTITION_KEY} FROM ({inner})"

    def write(self, source: Source, columns: list[Column], lineage: Lineage, *, partition_by: str | None,
              arrival_day: str, out_dir: Path, stem: str) -> list[CuratedPart]:
        """Write the rows, cast to `columns`, as one Parquet file per day under `out_dir/dt=<day>/<stem>_0.parquet`."""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", stem):
            raise ValueError(f"file stem {stem!r} must be letters, digits, '_' or '-'")
        query = self._select(source, columns, lineage, partition_by, arrival_day)
        with self._cast_errors(source, columns):
            self._execute(
                f"COPY ({query}) TO {_literal(str(out_dir))} (FORMAT parquet, PARTITION_BY ({PARTITION_KEY}), "
                f"FILENAME_PATTERN {_literal(stem + '_{i}')}, OVERWRITE_OR_IGNORE true)")
        parts = []
        for path in sorted(out_dir.glob(f"{PARTITION_KEY}=*/{stem}_*.parquet")):
            [(rows,)] = self._rows(f"SELECT num_rows FROM parquet_file_metadata({_literal(str(path))})")
            parts.append(CuratedPart(path.parent.name.split("=", 1)[1], path, int(rows)))
        return parts

    def parquet_schema(self, path: Path) -> list[Column]:
        """The columns of a Parquet file as Glue types."""
        described = self._rows(
            f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))}, hive_partitioning = false)")
        return [Column(str(name), GLUE_OF_DUCKDB.get(str(duck), str(duck).lower())) for name, duck, *_ in described]

    @contextmanager
    def _cast_errors(self, source: Source, columns: list[Column]) -> Iterator[None]:
        try:
            yield
        except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
            raise CurationRejected(self._explain(source, columns) or str(error).splitlines()[0]) from error

    def _explain(self, source: Source, columns: list[Column]) -> str | None:
        """Which column has values that do not cast, how many, and the first of them."""
        present = [c for c in columns if c.name in set(source.names) and c.type != "string"]
        for column in present:
            text = source.text(column.name)
            typed = self._typed(text, column.type, cast="TRY_CAST")
            [(bad, first)] = self._rows(
                f"SELECT count(*), min({text}) FROM {source.relation} WHERE {text} IS NOT NULL AND {typed} IS NULL")
            if bad:
                return (f"column {column.name!r} is {column.type}, but {bad} value(s) do not cast to it "
                        f"(first: {str(first)[:60]!r})")
        return None

    def _execute(self, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.db.execute(sql)
        except duckdb.OutOfMemoryException as error:
            # Deterministic for the file: a retry would fail the same way.
            raise CurationRejected(f"the file does not fit in DuckDB's memory limit ({self.memory})") from error

    def _rows(self, sql: str) -> list[Any]:
        return self._execute(sql).fetchall()
