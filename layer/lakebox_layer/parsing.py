"""Streaming parsers: a raw object's byte stream in, numbered records out, in memory that does not grow with the
file. JSON Lines and CSV are read line by line; a JSON array element by element; gzip is decompressed on the fly
(with a limit, so a gzip bomb is refused rather than expanded). A single JSON object is one record, read whole up to
a limit.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.records import FileFormat
from lakebox_layer.streams import BinaryStream, decompressed
from lakebox_layer.strict_json import StrictJson

CHUNK_BYTES = 1024 * 1024
MAX_LINE_CHARS = 16 * 1024 * 1024
MAX_RECORD_CHARS = 16 * 1024 * 1024
# A lone JSON object is one record, parsed whole, within the same limit as any record; large data belongs in JSON
# Lines or a JSON array.
MAX_JSON_DOCUMENT_CHARS = MAX_RECORD_CHARS
# The most bytes a line or a JSON object (a document, an element or a line) that validation accepts can take: UTF-8
# spends at most four a character. Curation reads lines and objects this large (see lakebox_layer.sources), so what
# validation lets through, curation can read.
MAX_LINE_BYTES = 4 * MAX_LINE_CHARS
MAX_JSON_OBJECT_BYTES = 4 * MAX_RECORD_CHARS
# A CSV field may be as long as a line. The csv module's limit is its process's (128 Ki characters by default);
# every CSV reader of the layer (validation's, curation's protection) reads after this module is imported.
csv.field_size_limit(MAX_LINE_CHARS)
# csv.Sniffer's cost grows faster than its sample when the sample holds quotes; 8 KiB is ample for a delimiter.
CSV_SNIFF_CHARS = 8 * 1024
CSV_DELIMITERS = ",;\t|"
_WHITESPACE = re.compile(r"[ \t\r\n]*")
# What may follow a complete array element: a number decoded at a chunk boundary may not be complete without it.
_ELEMENT_END = re.compile(r"[ \t\r\n]*[,\]]")


@dataclass(slots=True)
class ParsedRecord:
    """One record (1-based number): its fields, or why it could not be read as a record (without the number), and
    its source (the CSV row, the JSON Lines line or the JSON array element), which record mode writes out."""

    number: int
    fields: dict[str, Any] | None
    error: str | None = None
    source: Any = None


def iter_text(stream: BinaryStream, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Decode a UTF-8 stream (an optional BOM dropped) in chunks; an invalid byte names its offset."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes read so far; the decoder may hold the start of a character cut by a chunk boundary
    at_start = True
    while True:
        chunk = stream.read(chunk_bytes)
        held = len(decoder.getstate()[0])
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise ContentRejected(f"cannot decode: invalid UTF-8 near byte {offset - held + error.start}") from error
        if at_start and text:
            text, at_start = text.removeprefix("\ufeff"), False
        offset += len(chunk)
        if text:
            yield text
        if not chunk:
            return


def iter_text_lines(stream: BinaryStream, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Decode a UTF-8 stream into lines that keep their '\\n'; a line longer than MAX_LINE_CHARS is refused."""
    pending = ""
    for text in iter_text(stream, chunk_bytes):
        pending += text
        *lines, pending = pending.split("\n")
        for line in lines:
            if len(line) > MAX_LINE_CHARS:  # completed by this chunk, past the limit all the same
                raise ContentRejected(f"line too long: more than {MAX_LINE_CHARS} characters without a newline")
            yield line + "\n"
        if len(pending) > MAX_LINE_CHARS:
            raise ContentRejected(f"line too long: more than {MAX_LINE_CHARS} characters without a newline")
    if pending:
        yield pending


