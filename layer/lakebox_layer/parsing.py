"""Streaming parsers: a binary stream in, numbered records out, in constant memory for line-based formats."""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.formats import UTF8_BOM
from lakebox_layer.records import FileFormat

CHUNK_BYTES = 1024 * 1024
MAX_LINE_CHARS = 16 * 1024 * 1024
# A JSON document is parsed whole; larger documents belong in JSON Lines.
MAX_JSON_DOCUMENT_BYTES = 64 * 1024 * 1024


class BinaryStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class ParsedRecord:
    """One record (1-based number) with its fields, or the reason it could not be read as a record."""

    number: int
    fields: dict[str, Any] | None
    error: str | None = None


def iter_text_lines(stream: BinaryStream, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """Decode a UTF-8 stream (an optional BOM dropped) into lines that keep their '\\n'."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    at_start = True
    offset = 0  # bytes read so far; the decoder may hold the start of a character cut by a chunk boundary
    while True:
        chunk = stream.read(chunk_bytes)
        held = len(decoder.getstate()[0])
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as error:
            raise ContentRejected(
                f"cannot decode: invalid UTF-8 near byte {offset - held + error.start}"
            ) from error
        if at_start and text:
            text, at_start = text.removeprefix("\ufeff"), False
        offset += len(chunk)
        pending += text
        *lines, pending = pending.split("\n")
        for line in lines:
            yield line + "\n"
        if len(pending) > MAX_LINE_CHARS:
            raise ContentRejected(f"line too long: more than {MAX_LINE_CHARS} characters without a newline")
        if not chunk:
            break
    if pending:
        yield pending


def _json_records(stream: BinaryStream) -> Iterator[ParsedRecord]:
    document = stream.read(MAX_JSON_DOCUMENT_BYTES + 1)
    if len(document) > MAX_JSON_DOCUMENT_BYTES:
        raise ContentRejected(
            f"JSON document larger than {MAX_JSON_DOCUMENT_BYTES} bytes: send large data as JSON Lines"
        )
    bom = len(UTF8_BOM) if document.startswith(UTF8_BOM) else 0
    try:
        value = json.loads(document[bom:].decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ContentRejected(f"cannot decode: invalid UTF-8 near byte {bom + error.start}") from error
    except ValueError as error:
        raise ContentRejected(f"invalid JSON: {error}") from error
    if isinstance(value, dict):
        yield ParsedRecord(1, value)
    elif isinstance(value, list):
        if not value:
            raise ContentRejected("empty JSON array: no records")
        for number, item in enumerate(value, start=1):
            if isinstance(item, dict):
                yield ParsedRecord(number, item)
            else:
                yield ParsedRecord(number, None, f"record {number}: expected a JSON object")
    else:
        raise ContentRejected("invalid JSON: expected an object or an array of objects")


def _json_lines_records(lines: Iterable[str]) -> Iterator[ParsedRecord]:
    number = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except ValueError:
            yield ParsedRecord(number, None, f"record {number} (line {line_number}): invalid JSON")
            continue
        if isinstance(value, dict):
            yield ParsedRecord(number, value)
        else:
            yield ParsedRecord(number, None, f"record {number} (line {line_number}): expected a JSON object")
    if number == 0:
        raise ContentRejected("empty file: no JSON Lines records")


def _csv_records(lines: Iterable[str]) -> Iterator[ParsedRecord]:
    reader = csv.reader(lines)
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
    number = 0
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            number += 1
            if len(row) != len(header):
                yield ParsedRecord(
                    number, None, f"record {number}: {len(row)} values for {len(header)} columns"
                )
            else:
                yield ParsedRecord(number, dict(zip(header, row, strict=True)))
    except csv.Error as error:
        raise ContentRejected(f"malformed CSV near record {number + 1}: {error}") from error
    if number == 0:
        raise ContentRejected("CSV file must have a header and data rows: it has a header only")


def iter_records(stream: BinaryStream, file_format: FileFormat) -> Iterator[ParsedRecord]:
    """Records of a raw file; unreadable content raises :class:`ContentRejected` with the reason."""
    if file_format is FileFormat.JSON:
        return _json_records(stream)
    if file_format is FileFormat.JSON_LINES:
        return _json_lines_records(iter_text_lines(stream))
    if file_format is FileFormat.CSV:
        return _csv_records(iter_text_lines(stream))
    raise ContentRejected(f"unsupported format: {file_format}")
