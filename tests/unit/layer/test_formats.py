"""detect_format: the format of a raw file from its key and its first bytes."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from lakebox_layer.formats import GZIP_MAGIC, SNIFF_BYTES, UTF8_BOM, Detection, detect_format
from lakebox_layer.records import FileFormat


def detect(key: str, content: bytes, size: int | None = None) -> Detection:
    """Detect as the pipeline does: the head is at most SNIFF_BYTES, the size is the whole object's."""
    return detect_format(key, content[:SNIFF_BYTES], len(content) if size is None else size)


JSON_OBJECT = json.dumps({"id": 1, "timestamp": "2026-01-01T00:00:00Z", "data": "x"}).encode()
JSON_ARRAY = json.dumps([{"id": 1}, {"id": 2}]).encode()
PRETTY_OBJECT = json.dumps({"id": 1, "data": {"nested": [1, 2]}}, indent=2).encode()
JSON_LINES = b'{"id": 1}\n{"id": 2}\n{"id": 3}\n'
CSV = b"id,name,email\n1,Ann,ann@example.com\n"


@pytest.mark.parametrize(
    ("key", "content", "expected"),
    [
        ("input/a.json", JSON_OBJECT, FileFormat.JSON),
        ("input/a.json", JSON_OBJECT + b"\n", FileFormat.JSON),
        ("input/a.json", JSON_ARRAY, FileFormat.JSON),
        ("input/a.json", b"  \n\t" + JSON_ARRAY, FileFormat.JSON),
        ("input/a.json", PRETTY_OBJECT, FileFormat.JSON),
        # JSON Lines are recognised from the content even behind a .json extension.
        ("input/a.json", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.json", b'{"id": 1}\r\n{"id": 2}\r\n', FileFormat.JSON_LINES),
        ("input/a.jsonl", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.ndjson", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.JSONL", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.csv", CSV, FileFormat.CSV),
        ("input/sales/A.CSV", CSV, FileFormat.CSV),
        # No or an unknown extension, but the content is plainly JSON.
        ("input/a", JSON_OBJECT, FileFormat.JSON),
        ("input/a.txt", JSON_LINES, FileFormat.JSON_LINES),
    ],
)
def test_supported_formats(key: str, content: bytes, expected: FileFormat) -> None:
    detection = detect(key, content)
    assert detection.format is expected
    assert detection.reason is None


def test_utf8_bom_is_accepted() -> None:
    assert detect("input/a.json", UTF8_BOM + JSON_OBJECT).format is FileFormat.JSON
    assert detect("input/a.json", UTF8_BOM + JSON_LINES).format is FileFormat.JSON_LINES
    assert detect("input/a.csv", UTF8_BOM + CSV).format is FileFormat.CSV


@pytest.mark.parametrize(
    ("key", "content", "size", "reason_part"),
    [
        ("input/a.json", b"", 0, "empty"),
        ("input/a.csv", b"", 0, "empty"),
        ("input/a.json", b"  \n\t\r\n ", None, "empty"),
        ("input/a.csv", UTF8_BOM + b"\n\n", None, "empty"),
        ("input/a.csv", b"id,name\n1,\x00\x01\x02\n", None, "binary"),
        ("input/a.json", b'{"a": "\x00"}', None, "binary"),
        ("input/a.csv", b"id,name\n1,\xff\xfe\n", None, "cannot decode"),
        ("input/a.json", "{\"name\": \"Zoë\"}".encode("latin-1"), None, "cannot decode"),
        ("input/a.json", b"id,name\n1,Ann\n", None, "not JSON"),
    ],
)
def test_unsupported_content(key: str, content: bytes, size: int | None, reason_part: str) -> None:
    detection = detect(key, content, size)
    assert detection.format is FileFormat.UNSUPPORTED
    assert detection.reason is not None
    assert reason_part in detection.reason


@pytest.mark.parametrize(
    ("key", "extension"),
    [
        ("input/a.xml", ".xml"),
        ("input/sales/a.parquet", ".parquet"),
        ("input/README", "no extension"),
    ],
)
def test_unknown_extension_with_non_json_text_names_the_extension(key: str, extension: str) -> None:
    detection = detect(key, b"<rows><row id='1'/></rows>\n")
    assert detection.format is FileFormat.UNSUPPORTED
    assert detection.reason is not None
    assert extension in detection.reason


@pytest.mark.parametrize("cut", [1, 2])
@pytest.mark.parametrize("key", ["input/a.json", "input/a.csv"])
def test_multibyte_character_cut_at_the_sniff_boundary_is_not_an_error(key: str, cut: int) -> None:
    # The head ends inside the three bytes of '€'; the rest of the object lies beyond the sniffed bytes.
    prefix = b'{"price": "' if key.endswith(".json") else b"price\n"
    head = prefix + "€".encode() * 3 + "€".encode()[:cut]
    detection = detect_format(key, head, size=len(head) + 1000)
    assert detection.format is not FileFormat.UNSUPPORTED, detection.reason


def test_four_byte_character_cut_at_the_sniff_boundary_is_not_an_error() -> None:
    head = b'{"mood": "' + "🙂".encode()[:3]
    assert detect_format("input/a.json", head, size=len(head) + 10).format is FileFormat.JSON


def test_truncated_character_at_the_real_end_of_the_file_is_an_error() -> None:
    # Nothing follows the head: a cut sequence there is invalid UTF-8, not a sniffing artefact.
    content = b'{"price": "' + "€".encode()[:2]
    detection = detect_format("input/a.json", content, size=len(content))
    assert detection.format is FileFormat.UNSUPPORTED
    assert detection.reason is not None
    assert "cannot decode" in detection.reason


@pytest.mark.parametrize("tail", [b"\xff", b"\xc3("], ids=["0xff", "bad-continuation"])
def test_invalid_bytes_at_the_sniff_boundary_are_not_mistaken_for_a_cut_character(tail: bytes) -> None:
    # 0xFF never occurs in UTF-8 and 0xC3 followed by '(' is already broken: neither is a character the sniff
    # window cut short, so the head is undecodable whatever follows it.
    head = b'{"name": "' + tail
    detection = detect_format("input/a.json", head, size=len(head) + 1000)
    assert detection.format is FileFormat.UNSUPPORTED
    assert detection.reason is not None
    assert "cannot decode" in detection.reason


def test_json_lines_whose_first_line_is_not_an_object_is_json() -> None:
    # A pretty-printed document's first line is "{", not a complete object: one JSON document.
    assert detect("input/a.json", PRETTY_OBJECT + b"\n").format is FileFormat.JSON


def test_extension_decides_over_content_for_csv() -> None:
    # A .csv file is parsed as CSV even when its first line looks like JSON.
    assert detect("input/a.csv", b'{"a": 1}\n{"a": 2}\n').format is FileFormat.CSV


# -- gzip ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "content", "expected"),
    [
        ("input/orders.csv.gz", CSV, FileFormat.CSV),
        ("input/orders.CSV.GZ", CSV, FileFormat.CSV),
        ("input/a.jsonl.gz", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.json.gz", JSON_ARRAY, FileFormat.JSON),
        ("input/a.json.gz", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.gz", JSON_OBJECT, FileFormat.JSON),
        # The magic bytes decide, whatever the key says.
        ("input/orders.csv", CSV, FileFormat.CSV),
        ("input/a.ndjson", JSON_LINES, FileFormat.JSON_LINES),
        ("input/a.json.gz", UTF8_BOM + JSON_OBJECT, FileFormat.JSON),
    ],
)
def test_gzip_is_looked_into(key: str, content: bytes, expected: FileFormat) -> None:
    detection = detect(key, gzip.compress(content))
    assert detection.format is expected
    assert detection.compression == "gzip"
    assert detection.reason is None


def test_plain_files_have_no_compression() -> None:
    assert detect("input/a.csv", CSV).compression is None
    assert detect("input/a.json", JSON_OBJECT).compression is None


def test_a_large_gzip_is_detected_from_its_first_bytes() -> None:
    rows = b"".join(b"%d,%s\n" % (n, hashlib.sha256(b"%d" % n).hexdigest().encode()) for n in range(20_000))
    compressed = gzip.compress(b"id,digest\n" + rows)
    assert len(compressed) > SNIFF_BYTES  # only the head is looked at, cut inside the deflate stream
    detection = detect("input/big.csv.gz", compressed)
    assert (detection.format, detection.compression) == (FileFormat.CSV, "gzip")


@pytest.mark.parametrize(
    ("key", "content", "reason_part"),
    [
        ("input/a.csv.gz", gzip.compress(b""), "the gzip holds no content"),
        ("input/a.csv.gz", gzip.compress(gzip.compress(CSV)), "nested compression"),
        ("input/a.csv.gz", GZIP_MAGIC + b"\x08\x00garbage that is not deflate", "corrupt gzip"),
        ("input/a.csv.gz", gzip.compress(b"id,name\n1,\xff\xfe\n"), "cannot decode"),
        ("input/a.csv.gz", gzip.compress(b"id,name\n1,\x00\x01\n"), "binary"),
        ("input/a.xml.gz", gzip.compress(b"<rows/>\n"), ".xml"),
        ("input/a.json.gz", gzip.compress(b"  \n"), "empty"),
    ],
    ids=["empty", "nested", "corrupt", "not-utf8", "binary", "unknown-inner-extension", "whitespace"],
)
def test_unsupported_gzip_content(key: str, content: bytes, reason_part: str) -> None:
    detection = detect(key, content)
    assert detection.format is FileFormat.UNSUPPORTED
    assert detection.reason is not None
    assert reason_part in detection.reason


def test_a_gz_key_that_is_not_gzip_is_judged_by_its_content() -> None:
    detection = detect("input/a.csv.gz", CSV)
    assert detection.format is FileFormat.UNSUPPORTED
    assert detection.reason is not None
    assert ".gz" in detection.reason


def test_a_multi_member_gzip_is_detected_from_its_whole_content() -> None:
    # `cat day1.jsonl.gz day2.jsonl.gz > days.json.gz`, or a shipper appending one gzip member per batch: the parser
    # reads every member, so detection must not judge the content by the first member alone (which holds one line
    # here, so the file would be taken for a single JSON document and refused).
    content = gzip.compress(b'{"id": 1}\n') + gzip.compress(b'{"id": 2}\n') + gzip.compress(b'{"id": 3}\n')
    detection = detect("input/days.json.gz", content)
    assert (detection.format, detection.compression) == (FileFormat.JSON_LINES, "gzip")
