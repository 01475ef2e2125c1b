"""Record mode's outputs: good records to processed, bad ones to quarantine, serialised as they come, and beside
the bad ones why each was set aside.

CSV stays CSV under the file's header (bad rows are written as they were read, ragged or not); JSON, JSON arrays
and JSON Lines become JSON Lines (a line that was not JSON is kept as its text; a JSON array element that is not an
object, as its JSON text). The reasons are JSON Lines, one line per bad record in the same order:
`{"record": 12, "errors": [{"field": "email", "rule": "format", "message": "invalid email"}]}` (the record's number
in the raw file; values are left out, they may be personal data).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any, Protocol

from lakebox_layer.parsing import ParsedRecord
from lakebox_layer.records import FileFormat
from lakebox_layer.rules import Violation

FLUSH_CHARS = 1024 * 1024
# Cells a spreadsheet would run as a formula (OWASP's list); quarantine copies prefix them with a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(cell: str) -> str:
    """A CSV cell that a spreadsheet shows as text instead of evaluating it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


class Writer(Protocol):
    @property
    def uri(self) -> str: ...

    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class _Buffered:
    """Text appended to one object in pieces of about FLUSH_CHARS; the object appears only on :meth:`commit`."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._text = io.StringIO()
        self.count = 0

    @property
    def uri(self) -> str:
        return self.writer.uri

    def _flush(self) -> None:
        self.writer.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def commit(self) -> None:
        self._flush()
        self.writer.commit()

    def abort(self) -> None:
        self.writer.abort()


class RecordOutput(_Buffered):
    """Records appended to one object; the object appears only on :meth:`commit`."""

    def __init__(self, writer: Writer, file_format: FileFormat, header: Callable[[], list[str] | None],
                 delimiter: Callable[[], str], *, defuse_formulas: bool = False) -> None:
        super().__init__(writer)
        self._csv = file_format is FileFormat.CSV
        self._defuse = defuse_formulas
        self._header = header
        self._delimiter = delimiter
        self._rows: Any = None

    def add(self, record: ParsedRecord) -> None:
        if self._csv:
            if self._rows is None:
                self.write_header()
            row = record.source if record.source is not None else list((record.fields or {}).values())
            self._rows.writerow([defuse(cell) for cell in row] if self._defuse else row)
        else:
            source = record.fields if record.fields is not None else record.source
            line = source if isinstance(source, str) else json.dumps(source, ensure_ascii=False, default=str)
            self._text.write(line)
            self._text.write("\n")
        self.count += 1
        if self._text.tell() >= FLUSH_CHARS:
            self._flush()

    def write_header(self) -> None:
        """Start a CSV output with the file's header (done by the first record, or alone for a header-only file)."""
        self._rows = csv.writer(self._text, delimiter=self._delimiter(), lineterminator="\n")
        header = self._header() or []
        self._rows.writerow([defuse(cell) for cell in header] if self._defuse else header)


class ReasonOutput(_Buffered):
    """Why each bad record was set aside, a JSON Lines line per record (see the module's docstring)."""

    def add(self, number: int, found: list[Violation]) -> None:
        errors = [{"field": v.field, "rule": v.rule, "message": v.message} for v in found]
        self._text.write(json.dumps({"record": number, "errors": errors}, ensure_ascii=False))
        self._text.write("\n")
        self.count += 1
        if self._text.tell() >= FLUSH_CHARS:
            self._flush()


class RecordSplit:
    """Routes each judged record to the good or the bad output, and a bad record's violations to the reasons."""

    def __init__(self, good: RecordOutput, bad: RecordOutput, reasons: ReasonOutput) -> None:
        self.good = good
        self.bad = bad
        self.reasons = reasons

    def route(self, record: ParsedRecord, found: list[Violation]) -> None:
        if not found:
            self.good.add(record)
            return
        self.bad.add(record)
        self.reasons.add(record.number, found)

    def abort(self) -> None:
        self.good.abort()
        self.bad.abort()
        self.reasons.abort()
