"""RecordReader / iter_text_lines: streaming parsers from a binary stream to numbered records."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re

import pytest

from lakebox_layer import parsing
from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.formats import UTF8_BOM
from lakebox_layer.parsing import (
    ParsedRecord,
    RecordReader,
    decompressed,
    iter_text,
    iter_text_lines,
    sniff_delimiter,
)
from lakebox_layer.records import FileFormat
from tests.unit.streams import Trickle

BAD_BYTE = b"\xff"  # never valid anywhere in UTF-8
CSV = FileFormat.CSV
JSON = FileFormat.JSON
JSONL = FileFormat.JSON_LINES




def parse(data: bytes, file_format: FileFormat, compression: str | None = None,
          chunk_bytes: int = parsing.CHUNK_BYTES) -> list[ParsedRecord]:
    return list(RecordReader(io.BytesIO(data), file_format, compression, chunk_bytes=chunk_bytes))


def fields_of(data: bytes, file_format: FileFormat, **options: object) -> list[dict[str, object] | None]:
    return [record.fields for record in parse(data, file_format, **options)]  # type: ignore[arg-type]


def rejection(data: bytes, file_format: FileFormat, compression: str | None = None,
              chunk_bytes: int = parsing.CHUNK_BYTES) -> str:
    with pytest.raises(ContentRejected) as caught:
        parse(data, file_format, compression, chunk_bytes)
    return caught.value.reason


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


# -- CSV ----------------------------------------------------------------------------------------------------------


def test_csv_header_and_rows() -> None:
    records = parse(b"id,name,email\n1,Ann,ann@example.com\n2,Bob,\n", CSV)
    assert records == [
        ParsedRecord(1, {"id": "1", "name": "Ann", "email": "ann@example.com"}, None, ["1", "Ann", "ann@example.com"]),
        ParsedRecord(2, {"id": "2", "name": "Bob", "email": ""}, None, ["2", "Bob", ""]),
    ]


def test_csv_header_and_delimiter_are_known_once_iteration_begins() -> None:
    reader = RecordReader(io.BytesIO(b"id;name\n1;Ann\n"), CSV)
    assert reader.header is None
    records = iter(reader)
    next(records)
    assert reader.header == ["id", "name"]
    assert reader.delimiter == ";"


def test_csv_header_names_are_trimmed() -> None:
    [record] = parse(b" id , name \n1,Ann\n", CSV)
    assert record.fields == {"id": "1", "name": "Ann"}


def test_csv_values_are_kept_as_they_are() -> None:
    [record] = parse(b'id,name\n 1 ,"  Ann  "\n', CSV)
    assert record.fields == {"id": " 1 ", "name": "  Ann  "}


def test_csv_quoted_values_keep_embedded_newlines_commas_and_quotes() -> None:
    data = b'id,address,note\n1,"12 Main St\nSpringfield","a, b and ""c"""\n2,plain,x\n'
    records = parse(data, CSV)
    assert [r.number for r in records] == [1, 2]
    assert records[0].fields == {"id": "1", "address": "12 Main St\nSpringfield", "note": 'a, b and "c"'}
    assert records[1].fields == {"id": "2", "address": "plain", "note": "x"}


def test_csv_quoted_crlf_inside_a_crlf_file_is_kept() -> None:
    records = parse(b'id,address\r\n1,"12 Main St\r\nSpringfield"\r\n2,x\r\n', CSV)
    assert [r.fields for r in records] == [{"id": "1", "address": "12 Main St\r\nSpringfield"},
                                           {"id": "2", "address": "x"}]


def test_csv_crlf_line_endings() -> None:
    records = parse(b"id,name\r\n1,Ann\r\n2,Bob\r\n", CSV)
    assert [r.fields for r in records] == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bob"}]


def test_csv_bom_is_not_part_of_the_first_column_name() -> None:
    [record] = parse(UTF8_BOM + b"id,name\n1,Ann\n", CSV)
    assert record.fields == {"id": "1", "name": "Ann"}


def test_csv_blank_lines_are_skipped_and_not_numbered() -> None:
    records = parse(b"id,name\n\n1,Ann\n   \n\n2,Bob\n\n", CSV)
    assert [(r.number, r.fields) for r in records] == [
        (1, {"id": "1", "name": "Ann"}),
        (2, {"id": "2", "name": "Bob"}),
    ]


