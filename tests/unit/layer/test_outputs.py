"""Record mode's outputs: good and bad records serialised as they come, visible only once committed."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pytest

from lakebox_layer import outputs
from lakebox_layer.contracts import parse_contract
from lakebox_layer.outputs import ReasonOutput, RecordOutput, RecordSplit
from lakebox_layer.parsing import ParsedRecord, RecordReader
from lakebox_layer.records import FileFormat
from lakebox_layer.rules import Violation
from lakebox_layer.validation import validate_records


@dataclass
class FakeWriter:
    """An object writer that records what it was given; `committed` is what a reader would then see."""

    key: str = "validated/t/a"
    writes: list[bytes] = field(default_factory=list)
    committed: bytes | None = None
    aborted: bool = False

    @property
    def uri(self) -> str:
        return f"s3://bucket/{self.key}"

    def write(self, data: bytes) -> None:
        assert self.committed is None and not self.aborted
        self.writes.append(data)

    def commit(self) -> None:
        self.committed = b"".join(self.writes)

    def abort(self) -> None:
        self.aborted = True


def csv_output(writer: FakeWriter, header: list[str] | None = None, delimiter: str = ",") -> RecordOutput:
    return RecordOutput(writer, FileFormat.CSV, lambda: header, lambda: delimiter)


def json_output(writer: FakeWriter, file_format: FileFormat = FileFormat.JSON_LINES) -> RecordOutput:
    return RecordOutput(writer, file_format, lambda: None, lambda: ",")


def test_csv_output_writes_the_header_then_each_row_as_it_was_read() -> None:
    writer = FakeWriter()
    output = csv_output(writer, ["id", "note"], ";")
    output.add(ParsedRecord(1, {"id": "1", "note": "a;b"}, None, ["1", "a;b"]))
    output.add(ParsedRecord(3, None, "1 values for 2 columns", ["3"]))  # ragged rows go out as they came
    output.add(ParsedRecord(4, {"id": "4", "note": 'multi\nline "q"'}, None, ["4", 'multi\nline "q"']))
    output.commit()
    assert output.count == 3
    assert writer.committed == b'id;note\n1;"a;b"\n3\n4;"multi\nline ""q"""\n'
    rows = list(csv.reader(io.StringIO(writer.committed.decode()), delimiter=";"))
    assert rows == [["id", "note"], ["1", "a;b"], ["3"], ["4", 'multi\nline "q"']]


def test_csv_header_and_delimiter_are_asked_for_when_the_first_record_comes() -> None:
    # RecordReader knows them only once iteration has begun, after the outputs were built.
    state: dict[str, object] = {"header": None, "delimiter": ","}
    writer = FakeWriter()
    output = RecordOutput(writer, FileFormat.CSV, lambda: state["header"],  # type: ignore[arg-type,return-value]
                          lambda: state["delimiter"])  # type: ignore[arg-type,return-value]
    state.update(header=["a", "b"], delimiter="|")
    output.add(ParsedRecord(1, {"a": "1", "b": "2"}, None, ["1", "2"]))
    output.commit()
    assert writer.committed == b"a|b\n1|2\n"


def test_csv_record_without_a_source_is_written_from_its_fields() -> None:
    writer = FakeWriter()
    output = csv_output(writer, ["a", "b"])
    output.add(ParsedRecord(1, {"a": "x", "b": "y"}))
    output.commit()
    assert writer.committed == b"a,b\nx,y\n"


def test_json_output_writes_json_lines() -> None:
    writer = FakeWriter()
    output = json_output(writer, FileFormat.JSON)
    output.add(ParsedRecord(1, {"id": 1, "name": "Zoë 🙂", "nested": {"a": [1, None]}}, None, {"id": 1}))
    output.add(ParsedRecord(2, None, "expected a JSON object", '"a string element"'))
    output.add(ParsedRecord(3, None, "expected a JSON object", "42"))
    output.commit()
    assert writer.committed is not None
    lines = writer.committed.decode().splitlines()
    assert lines[0] == '{"id": 1, "name": "Zoë 🙂", "nested": {"a": [1, null]}}'
    assert [json.loads(line) for line in lines] == [
        {"id": 1, "name": "Zoë 🙂", "nested": {"a": [1, None]}}, "a string element", 42,
    ]


def test_a_json_lines_line_that_was_not_json_is_kept_as_its_text() -> None:
    writer = FakeWriter()
    output = json_output(writer)
    output.add(ParsedRecord(2, None, "invalid JSON (line 2)", '{"id": 2,'))
    output.commit()
    assert writer.committed == b'{"id": 2,\n'


def test_bad_json_array_elements_are_written_as_valid_json_lines() -> None:
    # What the reader gives for non-object elements must come out as one line of JSON each.
    data = b'[{"id": 1}, "text with \\"quotes\\"", [1, 2], null, {"id": 5}]'
    writer = FakeWriter()
    output = json_output(writer, FileFormat.JSON)
    for record in RecordReader(io.BytesIO(data), FileFormat.JSON):
        output.add(record)
    output.commit()
    assert writer.committed is not None
    assert [json.loads(line) for line in writer.committed.decode().splitlines()] == [
        {"id": 1}, 'text with "quotes"', [1, 2], None, {"id": 5},
    ]