class RecordReader:
    """The records of one raw file. For CSV, `header` and `delimiter` are known once iteration has begun."""

    def __init__(self, stream: BinaryStream, file_format: FileFormat, compression: str | None = None,
                 chunk_bytes: int = CHUNK_BYTES) -> None:
        self.file_format = file_format
        self._stream = decompressed(stream, compression)
        self._chunk_bytes = chunk_bytes
        self.header: list[str] | None = None
        self.delimiter = ","

    def __iter__(self) -> Iterator[ParsedRecord]:
        if self.file_format is FileFormat.JSON:
            return _json_records(iter_text(self._stream, self._chunk_bytes))
        if self.file_format is FileFormat.JSON_LINES:
            return _json_lines_records(iter_text_lines(self._stream, self._chunk_bytes))
        if self.file_format is FileFormat.CSV:
            return self._csv_records(iter_text_lines(self._stream, self._chunk_bytes))
        raise ContentRejected(f"unsupported format: {self.file_format}")

    def _csv_records(self, lines: Iterator[str]) -> Iterator[ParsedRecord]:
        sample: list[str] = []
        size = 0
        for line in lines:
            sample.append(line)
            size += len(line)
            if size >= CSV_SNIFF_CHARS:
                break
        self.delimiter = sniff_delimiter("".join(sample))
        reader = csv.reader(itertools.chain(sample, lines), delimiter=self.delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise ContentRejected("CSV file must have a header and data rows: the file is empty") from None
        except csv.Error as error:
            raise ContentRejected(f"malformed CSV header: {error}") from error
        header = [name.strip() for name in header]
        if not any(header):
            raise ContentRejected("CSV file must have a header: the first line is blank")
        if len(set(header)) != len(header):
            raise ContentRejected("CSV header repeats a column name")
        self.header = header
        width = len(header)
        number = 0
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                number += 1
                if len(row) != width:
                    yield ParsedRecord(number, None, f"{len(row)} values for {width} columns", row)
                else:
                    yield ParsedRecord(number, dict(zip(header, row, strict=True)), None, row)
        except csv.Error as error:
            raise ContentRejected(f"malformed CSV near record {number + 1}: {error}") from error
        if number == 0:
            raise ContentRejected("CSV file must have a header and data rows: it has a header only")


def _agreement(sample_lines: list[str], delimiter: str) -> tuple[float, int]:
    """How well a delimiter fits the sample: the share of rows as wide as the header, and the header's width."""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(sample_lines, delimiter=delimiter):
            if row:
                rows.append(row)
    except csv.Error:
        pass
    if len(rows) > 2:
        rows = rows[:-1]  # the sample may end inside a row
    if not rows or len(rows[0]) < 2:
        return 0.0, 0
    width = len(rows[0])
    return sum(len(row) == width for row in rows) / len(rows), width


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample among `, ; TAB |`: the one under which most rows are as wide as the header
    (the wider header on a tie), else csv.Sniffer's choice, else a comma."""
    if not sample.strip():
        return ","
    lines = sample.splitlines(keepends=True)
    fits = {d: _agreement(lines, d) for d in CSV_DELIMITERS if d in lines[0]}
    best, (share, _) = max(fits.items(), key=lambda item: item[1], default=(",", (0.0, 0)))
    if share >= 0.5:
        return best
    try:
        return csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","


def csv_dialect(path: Path, compression: str | None, limit: int = MAX_LINE_CHARS) -> tuple[list[str], str]:
    """A local CSV file's header names as written (trimmed), from its first line, and its delimiter, sniffed as
    `RecordReader` sniffs it (from the first lines, CSV_SNIFF_CHARS of them)."""
    sample: list[str] = []
    size = 0
    with gzip.open(path, "rb") if compression == "gzip" else path.open("rb") as stream:
        while size < CSV_SNIFF_CHARS:
            line = stream.readline(limit).decode("utf-8" if sample else "utf-8-sig", errors="replace")
            if not line:
                break
            sample.append(line)
            size += len(line)
    delimiter = sniff_delimiter("".join(sample))
    first = sample[0].rstrip("\r\n") if sample else ""
    if not first:
        return [], delimiter
    [names] = list(csv.reader([first], delimiter=delimiter))
    return [name.strip() for name in names], delimiter


def _json_lines_records(lines: Iterable[str]) -> Iterator[ParsedRecord]:
    strict = StrictJson()
    number = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        number += 1
        text = line.rstrip("\r\n")
        try:
            value = strict.loads(line.strip())
        except RecursionError:
            yield ParsedRecord(number, None, f"JSON nested too deeply (line {line_number})", text)
            continue
        except ValueError as error:
            detail = f": {error}" if "not valid JSON" in str(error) or "integer string" in str(error) else ""
            yield ParsedRecord(number, None, f"invalid JSON (line {line_number}){detail}", text)
            continue
        if (problem := strict.problem()) is not None:
            yield ParsedRecord(number, None, f"{problem} (line {line_number})", text)
        elif isinstance(value, dict):
            yield ParsedRecord(number, value, None, text)
        else:
            yield ParsedRecord(number, None, f"expected a JSON object (line {line_number})", text)
    if number == 0:
        raise ContentRejected("empty file: no JSON Lines records")


class _JsonText:
    """A window on a decoded text stream for element-by-element JSON parsing."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self.buffer = ""
        self.pos = 0
        self.eof = False

    def more(self) -> bool:
        """Read the next chunk, dropping what has been consumed; False at the end of the stream."""
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos:] + chunk
        self.pos = 0
        return True

    def skip_whitespace(self) -> str | None:
        """The next significant character (not consumed), or None at the end of the stream."""
        while True:
            match = _WHITESPACE.match(self.buffer, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.more():
                return None


def _json_records(chunks: Iterator[str]) -> Iterator[ParsedRecord]:
    text = _JsonText(chunks)
    first = text.skip_whitespace()
    if first is None:
        raise ContentRejected("empty file: no JSON content")
    if first == "[":
        text.pos += 1
        return _json_array_records(text)
    return _json_document_record(text)


def _json_document_record(text: _JsonText) -> Iterator[ParsedRecord]:
    while text.more():
        if len(text.buffer) > MAX_JSON_DOCUMENT_CHARS:
            raise ContentRejected(
                f"JSON document larger than {MAX_JSON_DOCUMENT_CHARS} characters: send large data as a JSON array "
                "or JSON Lines"
            )
    strict = StrictJson()
    try:
        value = strict.loads(text.buffer[text.pos:])
    except RecursionError:
        raise ContentRejected("JSON nested too deeply") from None
    except ValueError as error:
        raise ContentRejected(f"invalid JSON: {error}") from error
    if not isinstance(value, dict):
        raise ContentRejected("invalid JSON: expected an object or an array of objects")
    if (problem := strict.problem()) is not None:
        yield ParsedRecord(1, None, problem, text.buffer[text.pos:].strip())
    else:
        yield ParsedRecord(1, value, None, value)


def _maybe_truncated(error: json.JSONDecodeError, text: _JsonText) -> bool:
    """Whether a decoding error may only mean the element continues in the next chunk: an unterminated string, or
    an error within the last few characters (a cut escape such as \\u00e9, a cut literal)."""
    return error.pos >= len(text.buffer) - 8 or error.msg.startswith("Unterminated string")


def _json_array_records(text: _JsonText) -> Iterator[ParsedRecord]:
    strict = StrictJson()
    number = 0
    while True:
        following = text.skip_whitespace()
        if following is None:
            raise ContentRejected("invalid JSON: the array is not closed")
        if following == "]" and number == 0:
            raise ContentRejected("empty JSON array: no records")
        if following == "]":
            break
        while True:
            try:
                value, end = strict.raw_decode(text.buffer, text.pos)
            except RecursionError:
                raise ContentRejected(f"JSON nested too deeply in array element {number + 1}") from None
            except json.JSONDecodeError as error:
                if not _maybe_truncated(error, text):
                    raise ContentRejected(f"invalid JSON in array element {number + 1}: {error.msg}") from error
                if len(text.buffer) - text.pos > MAX_RECORD_CHARS:
                    raise ContentRejected(
                        f"array element {number + 1} is larger than {MAX_RECORD_CHARS} characters"
                    ) from error
                if not text.more():
                    raise ContentRejected(f"invalid JSON in array element {number + 1}: {error.msg}") from error
                continue
            except ValueError as error:  # NaN or Infinity, or an integer too long to convert
                raise ContentRejected(f"invalid JSON in array element {number + 1}: {error}") from error
            # A number cut by a chunk boundary ("12." of "12.25") decodes as a shorter number: unless a separator
            # follows it in the buffer, read on and decode again.
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if (end == len(text.buffer) or (is_number and not _ELEMENT_END.match(text.buffer, end))) \
                    and text.more():
                continue
            break
        if end - text.pos > MAX_RECORD_CHARS:  # read whole in the last chunk, past the limit all the same
            raise ContentRejected(f"array element {number + 1} is larger than {MAX_RECORD_CHARS} characters")
        text.pos = end
        number += 1
        if (problem := strict.problem()) is not None:
            yield ParsedRecord(number, None, problem, json.dumps(value, ensure_ascii=False))
        elif isinstance(value, dict):
            yield ParsedRecord(number, value, None, value)
        else:
            # Kept as one line of JSON text, which is how record mode writes a bad element out.
            yield ParsedRecord(number, None, "expected a JSON object", json.dumps(value, ensure_ascii=False))
        separator = text.skip_whitespace()
        if separator == ",":
            text.pos += 1
            if text.skip_whitespace() == "]":
                raise ContentRejected(f"invalid JSON: a trailing comma after array element {number}")
        elif separator == "]":
            break
        else:
            raise ContentRejected(f"invalid JSON after array element {number}: expected ',' or ']'")
    text.pos += 1
    if text.skip_whitespace() is not None:
        raise ContentRejected("invalid JSON: content after the end of the array")