def test_csv_row_of_empty_values_is_a_record() -> None:
    assert fields_of(b"a,b\n,\n1,2\n", CSV) == [{"a": "", "b": ""}, {"a": "1", "b": "2"}]


def test_csv_ragged_rows_become_record_errors_and_the_rest_is_read() -> None:
    records = parse(b"id,name\n1\n2,Bob\n3,Cy,extra\n", CSV)
    assert [r.number for r in records] == [1, 2, 3]
    short, good, long = records
    assert short == ParsedRecord(1, None, "1 values for 2 columns", ["1"])
    assert good == ParsedRecord(2, {"id": "2", "name": "Bob"}, None, ["2", "Bob"])
    assert long == ParsedRecord(3, None, "3 values for 2 columns", ["3", "Cy", "extra"])


def test_csv_single_column() -> None:
    assert fields_of(b"email\na@example.com\nb@example.com\n", CSV) == [
        {"email": "a@example.com"}, {"email": "b@example.com"},
    ]


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (b"", "the file is empty"),
        (UTF8_BOM, "the file is empty"),
        (b"id,name\n", "header only"),
        (b"id,name\n\n\n", "header only"),
        (b"id,name\r\n", "header only"),
        (b"\n\nid,name\n1,2\n", "first line is blank"),
        (b"id,name,id\n1,2,3\n", "repeats a column"),
        (b"id, name,name \n1,2,3\n", "repeats a column"),
    ],
    ids=["empty", "bom-only", "header-only", "header-and-blank-lines", "header-only-crlf", "blank-first-line",
         "duplicate", "duplicate-after-trim"],
)
def test_csv_without_usable_rows_is_rejected(data: bytes, reason_part: str) -> None:
    assert reason_part in rejection(data, CSV)


def test_malformed_csv_names_the_record() -> None:
    # A bare carriage return inside an unquoted value is not CSV.
    assert rejection(b"id,name\n1,Ann\n2,B\rob\n", CSV).startswith("malformed CSV near record 2")


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "pipe")],
)
def test_csv_delimiter_is_sniffed(delimiter: str, name: str) -> None:
    text = delimiter.join(["id", "name", "city"]) + "\n"
    text += delimiter.join(["1", "Ann", "Köln"]) + "\n" + delimiter.join(["2", "Bob", "Paris"]) + "\n"
    reader = RecordReader(io.BytesIO(text.encode()), CSV)
    records = list(reader)
    assert reader.delimiter == delimiter
    assert reader.header == ["id", "name", "city"]
    assert [r.fields for r in records] == [{"id": "1", "name": "Ann", "city": "Köln"},
                                           {"id": "2", "name": "Bob", "city": "Paris"}]


def test_other_delimiters_inside_values_do_not_fool_the_sniffer() -> None:
    # Semicolon file with decimal commas, as European spreadsheets write it.
    reader = RecordReader(io.BytesIO(b"id;price\n1;3,50\n2;4,20\n3;0,99\n"), CSV)
    assert [r.fields for r in reader] == [{"id": "1", "price": "3,50"}, {"id": "2", "price": "4,20"},
                                          {"id": "3", "price": "0,99"}]
    assert reader.delimiter == ";"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("", ","),
        ("   \n", ","),
        ("single\ncolumn\n", ","),
        ("a;b\n1;2\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b\n1|2\n", "|"),
        ("a b c\n1 2 3\n", ","),  # spaces are not a delimiter lakebox sniffs
    ],
)
def test_sniff_delimiter(sample: str, expected: str) -> None:
    assert sniff_delimiter(sample) == expected


def written(rows: list[list[str]], delimiter: str, terminator: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=terminator).writerows(rows)
    return buffer.getvalue().encode()


