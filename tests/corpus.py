"""A corpus of bad and awkward inputs: every case must end in a terminal status with a reason, the raw file kept,
no unhandled exception, in bounded time and memory. Used by the unit suite (parsers and rules alone) and the e2e
suite (the whole pipeline)."""

from __future__ import annotations

import gzip
import json
import os
import random
from dataclasses import dataclass

PROCESSED = "processed"
QUARANTINED = "quarantined"


@dataclass(frozen=True)
class Case:
    name: str
    key: str  # below input/
    body: bytes
    expected: str  # processed | quarantined
    reason: str = ""  # a fragment the reason must contain, for quarantined cases


def _deep(depth: int) -> bytes:
    return b'{"id": "1", "timestamp": "t", "data": ' + b"[" * depth + b"]" * depth + b"}"


def _truncated_gzip(rng: random.Random) -> bytes:
    rows = "".join(f"{n},{rng.random()}\n" for n in range(2000))
    whole = gzip.compress(f"id,value\n{rows}".encode())
    return whole[: len(whole) // 2]


def _csv_bomb() -> bytes:
    # ~200 MB of a tiny repeated row compresses to ~200 KB: refused by the expansion limit, not parsed to the end.
    return gzip.compress(b"a,b\n" + b"0,0\n" * 50_000_000, compresslevel=9)


def cases(large: bool = True) -> list[Case]:
    """Thirty-odd cases; `large` adds the 50 MB single line and the gzip bomb."""
    rng = random.Random(7)
    valid = b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}'
    found = [
        Case("zero bytes", "corpus/empty.csv", b"", QUARANTINED, "empty"),
        Case("whitespace only", "corpus/blank.json", b" \n\t\n", QUARANTINED, "empty"),
        Case("binary", "corpus/blob.bin", bytes(rng.randrange(256) for _ in range(4096)), QUARANTINED, ""),
        Case("binary named .json", "corpus/blob.json", b"\x89PNG\r\n\x1a\n\x00\x00" + os.urandom(64),
             QUARANTINED, "binary"),
        Case("invalid UTF-8", "corpus/latin1.csv", "name,city\nJosé,São Paulo\n".encode("latin-1"), QUARANTINED,
             "decode"),
        Case("BOM", "corpus/bom.csv", b"\xef\xbb\xbfid,name\n1,a\n", PROCESSED),
        Case("CRLF", "corpus/crlf.csv", b"id,name\r\n1,a\r\n2,b\r\n", PROCESSED),
        Case("JSON nested 10,000 deep", "deep.json", _deep(10_000), QUARANTINED, "nested too deeply"),
        Case("JSON nested 50 deep", "shallow.json", _deep(50), PROCESSED),
        Case("duplicate keys", "dup.json", b'{"id": "1", "id": "2", "timestamp": "t", "data": 1}', QUARANTINED,
             "duplicate key 'id'"),
        Case("NaN", "nan.json", b'{"id": "1", "timestamp": "t", "data": NaN}', QUARANTINED, "NaN"),
        Case("Infinity in JSON Lines", "inf.jsonl", valid + b'\n{"id": "2", "timestamp": "t", "data": Infinity}\n',
             QUARANTINED, "Infinity"),
        Case("huge number", "huge.json", b'{"id": ' + b"9" * 5000 + b', "timestamp": "t", "data": 1}', QUARANTINED,
             "digits"),
        Case("formula cells", "formulas.csv",
             b'id,email\n1,=HYPERLINK("http://x")\n2,+1+2\n3,-2+3\n4,@SUM(A1)\n', QUARANTINED, "invalid email"),
        Case("ragged rows", "corpus/ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n", QUARANTINED, "values for 3 columns"),
        Case("10,000 columns", "corpus/wide.csv",
             (",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n").encode(), PROCESSED),
        Case("key with spaces", "corpus/my file name.csv", b"id\n1\n", PROCESSED),
        Case("key with +", "corpus/a+b+c.csv", b"id\n1\n", PROCESSED),
        Case("key with %", "corpus/100%25 sure %.csv", b"id\n1\n", PROCESSED),
        Case("unicode key", "corpus/données-été-名前.csv", b"id\n1\n", PROCESSED),
        Case("key with ../", "corpus/../escape.csv", b"id\n1\n", PROCESSED),
        Case("1,000-character key", "corpus/" + "k" * 990 + ".csv", b"id\n1\n", PROCESSED),
        Case("unsupported extension", "corpus/report.xml", b"<a>1</a>", QUARANTINED, "unsupported format (.xml)"),
        Case("missing extension", "corpus/noext", b"id,name\n1,a\n", QUARANTINED, "no extension"),
        Case("header only", "corpus/header.csv", b"id,name\n", QUARANTINED, "header only"),
        Case("JSON array with non-objects", "array.json", b'[' + valid + b', 3, "x"]', QUARANTINED,
             "expected a JSON object"),
        Case("truncated gzip", "corpus/cut.csv.gz", _truncated_gzip(rng), QUARANTINED, "gzip"),
        Case("gzip of JSON Lines", "events.jsonl.gz", gzip.compress(valid + b"\n" + valid + b"\n"), PROCESSED),
        Case("JSON Lines named .json", "lines.json", valid + b"\n" + valid + b"\n", PROCESSED),
        Case("embedded newlines", "corpus/multiline.csv", b'id,note\n1,"line one\nline two"\n2,"say ""hi"""\n',
             PROCESSED),
        Case("same content, key one", "corpus/twin-1.csv", b"id\n42\n", PROCESSED),
        Case("same content, key two", "corpus/twin-2.csv", b"id\n42\n", PROCESSED),
    ]
    if large:
        found += [
            Case("50 MB single line", "corpus/one-line.jsonl", b'{"blob": "' + b"x" * (50 * 1024 * 1024) + b'"}',
                 QUARANTINED, "line too long"),
            Case("gzip bomb", "corpus/bomb.csv.gz", _csv_bomb(), QUARANTINED, "gzip bomb"),
        ]
    assert len({c.key for c in found}) == len(found)
    return found


def describe(case: Case) -> str:
    return json.dumps(case.name)
