"""Typed, partitioned Parquet from a processed file, written by DuckDB on local disk: no AWS calls here.

A processed file is read as text (CSV cells, or each JSON record's fields as text: nested values as JSON text), so
the contract's types, or the table's, decide every column, with an explicit cast; a value that does not cast fails
the file's curation with the column named. Rows are partitioned by day (`dt=YYYY-MM-DD`) with one file per day per
process, `<stem>_0.parquet`, so writing the same input again gives the same keys.

Memory does not follow the file: CSV and JSON Lines reach DuckDB in chunks of about CHUNK_BYTES cut at record
boundaries (gzip decompressed on the way, within the validation's limits), so each statement (names, inference,
write) holds one chunk's rows at most, and CSV is read in the validation's dialect (its delimiter, `"` quotes, the
header as written), pinned for every chunk. A JSON document or array is still read whole.
"""

# SQL here is composed from column names and values only through `ident` and `literal`, which quote them.
# ruff: noqa: S608

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from lakebox_layer.columns import GLUE_TYPES, LINEAGE, PARTITION_KEY, Column, check_names
from lakebox_layer.exceptions import ContentRejected, CurationRejected
from lakebox_layer.parsing import MAX_JSON_OBJECT_BYTES, csv_dialect
from lakebox_layer.records import FileFormat
from lakebox_layer.sources import Reader, Source, ident, literal
from lakebox_layer.streams import decompressed, record_end, record_pieces
from lakebox_layer.time_limit import TimeLimit

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
# One thread: a Lambda function below 1,769 MB has less than one vCPU, and each thread has its own buffers.
DEFAULT_THREADS = 1
# What DuckDB reads at a time: its buffers, the rows a statement holds and the Parquet pieces follow this, not the file.
CHUNK_BYTES = 4 * 1024 * 1024
PIECE_ROWS = 8192  # a scratch piece's row groups: small, so that a day's rows are read without the others'
ROW_GROUP_BYTES = "8MB"  # a curated file's row groups when written from pieces: what its writer holds at once
DEFAULT_MEMORY_MB = 1024
MEMORY_SHARE = 0.6  # of the function's memory; the rest is Python, boto3 and the upload's buffers
OUTSIDE_LIMIT_MB = 160


def _kv(metadata: Mapping[str, str] | None) -> str:
    """A COPY option that writes `metadata` into the Parquet file's key-value metadata ("" for none)."""
    if not metadata:
        return ""
    return ", KV_METADATA {" + ", ".join(f"{literal(key)}: {literal(value)}" for key, value in metadata.items()) + "}"


def memory_limit() -> str:
    """DuckDB's memory limit inside a function: a share of the function's memory, less what Python, boto3 and
    DuckDB's own bookkeeping take beyond the limit (measured at about 100 MiB), so DuckDB spills to /tmp before
    Lambda kills the process."""
    try:
        function_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEFAULT_MEMORY_MB))
    except ValueError:
        function_mb = DEFAULT_MEMORY_MB
    return f"{max(64, min(int(function_mb * MEMORY_SHARE), function_mb - OUTSIDE_LIMIT_MB))}MB"


def object_limit(memory: str) -> int:
    """The largest JSON object DuckDB may read under its memory limit ("614MB"): validation's bound (64 MiB) where
    a quarter of the limit holds it (at the curation function's declared 1024 MB and down to some 450 MB), else
    the largest power of two that fits, and never below DuckDB's own 16 MiB. DuckDB sets aside twice the bound for
    its buffers whatever the file's size, so a larger bound would fail every file."""
    quarter = int(memory.removesuffix("MB")) * 1024 * 1024 // 4
    fits = 1 << max(quarter, 1).bit_length() - 1
    return max(16 * 1024 * 1024, min(MAX_JSON_OBJECT_BYTES, fits))


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


@contextmanager
def _content_refused() -> Iterator[None]:
    """DuckDB refusing the file's content (JSON it cannot parse, an object over its size) fails the file's curation
    with the reason: reading it again would fail the same way."""
    try:
        yield
    except duckdb.InvalidInputException as error:
        raise CurationRejected(f"the processed file cannot be read: {str(error).splitlines()[0]}") from error