@pytest.mark.parametrize(
    ("rows", "delimiter", "terminator"),
    [
        pytest.param([["id", "price", "note"], ["1", "3,50", "a; b"], ["2", "4,20", "x"]], ";", "\r\n",
                     id="semicolon-crlf-quoted-semicolon"),
        pytest.param([["id", "name", "address"], ["1", "Ann", "1 Main St\r\nParis"], ["2", "Bob", "Lyon"]], ";",
                     "\r\n", id="semicolon-crlf-multiline-address"),
        pytest.param([["id", "quote"], ["1", 'He said, "hi", then left'], ["2", "plain"]], "\t", "\n",
                     id="tab-quoted-quotation"),
        pytest.param([["name", "note"], ["Ann", "a|b"], ["Bob", "c"]], "|", "\r\n", id="pipe-crlf-quoted-pipe"),
        # A header name holding another delimiter character: "price, EUR" in a semicolon file, as a European
        # spreadsheet exports it.
        pytest.param([["id", "price, EUR", "note"], ["1", "3,50", "a; b"], ["2", "4,20", "x"]], ";", "\r\n",
                     id="header-with-comma-semicolon-crlf-quoted-semicolon"),
        pytest.param([["id", "price, EUR", "address"], ["1", "3,50", "1 Main St\r\nParis"], ["2", "4,20", "Lyon"]],
                     ";", "\r\n", id="header-with-comma-semicolon-crlf-multiline"),
        pytest.param([["id", "name, first", "quote"], ["1", "Ann", 'He said, "hi", then left'], ["2", "Bob", "x"]],
                     "\t", "\n", id="header-with-comma-tab-quoted-quotation"),
    ],
)
def test_well_formed_csv_with_quoted_values_is_read_with_its_delimiter(rows: list[list[str]], delimiter: str,
                                                                       terminator: str) -> None:
    # Exactly what csv.writer (or a spreadsheet) writes: well-formed CSV whose delimiter the reader must find.
    reader = RecordReader(io.BytesIO(written(rows, delimiter, terminator)), CSV)
    records = list(reader)
    assert reader.delimiter == delimiter
    assert reader.header == rows[0]
    assert [r.fields for r in records] == [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_header_decides_when_it_holds_one_delimiter(delimiter: str) -> None:
    # Values full of other delimiters, quotes and line breaks do not matter when the header is unambiguous.
    rows = [["id", "note"], *([str(n), 'a,b;c\td|e "q"\nnext'] for n in range(3))]
    reader = RecordReader(io.BytesIO(written(rows, delimiter, "\r\n")), CSV)
    assert [r.fields for r in reader] == [{"id": str(n), "note": 'a,b;c\td|e "q"\nnext'} for n in range(3)]
    assert reader.delimiter == delimiter


def test_a_quoted_header_is_sniffed() -> None:
    data = written([["id", "note"], ["1", "a;b"], ["2", "c"]], "|", "\n").replace(b"id|note", b'"id"|"note"')
    reader = RecordReader(io.BytesIO(data), CSV)
    assert [r.fields for r in reader] == [{"id": "1", "note": "a;b"}, {"id": "2", "note": "c"}]
    assert reader.delimiter == "|"


# -- JSON ---------------------------------------------------------------------------------------------------------


def test_json_object_is_one_record() -> None:
    value = {"id": 1, "data": {"a": [1, 2]}}
    assert parse(b'{"id": 1, "data": {"a": [1, 2]}}', JSON) == [ParsedRecord(1, value, None, value)]


def test_json_with_bom_and_surrounding_whitespace() -> None:
    assert fields_of(UTF8_BOM + b'\n  {"id": 1}\n\n', JSON) == [{"id": 1}]


def test_pretty_printed_json_object_read_in_small_chunks() -> None:
    value = {"id": 1, "name": "Zoë 🙂", "nested": {"list": [1, 2, {"deep": True}]}}
    data = json.dumps(value, indent=2, ensure_ascii=False).encode()
    assert fields_of(data, JSON, chunk_bytes=3) == [value]


def test_json_array_of_objects_is_numbered_from_one() -> None:
    records = parse(b'[{"id": 1}, {"id": 2}, {"id": 3}]', JSON)
    assert [(r.number, r.fields, r.error) for r in records] == [(1, {"id": 1}, None), (2, {"id": 2}, None),
                                                                (3, {"id": 3}, None)]
    assert [r.source for r in records] == [{"id": 1}, {"id": 2}, {"id": 3}]


@pytest.mark.parametrize("element", [b'"oops"', b"42", b"null", b"[1, 2]", b"true", b"-1.5e3"])
def test_json_array_element_that_is_not_an_object_is_a_record_error(element: bytes) -> None:
    records = parse(b'[{"id": 1}, ' + element + b', {"id": 3}]', JSON)
    assert records[0].fields == {"id": 1}
    assert records[1].number == 2
    assert records[1].fields is None
    assert records[1].error == "expected a JSON object"
    # Kept as its JSON text, which is how record mode writes it out.
    assert json.loads(records[1].source) == json.loads(element)
    assert records[2].fields == {"id": 3}


def test_json_array_number_element_is_a_record_error_whatever_the_chunk_boundary() -> None:
    # The element 12.25e2 may be cut after "12." or "12.25e": the parser must wait for the rest of the number
    # rather than take "12" and then find "." where it expects ',' or ']'.
    data = b'[{"id": 1}, 12.25e2, {"id": 3}]'
    expected = [(1, {"id": 1}, None), (2, None, "expected a JSON object"), (3, {"id": 3}, None)]
    wrong: dict[int, object] = {}
    for chunk_bytes in range(1, len(data) + 1):
        try:
            got: object = [(r.number, r.fields, r.error) for r in parse(data, JSON, chunk_bytes=chunk_bytes)]
        except ContentRejected as rejected:
            got = rejected.reason
        if got != expected:
            wrong[chunk_bytes] = got
    assert wrong == {}


@pytest.mark.parametrize(
    ("data", "reason_part"),
    [
        (b"", "empty file"),
        (b"  \n ", "empty file"),
        (b"[]", "empty JSON array"),
        (b"[ \n ]", "empty JSON array"),
        (b'{"id": 1', "invalid JSON"),
        (b'{"id": 1} {"id": 2}', "invalid JSON"),
        (b"42", "expected an object or an array"),
        (b'"text"', "expected an object or an array"),
        (b"null", "expected an object or an array"),
    ],
)
def test_json_documents_that_hold_no_records_are_rejected(data: bytes, reason_part: str) -> None:
    assert reason_part in rejection(data, JSON)


@pytest.mark.parametrize("chunk_bytes", [1, 4, 1024])
@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'[{"id": 1}, {"id": 2}', "invalid JSON after array element 2: expected ',' or ']'"),
        (b'[{"id": 1}, {"id": 2},', "invalid JSON: the array is not closed"),
        (b'[{"id": 1}, {"id": 2}, ', "invalid JSON: the array is not closed"),
        (b'[{"id": 1}, {"id": 2', "invalid JSON in array element 2"),
        (b'[{"id": 1} {"id": 2}]', "invalid JSON after array element 1: expected ',' or ']'"),
        (b'[{"id": 1}, , {"id": 2}]', "invalid JSON in array element 2"),
        (b'[{"id": 1}] {"id": 2}', "invalid JSON: content after the end of the array"),
        (b'[{"id": 1}]]', "invalid JSON: content after the end of the array"),
    ],
    ids=["unclosed", "unclosed-after-comma", "unclosed-after-comma-space", "cut-element", "missing-comma",
         "empty-element", "object-after-array", "second-bracket"],
)
def test_malformed_json_arrays_are_rejected(data: bytes, reason: str, chunk_bytes: int) -> None:
    assert rejection(data, JSON, chunk_bytes=chunk_bytes).startswith(reason)