def test_nothing_is_written_before_the_flush_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outputs, "FLUSH_CHARS", 40)
    writer = FakeWriter()
    output = json_output(writer)
    output.add(ParsedRecord(1, {"n": 1}))
    assert writer.writes == []
    for n in range(2, 12):
        output.add(ParsedRecord(n, {"n": n}))
    assert 1 < len(writer.writes) < 11  # flushed in pieces of about FLUSH_CHARS, not per record
    assert writer.committed is None  # written is not visible
    output.commit()
    assert writer.committed is not None
    assert [json.loads(line)["n"] for line in writer.committed.decode().splitlines()] == list(range(1, 12))


def test_abort_leaves_nothing() -> None:
    writer = FakeWriter()
    output = json_output(writer)
    output.add(ParsedRecord(1, {"n": 1}))
    output.abort()
    assert writer.aborted
    assert writer.committed is None


def test_uri_is_the_writers() -> None:
    assert json_output(FakeWriter(key="quarantine/t/a.jsonl")).uri == "s3://bucket/quarantine/t/a.jsonl"


def test_split_routes_records_by_their_violations_and_says_why_each_bad_one_is_bad() -> None:
    good_writer, bad_writer, reasons_writer = FakeWriter(), FakeWriter(), FakeWriter()
    split = RecordSplit(json_output(good_writer), json_output(bad_writer), ReasonOutput(reasons_writer))
    split.route(ParsedRecord(1, {"n": 1}), [])
    split.route(ParsedRecord(2, {"n": "2", "e": "secret"}), [Violation("type", "n", "not an integer", "2"),
                                                              Violation("format", "e", "invalid email", "secret")])
    split.route(ParsedRecord(3, {"n": 3}), [])
    split.route(ParsedRecord(4, None, "not JSON", "{oops"), [Violation("parse", "$", "not JSON")])
    assert (split.good.count, split.bad.count, split.reasons.count) == (2, 2, 2)
    split.good.commit()
    split.bad.commit()
    split.reasons.commit()
    assert good_writer.committed == b'{"n": 1}\n{"n": 3}\n'
    assert bad_writer.committed == b'{"n": "2", "e": "secret"}\n{oops\n'
    # One line per bad record, in the bad records' order; no value (it may be personal data).
    reasons = reasons_writer.committed or b""
    assert [json.loads(line) for line in reasons.splitlines()] == [
        {"record": 2, "errors": [{"field": "n", "rule": "type", "message": "not an integer"},
                                 {"field": "e", "rule": "format", "message": "invalid email"}]},
        {"record": 4, "errors": [{"field": "$", "rule": "parse", "message": "not JSON"}]},
    ]
    assert b"secret" not in reasons


def test_split_abort_aborts_all_three() -> None:
    writers = [FakeWriter(), FakeWriter(), FakeWriter()]
    RecordSplit(json_output(writers[0]), json_output(writers[1]), ReasonOutput(writers[2])).abort()
    assert all(writer.aborted for writer in writers)


def test_a_sniffed_csv_splits_into_two_csv_files_under_its_header() -> None:
    rows = [f"{n}|u{n}@example.com" for n in range(1, 12)]
    rows[1], rows[2] = "2|not-an-email", "3"  # an invalid email and a ragged row
    data = ("id|email\r\n" + "\r\n".join(rows) + "\r\n").encode()
    reader = RecordReader(io.BytesIO(data), FileFormat.CSV)
    good_writer, bad_writer = FakeWriter(), FakeWriter()
    good, bad = (RecordOutput(w, FileFormat.CSV, lambda: reader.header, lambda: reader.delimiter)
                 for w in (good_writer, bad_writer))
    split = RecordSplit(good, bad, ReasonOutput(FakeWriter()))
    contract = parse_contract({"dataset": "t", "version": "1", "fields": {"email": {"format": "email"}},
                               "policy": {"mode": "record"}})
    outcome = validate_records(reader, contract, FileFormat.CSV, split.route)
    split.good.commit()
    split.bad.commit()
    assert reader.delimiter == "|"
    assert (outcome.records_valid, outcome.records_invalid) == (9, 2)
    # Both outputs are CSV with the file's header and delimiter (and '\n' line ends).
    good_rows = [row for row in rows if row not in ("2|not-an-email", "3")]
    assert good_writer.committed == ("id|email\n" + "".join(f"{row}\n" for row in good_rows)).encode()
    assert bad_writer.committed == b"id|email\n2|not-an-email\n3\n"


@pytest.mark.parametrize(("cell", "shown"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+2", "'+1+2"), ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("plain", "plain"), ("", ""),
    ("a=b", "a=b"),
])
def test_formula_like_cells_are_defused(cell: str, shown: str) -> None:
    from lakebox_layer.outputs import defuse

    assert defuse(cell) == shown


def test_quarantine_csv_output_defuses_formulas_in_header_and_rows() -> None:
    writer = FakeWriter()
    output = RecordOutput(writer, FileFormat.CSV, lambda: ["id", "=evil"], lambda: ",", defuse_formulas=True)
    output.add(ParsedRecord(1, {"id": "1", "=evil": "=cmd|' /C calc'!A0"}, None, ["1", "=cmd|' /C calc'!A0"]))
    output.commit()
    assert writer.committed == b"id,'=evil\n1,'=cmd|' /C calc'!A0\n"
