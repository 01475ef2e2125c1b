"""Helpers the parsing tests share: parse bytes to records or to a rejection."""

from __future__ import annotations

import io

import pytest

from lakebox_layer import parsing
from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.parsing import (
    ParsedRecord,
    RecordReader,
)
from lakebox_layer.records import FileFormat

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