def test_whitespace_after_the_array_is_fine() -> None:
    assert fields_of(b'[{"id": 1}]\r\n\t \n', JSON, chunk_bytes=2) == [{"id": 1}]


def test_a_trailing_comma_is_not_json() -> None:
    # json.loads refuses '[{"id": 1},]'; a file Athena or any JSON reader would refuse must not pass.
    with pytest.raises(ContentRejected, match="invalid JSON"):
        parse(b'[{"id": 1},]', JSON)


def test_a_huge_array_element_is_refused_and_smaller_ones_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "MAX_RECORD_CHARS", 64)
    small = json.dumps({"n": "x" * 30}).encode()
    huge = json.dumps({"n": "x" * 500}).encode()
    assert fields_of(b"[" + small + b", " + small + b"]", JSON, chunk_bytes=8) == [{"n": "x" * 30}] * 2
    reason = rejection(b"[" + small + b", " + huge + b"]", JSON, chunk_bytes=8)
    assert reason == "array element 2 is larger than 64 characters"


def test_a_json_document_over_the_size_limit_is_rejected_but_an_array_is_streamed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parsing, "MAX_JSON_DOCUMENT_CHARS", 64)
    big_object = json.dumps({"rows": [{"id": n} for n in range(20)]}).encode()
    assert "JSON Lines" in rejection(big_object, JSON, chunk_bytes=16)
    # The same data as an array of records is read element by element, whatever its size.
    array = json.dumps([{"id": n} for n in range(20)]).encode()
    assert len(fields_of(array, JSON, chunk_bytes=16)) == 20
    assert fields_of(b'{"id": 1}', JSON) == [{"id": 1}]


