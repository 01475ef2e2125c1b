"""iter_records / iter_text_lines: streaming parsers from a binary stream to numbered records."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from lakebox_layer import parsing
from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.formats import UTF8_BOM
from lakebox_layer.parsing import ParsedRecord, iter_records, iter_text_lines
from lakebox_layer.records import FileFormat

BAD_BYTE = b"\xff"  # never valid anywhere in UTF-8


class Trickle:
    """A stream that returns at most `step` bytes per read, like a network body delivering small chunks."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._step = step
        self._position = 0

    def read(self, size: int = -1, /) -> bytes:
        amount = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._position : self._position + amount]
        self._position += len(chunk)
        return chunk


def parse(data: bytes, file_format: FileFormat) -> list[ParsedRecord]:
    return list(iter_records(io.BytesIO(data), file_format))


def rejection(data: bytes, file_format: FileFormat) -> str:
    with pytest.raises(ContentRejected) as caught:
        parse(data, file_format)
    return caught.value.reason


# -- text lines -------------------------------------------------------------------------------------------------


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


def test_overlong_line_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_LINE_CHARS", 10)
    with pytest.raises(ContentRejected, match="line too long"):
        list(iter_text_lines(io.BytesIO(b"short\n" + b"x" * 50 + b"\n"), chunk_bytes=4))


@pytest.mark.parametrize("chunk_bytes", [1, 3, 8, 16, 17, 1024])
def test_invalid_utf8_offset_is_exact_whatever_the_chunk_size(chunk_bytes: int) -> None:
    data = b'{"id": 1}\n{"id": 2}\n{"id": "' + BAD_BYTE + b'"}\n'
    with pytest.raises(ContentRejected) as caught:
        list(iter_text_lines(io.BytesIO(data), chunk_bytes=chunk_bytes))
    assert caught.value.reason == f"cannot decode: invalid UTF-8 near byte {data.index(BAD_BYTE)}"


# -- CSV ----------------------------------------------------------------------------------------------------------


def test_csv_header_and_rows() -> None:
    records = parse(b"id,name,email\n1,Ann,ann@example.com\n2,Bob,\n", FileFormat.CSV)
    assert records == [
        ParsedRecord(1, {"id": "1", "name": "Ann", "email": "ann@example.com"}),
        ParsedRecord(2, {"id": "2", "name": "Bob", "email": ""}),
    ]


def test_csv_header_names_are_trimmed() -> None:
    [record] = parse(b" id , name \n1,Ann\n", FileFormat.CSV)
    assert record.fields == {"id": "1", "name": "Ann"}


def test_csv_quoted_values_keep_embedded_newlines_commas_and_quotes() -> None:
    data = b'id,address,note\n1,"12 Main St\nSpringfield","a, b and ""c"""\n2,plain,x\n'
    records = parse(data, FileFormat.CSV)
    assert [r.number for r in records] == [1, 2]
    assert records[0].fields == {"id": "1", "address": "12 Main St\nSpringfield", "note": 'a, b and "c"'}
    assert records[1].fields == {"id": "2", "address": "plain", "note": "x"}


def test_csv_crlf_line_endings() -> None:
    records = parse(b"id,name\r\n1,Ann\r\n2,Bob\r\n", FileFormat.CSV)
    assert [r.fields for r in records] == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob"}]


def test_csv_bom_is_not_part_of_the_first_column_name() -> None:
    [record] = parse(UTF8_BOM + b"id,name\n1,Ann\n", FileFormat.CSV)
    assert record.fields == {"id": "1", "name": "Ann"}


def test_csv_blank_lines_are_skipped_and_not_numbered() -> None:
    records = parse(b"id,name\n\n1,Ann\n   \n\n2,Bob\n\n", FileFormat.CSV)
    assert [(r.number, r.fields) for r in records] == [
        (1, {"id": "1", "name": "Ann"}),
        (2, {"id": "2", "name": "Bob"}),
    ]


def test_csv_ragged_rows_become_record_errors_and_the_rest_is_read() -> None:
    records = parse(b"id,name\n1\n2,Bob\n3,Cy,extra\n", FileFormat.CSV)
    assert [r.number for r in records] == [1, 2, 3]
    short, good, long = records
    assert short.fields is None
    assert short.error is not None
    assert short.error.startswith("record 1:")
    assert good == ParsedRecord(2, {"id": "2", "name": "Bob"})
    assert long.fields is None
    assert long.error is not None
    assert long.error.startswith("record 3:")


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (b"", "empty"),
        (b"id,name\n", "header"),
        (b"id,name\n\n\n", "header"),
        (b"id,name\r\n", "header"),
        (b"id,name,id\n1,2,3\n", "repeats a column"),
        (b"id, name,name \n1,2,3\n", "repeats a column"),
    ],
    ids=["empty", "header-only", "header-and-blank-lines", "header-only-crlf", "duplicate", "duplicate-after-trim"],
)
def test_csv_without_usable_rows_is_rejected(data: bytes, reason_part: str) -> None:
    assert reason_part in rejection(data, FileFormat.CSV)


# -- JSON ---------------------------------------------------------------------------------------------------------


def test_json_object_is_one_record() -> None:
    assert parse(b'{"id": 1, "data": {"a": [1, 2]}}', FileFormat.JSON) == [
        ParsedRecord(1, {"id": 1, "data": {"a": [1, 2]}})
    ]


def test_json_with_bom() -> None:
    assert parse(UTF8_BOM + b'{"id": 1}', FileFormat.JSON) == [ParsedRecord(1, {"id": 1})]


