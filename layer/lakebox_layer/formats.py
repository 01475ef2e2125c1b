"""Deciding a raw file's format from its key and its first bytes, before anything parses it."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from lakebox_layer.records import FileFormat

SNIFF_BYTES = 64 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
_EXTENSIONS = {
    ".json": FileFormat.JSON,
    ".jsonl": FileFormat.JSON_LINES,
    ".ndjson": FileFormat.JSON_LINES,
    ".csv": FileFormat.CSV,
}


@dataclass(frozen=True)
class Detection:
    """The decided format, and for an unsupported file the reason it cannot be processed."""

    format: FileFormat
    reason: str | None = None
    compression: str | None = None


def _unsupported(reason: str) -> Detection:
    return Detection(FileFormat.UNSUPPORTED, reason)


def _decode_head(head: bytes, truncated: bool) -> str | None:
    """The head as text, or None if it is not UTF-8 (a sequence cut at the sniff boundary is not an error)."""
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        # Only a character cut short by the sniff window is forgiven, never an invalid byte.
        if truncated and error.reason == "unexpected end of data":
            return head[: error.start].decode("utf-8", errors="strict")
        return None


def _looks_like_json_lines(text: str) -> bool:
    """True when the first line is a complete JSON object and more content follows it."""
    first, sep, rest = text.lstrip().partition("\n")
    if not sep or not rest.strip():
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def _detect_gzip(key: str, head: bytes, size: int) -> Detection:
    """The format inside a gzip file, from the start of its decompressed content."""
    inner = b""
    pending = head
    try:
        while True:  # a gzip may hold several members, one after the other
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            inner += inflater.decompress(pending, SNIFF_BYTES - len(inner))
            pending = inflater.unused_data
            if not (inflater.eof and pending and len(inner) < SNIFF_BYTES):
                break
    except zlib.error as error:
        return _unsupported(f"corrupt gzip: {error}")
    complete = inflater.eof and not pending and size <= len(head)
    inner_key = key[:-3] if key.lower().endswith(".gz") else key
    if not inner and complete:
        return _unsupported("empty file: the gzip holds no content")
    detected = detect_format(inner_key, inner, len(inner) if complete else len(inner) + 1)
    if detected.compression is not None:
        return _unsupported("nested compression: a gzip inside a gzip")
    return replace(detected, compression="gzip")


def detect_format(key: str, head: bytes, size: int) -> Detection:
    """Decide the format of a raw object from its key and its first :data:`SNIFF_BYTES` bytes (gzip is looked
    into: `orders.csv.gz` is CSV, compressed)."""
    if size == 0:
        return _unsupported("empty file: the object has no content")
    if head.startswith(GZIP_MAGIC):
        return _detect_gzip(key, head, size)
    truncated = size > len(head)
    if b"\x00" in head:
        return _unsupported("binary content: the file contains NUL bytes, expected UTF-8 text")
    text = _decode_head(head.removeprefix(UTF8_BOM), truncated)
    if text is None:
        return _unsupported("cannot decode: the file is not valid UTF-8 text")
    if not text.strip():
        return _unsupported("empty file: the object holds only whitespace")
    extension = PurePosixPath(key).suffix.lower()
    by_extension = _EXTENSIONS.get(extension)
    starts_like_json = text.lstrip()[:1] in ("{", "[")
    if by_extension is FileFormat.JSON or (by_extension is None and starts_like_json):
        if text.lstrip().startswith("{") and _looks_like_json_lines(text):
            return Detection(FileFormat.JSON_LINES)
        if not starts_like_json:
            return _unsupported("not JSON: a .json file must start with '{' or '['")
        return Detection(FileFormat.JSON)
    if by_extension is not None:
        return Detection(by_extension)
    shown = extension or "no extension"
    return _unsupported(f"unsupported format ({shown}): expected JSON, JSON Lines or CSV")