# -- JSON Lines ---------------------------------------------------------------------------------------------------


def test_json_lines_bad_line_is_a_record_error_and_numbering_continues() -> None:
    records = parse(b'{"id": 1}\n{"id": 2,\n{"id": 3}\n', JSONL)
    assert [r.number for r in records] == [1, 2, 3]
    assert records[0] == ParsedRecord(1, {"id": 1}, None, '{"id": 1}')
    assert records[1] == ParsedRecord(2, None, "invalid JSON (line 2)", '{"id": 2,')
    assert records[2].fields == {"id": 3}


def test_json_lines_errors_name_the_line_when_blank_lines_shift_it() -> None:
    records = parse(b'{"id": 1}\n\n\nnot json\n', JSONL)
    assert [r.number for r in records] == [1, 2]
    assert records[1].error == "invalid JSON (line 4)"
    assert records[1].source == "not json"


@pytest.mark.parametrize("line", [b"[1, 2]", b'"text"', b"42", b"null", b"true"])
def test_json_lines_line_that_is_not_an_object_is_a_record_error(line: bytes) -> None:
    records = parse(b'{"id": 1}\n' + line + b'\n{"id": 3}\n', JSONL)
    assert [r.fields for r in records] == [{"id": 1}, None, {"id": 3}]
    assert records[1].error == "expected a JSON object (line 2)"
    assert records[1].source == line.decode()


def test_json_lines_crlf_and_missing_final_newline() -> None:
    records = parse(b'{"id": 1}\r\n{"id": 2}', JSONL)
    assert records == [ParsedRecord(1, {"id": 1}, None, '{"id": 1}'), ParsedRecord(2, {"id": 2}, None, '{"id": 2}')]


def test_json_lines_values_may_hold_escaped_newlines_and_unicode_separators() -> None:
    values = [{"t": "a\nb"}, {"t": "line\u2028sep\u0085nel"}, {"t": "🙂"}]
    data = "\n".join(json.dumps(v, ensure_ascii=False) for v in values).encode()
    assert fields_of(data, JSONL, chunk_bytes=3) == values


@pytest.mark.parametrize("data", [b"", b"\n\n  \n", UTF8_BOM])
def test_json_lines_without_records_is_rejected(data: bytes) -> None:
    assert "empty" in rejection(data, JSONL)


@pytest.mark.parametrize("bom", [b"", UTF8_BOM], ids=["no-bom", "bom"])
def test_invalid_utf8_in_the_middle_of_json_lines_names_its_byte_offset(bom: bytes) -> None:
    data = bom + b'{"id": 1}\n{"id": 2}\n{"id": "' + BAD_BYTE + b'"}\n{"id": 4}\n'
    reason = rejection(data, JSONL)
    assert reason.startswith("cannot decode")
    # The offset is the position of the bad byte in the file as stored, BOM included.
    assert re.search(rf"\bbyte {data.index(BAD_BYTE)}\b", reason), reason


@pytest.mark.parametrize("bom", [b"", UTF8_BOM], ids=["no-bom", "bom"])
def test_invalid_utf8_in_a_json_document_names_its_byte_offset(bom: bytes) -> None:
    data = bom + b'[{"id": 1}, {"id": "' + BAD_BYTE + b'"}]'
    reason = rejection(data, JSON)
    assert reason.startswith("cannot decode")
    assert re.search(rf"\bbyte {data.index(BAD_BYTE)}\b", reason), reason


def test_invalid_utf8_in_csv_is_rejected() -> None:
    data = b"id,name\n1,Ann\n2,B" + BAD_BYTE + b"ob\n"
    assert rejection(data, CSV) == f"cannot decode: invalid UTF-8 near byte {data.index(BAD_BYTE)}"


def test_unsupported_format_is_rejected_at_once() -> None:
    with pytest.raises(ContentRejected, match="unsupported"):
        list(RecordReader(io.BytesIO(b"<xml/>"), FileFormat.UNSUPPORTED))


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