class ParquetEngine:
    """One DuckDB connection, set up for a function: home and spill directory in `work_dir`, a memory limit, no
    extension downloads; files read `chunk_bytes` at a time."""

    def __init__(self, work_dir: Path, *, memory: str | None = None, threads: int | None = None,
                 chunk_bytes: int = CHUNK_BYTES) -> None:
        self.work_dir = work_dir
        self.memory = memory or memory_limit()
        self.object_bytes = object_limit(self.memory)
        self.chunk_bytes = chunk_bytes
        # How long the file being written may still take: set for each file by the stage (none by default).
        self.limit = TimeLimit.unlimited()
        (work_dir / "duckdb-spill").mkdir(parents=True, exist_ok=True)
        self.db = duckdb.connect(config={
            "home_directory": str(work_dir),
            "temp_directory": str(work_dir / "duckdb-spill"),
            "memory_limit": self.memory,
            "threads": threads or DEFAULT_THREADS,
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
        if file_format is FileFormat.CSV:
            # The header as written: DuckDB would rename an empty or repeated name ("column1", "id_1"), hiding a
            # clash, and a very wide file is refused before DuckDB allocates per column.
            names, delimiter = csv_dialect(path, compression)
            check_names(names)
            return Source(path, file_format, compression, names, delimiter, self.object_bytes)
        first_seen: dict[str, tuple[int, int, int]] = {}
        with _content_refused():
            scan = Source(path, file_format, compression, [], object_bytes=self.object_bytes)
            for number, chunk in enumerate(self._chunks(scan, Source.objects)):
                rows = self._rows(
                    f"SELECT key, min(row), arg_min(position, row) FROM (SELECT unnest(keys) AS key, "
                    f"unnest(range(len(keys))) AS position, row FROM (SELECT json_keys(json) AS keys, "
                    f"row_number() OVER () AS row FROM {chunk})) GROUP BY key")
                for key, row, position in rows:
                    first_seen.setdefault(str(key), (number, int(row), int(position)))
        names = sorted(first_seen, key=first_seen.__getitem__)
        check_names(names)
        return Source(path, file_format, compression, names, object_bytes=self.object_bytes)

    def _one_chunk(self, source: Source) -> bool:
        return not source.chunked or (source.compression is None and source.path.stat().st_size <= self.chunk_bytes)

    def _chunks(self, source: Source, read: Reader | None = None) -> Iterator[str]:
        """The source as SQL relations (`read`, by default its text columns) over chunks of about `chunk_bytes`:
        each chunk is a local file while its relation is in use, removed after. A file that small (and not
        compressed), or one that is not chunked, is one relation over the file itself."""
        read = read or Source.read
        if self._one_chunk(source):
            yield read(source, source.path, source.compression)
            return
        folder = self.work_dir / "chunks"
        folder.mkdir(parents=True, exist_ok=True)
        chunk = folder / ("chunk.csv" if source.file_format is FileFormat.CSV else "chunk.jsonl")
        header = b""
        try:
            with source.path.open("rb") as raw:
                stream = decompressed(raw, source.compression)
                pieces = record_pieces(stream, self.chunk_bytes, not source.is_json)
                for number, piece in enumerate(self.limit.within(pieces, "curation", "chunks", every=1)):
                    if number == 0 and not source.is_json:
                        header = piece[:record_end(piece, quoted=True, last=False) or len(piece)]
                    chunk.write_bytes(piece if number == 0 else header + piece)
                    del piece
                    yield read(source, chunk, None)
        except ContentRejected as rejected:
            raise CurationRejected(f"the processed file cannot be read: {rejected.reason}") from rejected
        finally:
            chunk.unlink(missing_ok=True)

    def infer(self, source: Source) -> list[Column]:
        """Each field's narrowest type that all its values have; string when none fits or no value is set."""
        if not source.names:
            return []
        checks = []
        for name in source.names:
            text = source.text(name)
            checks.append(f"count({text})")
            checks.extend(f"bool_and({text} IS NULL OR (regexp_full_match({text}, {literal(pattern)}) "
                          f"AND {self._typed(text, glue, cast='TRY_CAST')} IS NOT NULL))"
                          for glue, pattern in _INFERENCE)
        width = 1 + len(_INFERENCE)
        counts = [0] * len(source.names)
        fits = [[True] * len(_INFERENCE) for _ in source.names]
        with _content_refused():
            rows = [self._rows(f"SELECT {', '.join(checks)} FROM {chunk}")[0] for chunk in self._chunks(source)]
        for row in rows:
            for index in range(len(source.names)):
                count, *chunk_fits = row[index * width:(index + 1) * width]
                counts[index] += int(count or 0)
                # A chunk without rows says nothing (NULL): only a value that does not fit rules a type out.
                fits[index] = [fit and new is not False for fit, new in zip(fits[index], chunk_fits, strict=True)]
        columns = []
        for index, name in enumerate(source.names):
            found = next((glue for (glue, _), fit in zip(_INFERENCE, fits[index], strict=True) if fit), "string")
            columns.append(Column(name, found if counts[index] else "string"))
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
                arrival_day: str, relation: str | None = None) -> str:
        present = set(source.names)
        typed = [
            f"{self._typed(source.text(c.name), c.type) if c.name in present else self._null(c.type)} "
            f"AS {ident(c.name)}"
            for c in columns
        ]
        values = {"_process_id": lineage.process_id, "_source_key": lineage.source_key,
                  "_source_version": lineage.source_version, "_contract_version": lineage.contract_version}
        lineage_sql = [f"CAST({literal(values[c.name])} AS VARCHAR) AS {ident(c.name)}" for c in LINEAGE[:-1]]
        lineage_sql.append(f"{self._typed(literal(lineage.ingested_at), 'timestamp')} AS {ident('_ingested_at')}")
        day = literal(arrival_day)
        by_type = {c.name: c.type for c in columns}
        if partition_by is not None and by_type.get(partition_by) in ("date", "timestamp"):
            partition = f"coalesce(strftime({ident(partition_by)}, '%Y-%m-%d'), {day})"
        else:
            partition = day
        inner = f"SELECT {', '.join(typed + lineage_sql)} FROM {relation or source.relation}"
        return f"SELECT *, {partition} AS {PARTITION_KEY} FROM ({inner})"

    def write(self, source: Source, columns: list[Column], lineage: Lineage, *, partition_by: str | None,
              arrival_day: str, out_dir: Path, stem: str,
              metadata: Mapping[str, str] | None = None) -> list[CuratedPart]:
        """Write the rows, cast to `columns`, as one Parquet file per day under `out_dir/dt=<day>/<stem>_0.parquet`
        (any earlier file of `stem` there is replaced); nothing is left in `out_dir` unless every row cast.

        A file read in one chunk is written in one statement. Otherwise each chunk becomes a scratch piece, its rows
        ordered by day in small row groups, and each day's file is then copied out of the pieces: the row groups'
        statistics skip the other days, and only one Parquet file is open at a time. `metadata` goes into each
        file's key-value metadata (the protection of its personal data)."""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", stem):
            raise ValueError(f"file stem {stem!r} must be letters, digits, '_' or '-'")
        for old in out_dir.glob(f"{PARTITION_KEY}=*/{stem}_*.parquet"):
            old.unlink()
        with self._cast_errors(source, columns):
            if self._one_chunk(source):  # in one statement, with no scratch directory to make and remove
                query = self._select(source, columns, lineage, partition_by, arrival_day)
                self._execute(
                    f"COPY ({query}) TO {literal(str(out_dir))} (FORMAT parquet, PARTITION_BY ({PARTITION_KEY}), "
                    f"FILENAME_PATTERN {literal(stem + '_{i}')}, OVERWRITE_OR_IGNORE true{_kv(metadata)})")
            else:
                self._write_pieces(source, columns, lineage, partition_by, arrival_day, out_dir, stem, metadata)
        parts = []
        for path in sorted(out_dir.glob(f"{PARTITION_KEY}=*/{stem}_*.parquet")):
            [(rows,)] = self._rows(f"SELECT num_rows FROM parquet_file_metadata({literal(str(path))})")
            parts.append(CuratedPart(path.parent.name.split("=", 1)[1], path, int(rows)))
        return parts

    def _write_pieces(self, source: Source, columns: list[Column], lineage: Lineage, partition_by: str | None,
                      arrival_day: str, out_dir: Path, stem: str, metadata: Mapping[str, str] | None) -> None:
        pieces = self.work_dir / "pieces"
        shutil.rmtree(pieces, ignore_errors=True)
        pieces.mkdir(parents=True)
        try:
            for number, chunk in enumerate(self._chunks(source)):
                query = self._select(source, columns, lineage, partition_by, arrival_day, chunk)
                self._execute(f"COPY ({query} ORDER BY {PARTITION_KEY}) TO "
                              f"{literal(str(pieces / f'{number:06d}.parquet'))} "
                              f"(FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE {PIECE_ROWS})")
            self._split_days(sorted(pieces.glob("*.parquet")), out_dir, stem, metadata)
        finally:
            shutil.rmtree(pieces, ignore_errors=True)

    def _split_days(self, pieces: list[Path], out_dir: Path, stem: str, metadata: Mapping[str, str] | None) -> None:
        """Each day's rows of the pieces as that day's one file, streamed."""
        if not pieces:
            return
        scan = f"read_parquet([{', '.join(literal(str(piece)) for piece in pieces)}], hive_partitioning = false)"
        for (day,) in self._rows(f"SELECT DISTINCT {PARTITION_KEY} FROM {scan} ORDER BY 1"):
            target = out_dir / f"{PARTITION_KEY}={day}" / f"{stem}_0.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            self._execute(f"COPY (SELECT * EXCLUDE ({PARTITION_KEY}) FROM {scan} WHERE {PARTITION_KEY} = "
                          f"{literal(str(day))}) TO {literal(str(target))} (FORMAT parquet, "
                          f"ROW_GROUP_SIZE_BYTES {literal(ROW_GROUP_BYTES)}{_kv(metadata)})")

    def kv_metadata(self, path: Path) -> dict[str, str]:
        """A Parquet file's key-value metadata."""
        rows = self._rows(f"SELECT decode(key), decode(value) FROM parquet_kv_metadata({literal(str(path))})")
        return {str(key): str(value) for key, value in rows}

    def parquet_schema(self, path: Path) -> list[Column]:
        """The columns of a Parquet file as Glue types."""
        described = self._rows(
            f"DESCRIBE SELECT * FROM read_parquet({literal(str(path))}, hive_partitioning = false)")
        return [Column(str(name), GLUE_OF_DUCKDB.get(str(duck), str(duck).lower())) for name, duck, *_ in described]

    @contextmanager
    def _cast_errors(self, source: Source, columns: list[Column]) -> Iterator[None]:
        try:
            yield
        except (duckdb.ConversionException, duckdb.InvalidInputException) as error:
            raise CurationRejected(self._explain(source, columns) or str(error).splitlines()[0]) from error

    def _explain(self, source: Source, columns: list[Column]) -> str | None:
        """Which column has values that do not cast, how many, and the first (least) of them."""
        present = [c for c in columns if c.name in set(source.names) and c.type != "string"]
        if not present:
            return None
        checks = []
        for column in present:
            text = source.text(column.name)
            bad = f"{text} IS NOT NULL AND {self._typed(text, column.type, cast='TRY_CAST')} IS NULL"
            checks.append(f"count(*) FILTER (WHERE {bad}), min({text}) FILTER (WHERE {bad})")
        counts = [0] * len(present)
        firsts: list[str | None] = [None] * len(present)
        for chunk in self._chunks(source):
            [row] = self._rows(f"SELECT {', '.join(checks)} FROM {chunk}")
            for index in range(len(present)):
                bad_count, first = row[2 * index:2 * index + 2]
                counts[index] += int(bad_count or 0)
                if first is not None and (firsts[index] is None or str(first) < str(firsts[index])):
                    firsts[index] = str(first)
        for column, bad_count, first in zip(present, counts, firsts, strict=True):
            if bad_count:
                return (f"column {column.name!r} is {column.type}, but {bad_count} value(s) do not cast to it "
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
