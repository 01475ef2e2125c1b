"""RecordReader / iter_text_lines: decoding a binary stream into lines, and gzip."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from lakebox_layer import parsing
from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.formats import UTF8_BOM
from lakebox_layer.parsing import RecordReader, iter_text, iter_text_lines
from lakebox_layer.records import FileFormat
from lakebox_layer.streams import decompressed
from tests.fakes.streams import Trickle
from tests.unit.layer.parsing_support import BAD_BYTE, CSV, JSON, JSONL, fields_of, parse, rejection

# -- text ---------------------------------------------------------------------------------------------------------


def test_lines_keep_their_newline_and_a_last_line_without_one_is_kept() -> None:
    lines = list(iter_text_lines(io.BytesIO(b"a\nb\r\n\nc")))
    assert lines == ["a\n", "b\r\n", "\n", "c"]


def test_tiny_chunks_splitting_multibyte_characters_still_give_the_right_lines() -> None:
    text = "Zoë\n€uro\n🙂 smile\nnaïve café\n"
    # Three-byte reads cut 'ë' (2 bytes), '€' (3 bytes) and '🙂' (4 bytes) at every possible position.
    lines = list(iter_text_lines(io.BytesIO(text.encode()), chunk_bytes=3))
    assert lines == ["Zoë\n", "€uro\n", "🙂 smile\n", "naïve café\n"]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 4, 5, 7])
def test_bom_is_dropped_whatever_the_chunk_size(chunk_bytes: int) -> None:
    lines = list(iter_text_lines(io.BytesIO(UTF8_BOM + "id\n€\n".encode()), chunk_bytes=chunk_bytes))
    assert lines == ["id\n", "€\n"]


def test_only_a_leading_bom_is_dropped() -> None:
    text = "".join(iter_text(io.BytesIO(UTF8_BOM + b"a" + UTF8_BOM + b"b"), chunk_bytes=2))
    assert text == "a\ufeffb"


def test_overlong_line_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_LINE_CHARS", 10)
    with pytest.raises(ContentRejected, match="line too long"):
        list(iter_text_lines(io.BytesIO(b"short\n" + b"x" * 50 + b"\n"), chunk_bytes=4))


def test_a_line_at_the_limit_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_LINE_CHARS", 10)
    assert list(iter_text_lines(io.BytesIO(b"x" * 10 + b"\n" + b"y" * 10), chunk_bytes=3)) == [
        "x" * 10 + "\n", "y" * 10,
    ]


@pytest.mark.parametrize(
    ("file_format", "line"),
    [(CSV, b"1," + b"x" * 60), (JSONL, b'{"a": "' + b"x" * 60 + b'"}')],
    ids=["csv", "jsonl"],
)
def test_a_single_overlong_line_refuses_the_file_with_a_clear_reason(monkeypatch: pytest.MonkeyPatch,
                                                                       file_format: FileFormat, line: bytes) -> None:
    monkeypatch.setattr(parsing, "MAX_LINE_CHARS", 32)
    head = b"id,name\n" if file_format is CSV else b'{"id": 1}\n'
    reason = rejection(head + line + b"\n", file_format, chunk_bytes=8)
    assert reason == "line too long: more than 32 characters without a newline"


@pytest.mark.parametrize("chunk_bytes", [1, 3, 8, 16, 17, 1024])
def test_invalid_utf8_offset_is_exact_whatever_the_chunk_size(chunk_bytes: int) -> None:
    data = b'{"id": 1}\n{"id": 2}\n{"id": "' + BAD_BYTE + b'"}\n'
    with pytest.raises(ContentRejected) as caught:
        list(iter_text_lines(io.BytesIO(data), chunk_bytes=chunk_bytes))
    assert caught.value.reason == f"cannot decode: invalid UTF-8 near byte {data.index(BAD_BYTE)}"


def test_a_character_cut_by_the_end_of_the_file_is_invalid_utf8() -> None:
    data = b"id\n" + "€".encode()[:2]
    with pytest.raises(ContentRejected, match="cannot decode: invalid UTF-8 near byte 3"):
        list(iter_text(io.BytesIO(data), chunk_bytes=2))


# -- gzip ---------------------------------------------------------------------------------------------------------

PLAIN = {
    CSV: b'id;name\r\n1;"Zo\xc3\xab, ""Z"""\r\n2;Bob\r\n',
    JSON: b'[{"id": 1, "name": "Zo\xc3\xab"}, {"id": 2, "name": "Bob"}]',
    JSONL: b'{"id": 1, "name": "Zo\xc3\xab"}\n{"id": 2, "name": "Bob"}\n',
}


@pytest.mark.parametrize("file_format", [CSV, JSON, JSONL])
@pytest.mark.parametrize("chunk_bytes", [5, 1 << 20])
def test_gzip_of_each_format_reads_like_the_plain_file(file_format: FileFormat, chunk_bytes: int) -> None:
    plain = parse(PLAIN[file_format], file_format)
    compressed = gzip.compress(UTF8_BOM + PLAIN[file_format])
    assert len(plain) == 2
    assert parse(compressed, file_format, "gzip", chunk_bytes) == plain


