"""Memory that does not follow the file: `unique` values past a limit go to disk with the same verdicts, a stream
is cut only at record boundaries, and curation reading a file in many small chunks gives what reading it whole
gives (names, their order, inferred types, rows per day, the explanation of a value that does not cast)."""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from lakebox_layer import validation
from lakebox_layer.columns import Column
from lakebox_layer.exceptions import CurationRejected
from lakebox_layer.parquet import Lineage, ParquetEngine
from lakebox_layer.parsing import RecordReader
from lakebox_layer.records import FileFormat
from lakebox_layer.streams import record_end, record_pieces
from lakebox_layer.validation import SeenValues, validate_records
from tests.unit.layer.validation_support import contract

LINEAGE = Lineage("pid-1", "input/t/f", None, "1.0.0", "2026-01-17T09:30:00+00:00")

# -- unique values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 3, 1000])
def test_seen_values_answer_as_a_set_would(limit: int) -> None:
    seen, reference = SeenValues(limit), set()
    rng = random.Random(limit)
    for _ in range(5000):
        value = rng.randrange(-2**63, 2**63) if rng.random() < 0.3 else rng.randrange(2000)
        assert (value in seen) == (value in reference)
        if value not in reference and rng.random() < 0.9:
            seen.add(value)
            reference.add(value)
        if rng.random() < 0.05:  # an add without a test first
            other = rng.randrange(2000)
            seen.add(other)
            reference.add(other)
    seen.close()


def test_unique_verdicts_do_not_depend_on_how_many_values_stay_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = contract(mode="record", id={"unique": True}, email={"unique": True})
    text = "id,email\n" + "".join(f"{n % 700},{n % 450}@example.com\n" for n in range(1000))

    def judged() -> tuple[int, dict[str, int], list[str]]:
        reader = RecordReader(io.BytesIO(text.encode()), FileFormat.CSV)
        outcome = validate_records(reader, rules, FileFormat.CSV)
        return outcome.records_valid, outcome.rule_counts, outcome.errors

    in_memory = judged()
    monkeypatch.setattr(validation, "UNIQUE_IN_MEMORY", 10)
    assert judged() == in_memory
    assert in_memory[1] == {"unique": 300 + 550}


# -- pieces at record boundaries ---------------------------------------------------------------------------------


def test_a_record_ends_at_a_newline_outside_quotes() -> None:
    data = b'a,b\n1,"x\ny"\n2,"z""\n"\n3,'
    assert record_end(data, quoted=True) == data.index(b"3,")
    assert record_end(data, quoted=True, last=False) == 4
    assert record_end(b'1,"open\n', quoted=True) == 0
    assert record_end(b'{"a": "\\"x"}\n{"b"', quoted=False) == 13


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64])
def test_pieces_join_to_the_stream_and_each_ends_a_record(chunk_bytes: int) -> None:
    data = b"".join(f'{n},"line\n{n} ""q""",x\n'.encode() for n in range(40))
    pieces = list(record_pieces(io.BytesIO(data), chunk_bytes, quoted=True))
    assert b"".join(pieces) == data
    assert len(pieces) > 1
    for piece in pieces:
        assert piece.endswith(b"x\n") and piece.count(b'"') % 2 == 0


# -- curation in chunks ------------------------------------------------------------------------------------------


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[tuple[ParquetEngine, ParquetEngine]]:
    whole = ParquetEngine(tmp_path / "whole", memory="256MB", threads=1)
    chunked = ParquetEngine(tmp_path / "chunked", memory="256MB", threads=1, chunk_bytes=64)
    yield whole, chunked
    whole.close()
    chunked.close()


Curated = tuple[list[str], list[Column], dict[str, int], list[tuple[object, ...]]]


def curated(engine: ParquetEngine, path: Path, file_format: FileFormat, out: Path, compression: str | None = None,
            partition_by: str | None = None) -> Curated:
    source = engine.source(path, file_format, compression)
    columns = engine.infer(source)
    parts = engine.write(source, columns, LINEAGE, partition_by=partition_by, arrival_day="2026-01-17",
                         out_dir=out, stem="pid-1")
    assert all(part.path == out / f"dt={part.dt}" / "pid-1_0.parquet" for part in parts)
    assert sorted(out.rglob("*.parquet")) == sorted(part.path for part in parts)
    files = ", ".join(f"'{part.path}'" for part in parts)
    with duckdb.connect() as db:
        rows = db.execute(f"SELECT * EXCLUDE (_ingested_at) FROM read_parquet([{files}], hive_partitioning = false) "
                          "ORDER BY ALL").fetchall()
    return source.names, columns, {part.dt: part.rows for part in parts}, rows


def test_a_csv_in_chunks_is_curated_as_the_whole_file(engines: tuple[ParquetEngine, ParquetEngine],
                                                      tmp_path: Path) -> None:
    text = "id;at;note\n" + "".join(f'{n};2026-01-{10 + n % 5}T10:00:00Z;"a; b\n""c"" {n}"\n' for n in range(60))
    path = tmp_path / "f.csv"
    path.write_text(text)
    whole, chunked = engines
    expected = curated(whole, path, FileFormat.CSV, tmp_path / "a", partition_by="at")
    assert curated(chunked, path, FileFormat.CSV, tmp_path / "b", partition_by="at") == expected
    assert expected[1] == [Column("id", "bigint"), Column("at", "timestamp"), Column("note", "string")]
    assert len(expected[2]) == 5 and sum(expected[2].values()) == 60
    zipped = tmp_path / "f.csv.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    assert curated(chunked, zipped, FileFormat.CSV, tmp_path / "c", "gzip", partition_by="at") == expected


def test_json_lines_in_chunks_keep_the_first_seen_order_of_names(engines: tuple[ParquetEngine, ParquetEngine],
                                                                 tmp_path: Path) -> None:
    records = [{"b": n, "a": f"x{n}"} for n in range(30)] + [{"c": 2.5, "a": "y", "d": {"k": [1]}}, {"e": True}]
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    whole, chunked = engines
    expected = curated(whole, path, FileFormat.JSON_LINES, tmp_path / "a")
    assert curated(chunked, path, FileFormat.JSON_LINES, tmp_path / "b") == expected
    assert expected[0] == ["b", "a", "c", "d", "e"]
    assert [c.type for c in expected[1]] == ["bigint", "string", "double", "string", "boolean"]


def test_a_value_that_does_not_cast_is_explained_over_every_chunk(engines: tuple[ParquetEngine, ParquetEngine],
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,amount\n" + "".join(f"{n},1.5\n" for n in range(40)) + "zz,2\n5,3\nab,4\n")
    _, chunked = engines
    source = chunked.source(path, FileFormat.CSV, None)
    with pytest.raises(CurationRejected) as rejected:
        chunked.write(source, [Column("id", "bigint"), Column("amount", "double")], LINEAGE, partition_by=None,
                      arrival_day="2026-01-17", out_dir=tmp_path / "out", stem="p")
    assert "column 'id' is bigint, but 2 value(s)" in rejected.value.reason and "'ab'" in rejected.value.reason
    assert not list((tmp_path / "out").rglob("*.parquet"))
