"""Record mode's outputs: good records to processed, bad ones to quarantine, serialised as they come.

CSV stays CSV under the file's header (bad rows are written as they were read, ragged or not); JSON, JSON arrays
and JSON Lines become JSON Lines (a line that was not JSON is kept as its text; a JSON array element that is not an
object, as its JSON text).
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


class RecordOutput:
    """Records appended to one object; the object appears only on :meth:`commit`."""

    def __init__(self, writer: Writer, file_format: FileFormat, header: Callable[[], list[str] | None],
                 delimiter: Callable[[], str], *, defuse_formulas: bool = False) -> None:
        self.writer = writer
        self._csv = file_format is FileFormat.CSV
        self._defuse = defuse_formulas
        self._header = header
        self._delimiter = delimiter
        self._text = io.StringIO()
        self._rows: Any = None
        self.count = 0

    @property
    def uri(self) -> str:
        return self.writer.uri

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

    def _flush(self) -> None:
        self.writer.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def commit(self) -> None:
        self._flush()
        self.writer.commit()

    def abort(self) -> None:
        self.writer.abort()


class RecordSplit:
    """Routes each judged record to the good or the bad output."""

    def __init__(self, good: RecordOutput, bad: RecordOutput) -> None:
        self.good = good
        self.bad = bad

    def route(self, record: ParsedRecord, found: list[Violation]) -> None:
        (self.bad if found else self.good).add(record)

    def abort(self) -> None:
        self.good.abort()
        self.bad.abort()
