"""RecordReader on JSON documents, arrays and JSON Lines."""

from __future__ import annotations

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
)
from lakebox_layer.records import FileFormat
from tests.unit.layer.parsing_support import BAD_BYTE, CSV, JSON, JSONL, fields_of, parse, rejection

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


@pytest.mark.parametrize("chunk_bytes", [8, 64, 600, 4096])
def test_an_array_element_past_the_limit_is_refused_whatever_the_chunks(monkeypatch: pytest.MonkeyPatch,
                                                                       chunk_bytes: int) -> None:
    """Also when its last characters arrive with the chunk that completes it (then it decodes at once)."""
    monkeypatch.setattr(parsing, "MAX_RECORD_CHARS", 512)
    just_over = json.dumps({"n": "x" * 520}).encode()
    reason = rejection(b'[{"id": 1}, ' + just_over + b"]", JSON, chunk_bytes=chunk_bytes)
    assert reason == "array element 2 is larger than 512 characters"


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