def test_gzip_of_several_members_is_read_whole() -> None:
    data = gzip.compress(b'{"id": 1}\n') + gzip.compress(b'{"id": 2}\n')
    assert fields_of(data, JSONL, compression="gzip") == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(
    "data",
    [b"plain text, not gzip", gzip.compress(b'{"id": 1}\n' * 50)[:-12], gzip.compress(b'{"id": 1}\n')[:12]],
    ids=["not-gzip", "truncated", "header-only"],
)
def test_corrupt_gzip_is_rejected(data: bytes) -> None:
    assert rejection(data, JSONL, "gzip").startswith("corrupt gzip")


def test_gzip_with_a_bad_checksum_is_rejected() -> None:
    data = bytearray(gzip.compress(b'{"id": 1}\n'))
    data[-8] ^= 0xFF  # the CRC-32 of the content
    assert rejection(bytes(data), JSONL, "gzip").startswith("corrupt gzip")


def test_a_gzip_bomb_is_refused_before_it_is_expanded() -> None:
    bomb = gzip.compress(b"{}\n" * 100_000)  # 300 kB from about 1 kB
    stream = decompressed(io.BytesIO(bomb), "gzip", limit=4096)
    with pytest.raises(ContentRejected, match="gzip bomb") as caught:
        for _ in iter_text(stream, chunk_bytes=1024):
            pass
    assert "gzip expands beyond" in caught.value.reason
    # Only about the limit was expanded, not the whole.
    assert stream.total <= 4096 + 1024  # type: ignore[attr-defined]


def test_gzip_within_the_limit_is_read() -> None:
    stream = decompressed(io.BytesIO(gzip.compress(b"x" * 1000)), "gzip", limit=1000)
    assert "".join(iter_text(stream, chunk_bytes=64)) == "x" * 1000


def test_no_compression_is_the_stream_itself() -> None:
    stream = io.BytesIO(b"x")
    assert decompressed(stream, None) is stream


def test_unknown_compression_is_rejected() -> None:
    with pytest.raises(ContentRejected, match="unsupported compression: bzip2"):
        RecordReader(io.BytesIO(b"BZh9"), CSV, "bzip2")


# -- chunking does not change what is read ------------------------------------------------------------------------

NAMES = ["Ann", "Zoë", "José Ñúñez", "李雷", "Ørsted 🙂", "O'Brien, Pat", 'say "hi"', "multi\nline", "€5"]
ROWS = [{"id": str(n), "name": NAMES[n % len(NAMES)], "city": "Köln" if n % 2 else "Zürich"} for n in range(60)]
STEPS = [1, 2, 3, 4, 5, 6, 7, 11, 13, 64, 1000, 1 << 20]


def _csv_bytes(line_terminator: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "name", "city"], lineterminator=line_terminator)
    writer.writeheader()
    writer.writerows(ROWS)
    return UTF8_BOM + buffer.getvalue().encode()


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("line_terminator", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_csv_records_survive_any_chunking(step: int, line_terminator: str) -> None:
    records = list(RecordReader(Trickle(_csv_bytes(line_terminator), step), CSV))
    assert [r.number for r in records] == list(range(1, len(ROWS) + 1))
    assert [r.fields for r in records] == ROWS


@pytest.mark.parametrize("step", STEPS)
def test_json_lines_records_survive_any_chunking(step: int) -> None:
    lines = [json.dumps(row, ensure_ascii=False) for row in ROWS]
    lines[10] = '{"id": "broken",'
    data = ("\n".join(lines[:30]) + "\n\n" + "\r\n".join(lines[30:]) + "\n").encode()
    records = list(RecordReader(Trickle(data, step), JSONL))
    assert len(records) == len(ROWS)
    assert [r.number for r in records] == list(range(1, len(ROWS) + 1))
    assert [r.fields for r in records if r.number != 11] == [row for n, row in enumerate(ROWS) if n != 10]
    assert records[10].fields is None


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("ensure_ascii", [False, True], ids=["utf8", "escaped"])
def test_json_array_records_survive_any_chunking(step: int, ensure_ascii: bool) -> None:
    # Escaped, '🙂' becomes a surrogate pair "\ud83d\ude42" that chunks may cut anywhere.
    elements: list[object] = [dict(row, score=n * 0.5, ok=n % 3 == 0, gone=None) for n, row in enumerate(ROWS)]
    elements[7] = "not an object"
    data = json.dumps(elements, ensure_ascii=ensure_ascii, indent=1).encode()
    records = list(RecordReader(Trickle(data, step), JSON))
    assert [r.number for r in records] == list(range(1, len(ROWS) + 1))
    assert [r.fields for r in records if r.number != 8] == [e for n, e in enumerate(elements) if n != 7]
    assert records[7].error == "expected a JSON object"


@pytest.mark.parametrize("chunk_bytes", [4, 50, 70, 4096])
def test_a_line_past_the_limit_is_refused_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch,
                                                              chunk_bytes: int) -> None:
    """Also when the chunk that brings its last characters brings its newline too."""
    monkeypatch.setattr(parsing, "MAX_LINE_CHARS", 64)
    text = b"short\n" + b"x" * 65 + b"\nafter\n"
    with pytest.raises(ContentRejected, match="line too long"):
        list(iter_text_lines(io.BytesIO(text), chunk_bytes=chunk_bytes))
    assert list(iter_text_lines(io.BytesIO(b"short\n" + b"x" * 64 + b"\n"), chunk_bytes=chunk_bytes))[1] == (
        "x" * 64 + "\n")