def test_json_array_of_objects_is_numbered_from_one() -> None:
    records = parse(b'[{"id": 1}, {"id": 2}, {"id": 3}]', FileFormat.JSON)
    assert records == [ParsedRecord(1, {"id": 1}), ParsedRecord(2, {"id": 2}), ParsedRecord(3, {"id": 3})]


def test_json_array_item_that_is_not_an_object_is_a_record_error() -> None:
    records = parse(b'[{"id": 1}, "oops", {"id": 3}]', FileFormat.JSON)
    assert records[0] == ParsedRecord(1, {"id": 1})
    assert records[1].number == 2
    assert records[1].fields is None
    assert records[1].error is not None
    assert "record 2" in records[1].error
    assert records[2] == ParsedRecord(3, {"id": 3})


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (b"[]", "empty JSON array"),
        (b'{"id": 1', "invalid JSON"),
        (b'{"id": 1} {"id": 2}', "invalid JSON"),
        (b"42", "expected an object or an array"),
        (b'"text"', "expected an object or an array"),
    ],
)
def test_json_documents_that_hold_no_records_are_rejected(data: bytes, reason_part: str) -> None:
    assert reason_part in rejection(data, FileFormat.JSON)


def test_json_document_over_the_size_limit_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_JSON_DOCUMENT_BYTES", 16)
    assert "JSON Lines" in rejection(b'[{"id": 1}, {"id": 2}, {"id": 3}]', FileFormat.JSON)
    assert parse(b'{"id": 1}', FileFormat.JSON) == [ParsedRecord(1, {"id": 1})]


# -- JSON Lines ---------------------------------------------------------------------------------------------------


def test_json_lines_bad_line_is_a_record_error_and_numbering_continues() -> None:
    records = parse(b'{"id": 1}\n{"id": 2,\n{"id": 3}\n', FileFormat.JSON_LINES)
    assert [r.number for r in records] == [1, 2, 3]
    assert records[0].fields == {"id": 1}
    assert records[1].fields is None
    assert records[1].error is not None
    assert "record 2" in records[1].error
    assert "invalid JSON" in records[1].error
    assert records[2].fields == {"id": 3}


def test_json_lines_errors_name_the_line_when_blank_lines_shift_it() -> None:
    records = parse(b'{"id": 1}\n\n\nnot json\n', FileFormat.JSON_LINES)
    assert [r.number for r in records] == [1, 2]
    assert records[1].error is not None
    assert "record 2 (line 4)" in records[1].error


@pytest.mark.parametrize("line", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_json_lines_line_that_is_not_an_object_is_a_record_error(line: bytes) -> None:
    records = parse(b'{"id": 1}\n' + line + b'\n{"id": 3}\n', FileFormat.JSON_LINES)
    assert [r.fields for r in records] == [{"id": 1}, None, {"id": 3}]
    assert records[1].error is not None
    assert "expected a JSON object" in records[1].error


def test_json_lines_crlf_and_missing_final_newline() -> None:
    records = parse(b'{"id": 1}\r\n{"id": 2}', FileFormat.JSON_LINES)
    assert records == [ParsedRecord(1, {"id": 1}), ParsedRecord(2, {"id": 2})]


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", UTF8_BOM])
def test_json_lines_without_records_is_rejected(data: bytes) -> None:
    assert "empty" in rejection(data, FileFormat.JSON_LINES)


@pytest.mark.parametrize("bom", [b"", UTF8_BOM], ids=["no-bom", "bom"])
def test_invalid_utf8_in_the_middle_of_json_lines_names_its_byte_offset(bom: bytes) -> None:
    data = bom + b'{"id": 1}\n{"id": 2}\n{"id": "' + BAD_BYTE + b'"}\n{"id": 4}\n'
    reason = rejection(data, FileFormat.JSON_LINES)
    assert reason.startswith("cannot decode")
    # The offset is the position of the bad byte in the file as stored, BOM included.
    assert re.search(rf"\bbyte {data.index(BAD_BYTE)}\b", reason), reason


@pytest.mark.parametrize("bom", [b"", UTF8_BOM], ids=["no-bom", "bom"])
def test_invalid_utf8_in_a_json_document_names_its_byte_offset(bom: bytes) -> None:
    data = bom + b'[{"id": 1}, {"id": "' + BAD_BYTE + b'"}]'
    reason = rejection(data, FileFormat.JSON)
    assert reason.startswith("cannot decode")
    assert re.search(rf"\bbyte {data.index(BAD_BYTE)}\b", reason), reason


def test_unsupported_format_is_rejected_at_once() -> None:
    with pytest.raises(ContentRejected, match="unsupported"):
        iter_records(io.BytesIO(b"<xml/>"), FileFormat.UNSUPPORTED)


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
    records = list(iter_records(Trickle(_csv_bytes(line_terminator), step), FileFormat.CSV))
    assert [r.number for r in records] == list(range(1, len(ROWS) + 1))
    assert [r.fields for r in records] == ROWS


@pytest.mark.parametrize("step", STEPS)
def test_json_lines_records_survive_any_chunking(step: int) -> None:
    lines = [json.dumps(row, ensure_ascii=False) for row in ROWS]
    lines[10] = '{"id": "broken",'
    data = ("\n".join(lines[:30]) + "\n\n" + "\r\n".join(lines[30:]) + "\n").encode()
    records = list(iter_records(Trickle(data, step), FileFormat.JSON_LINES))
    assert len(records) == len(ROWS)
    assert [r.number for r in records] == list(range(1, len(ROWS) + 1))
    assert [r.fields for r in records if r.number != 11] == [row for n, row in enumerate(ROWS) if n != 10]
    assert records[10].fields is None
