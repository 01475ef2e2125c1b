"""Deciding a raw file's format from its key and its first bytes, before anything parses it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from lakebox_layer.records import FileFormat

SNIFF_BYTES = 64 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
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


def detect_format(key: str, head: bytes, size: int) -> Detection:
    """Decide the format of a raw object from its key and its first :data:`SNIFF_BYTES` bytes."""
    if size == 0:
        return _unsupported("empty file: the object has no content")
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
