"""RecordReader on CSV: header, quoting, delimiters sniffed, ragged rows."""

from __future__ import annotations

import csv
import io

import pytest

from lakebox_layer import parsing
from lakebox_layer.formats import UTF8_BOM
from lakebox_layer.parsing import (
    ParsedRecord,
    RecordReader,
    sniff_delimiter,
)
from tests.unit.layer.parsing_support import CSV, fields_of, parse, rejection

# -- CSV ----------------------------------------------------------------------------------------------------------


def test_csv_header_and_rows() -> None:
    records = parse(b"id,name,email\n1,Ann,ann@example.com\n2,Bob,\n", CSV)
    assert records == [
        ParsedRecord(1, {"id": "1", "name": "Ann", "email": "ann@example.com"}, None, ["1", "Ann", "ann@example.com"]),
        ParsedRecord(2, {"id": "2", "name": "Bob", "email": ""}, None, ["2", "Bob", ""]),
    ]


def test_a_csv_field_may_be_as_long_as_a_line() -> None:
    """The csv module alone refuses a field past 128 Ki characters; validation's limit is the line's."""
    field = "x" * (parsing.MAX_LINE_CHARS // 64)
    assert len(field) > 131_072
    assert fields_of(f"id,payload\n1,{field}\n".encode(), CSV) == [{"id": "1", "payload": field}]
    assert csv.field_size_limit() == parsing.MAX_LINE_CHARS


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
