"""Every parser limit through all four stages: what validation accepts, curation reads; what it refuses is
quarantined with the reason; what curation cannot take fails its curation with the reason. Each file ends with
exactly one record per stage it reaches, within a deadline: none waits on retries that cannot succeed."""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox_layer.columns import MAX_COLUMNS
from lakebox_layer.parsing import MAX_LINE_CHARS, MAX_RECORD_CHARS
from lakebox_layer.records import FileStatus
from tests.e2e.lake import Lake

DEADLINE_S = 300.0
OVER = MAX_RECORD_CHARS + 1024  # characters: just past validation's limit
# 8.5 Mi two-byte characters: 17 MiB, past DuckDB's default object size (16 MiB), within validation's 16 Mi characters.
WIDE_TEXT = "é" * (17 * 1024 * 1024 // 2)


@dataclass(frozen=True)
class Limit:
    name: str
    file: str
    body: bytes
    status: FileStatus
    # Part of the reason a refused file gets (validation's for a quarantined one, curation's for a failed curation).
    reason: str = ""
    curated: bool = True  # for a processed file: curated, or its curation failed


def _bomb() -> bytes:
    """Past 16 MiB expanded at 1,000 to 1: refused as a bomb."""
    return gzip.compress(b"a,b\n" + b"0,0\n" * (5 * 1024 * 1024), compresslevel=9)


def limits() -> list[Limit]:
    assert MAX_LINE_CHARS == MAX_RECORD_CHARS, "the cases below take one limit for lines and records"
    return [
        Limit("CSV line of 3 MiB (DuckDB's default is 2 MB)", "wide-line.csv",
              b"id,payload\n1," + b"x" * (3 * 1024 * 1024) + b"\n2,y\n", FileStatus.PROCESSED),
        Limit("lone JSON object of 17 MiB", "big-object.json",
              json.dumps({"id": 1, "payload": WIDE_TEXT}, ensure_ascii=False).encode(), FileStatus.PROCESSED),
        Limit("JSON Lines line of 17 MiB", "big-line.jsonl",
              b'{"id": 1, "payload": "a"}\n' + json.dumps({"id": 2, "payload": WIDE_TEXT}, ensure_ascii=False)
              .encode() + b"\n", FileStatus.PROCESSED),
        Limit("CSV line past the limit", "long-line.csv", b"id,payload\n1," + b"x" * OVER + b"\n",
              FileStatus.QUARANTINED, "line too long"),
        Limit("lone JSON document past the limit", "huge-object.json",
              b'{"id": 1, "payload": "' + b"x" * OVER + b'"}', FileStatus.QUARANTINED, "JSON document larger"),
        Limit("JSON array element past the limit", "huge-element.json",
              b'[{"id": 1}, {"id": 2, "payload": "' + b"x" * OVER + b'"}]', FileStatus.QUARANTINED,
              "array element 2 is larger"),
        Limit("gzip past its expansion limit", "bomb.csv.gz", _bomb(), FileStatus.QUARANTINED, "gzip bomb"),
        Limit(f"{MAX_COLUMNS + 1} columns", "too-wide.csv",
              (",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + ",".join(["1"] * (MAX_COLUMNS + 1))
               + "\n").encode(), FileStatus.PROCESSED, f"{MAX_COLUMNS + 1:,} columns", curated=False),
    ]


def test_every_limit_ends_each_stage_once_with_the_reason(lake: Lake) -> None:
    run = uuid.uuid4().hex[:6]
    cases = limits()
    uploads = [(case, lake.put_raw(f"input/limits/{run}-{case.file}", case.body)) for case in cases]

    rows = wait_for_outcomes(lake.target, [raw for _, raw in uploads], deadline_s=DEADLINE_S)
    for _, raw in uploads:
        if rows[raw.process_id].status is FileStatus.PROCESSED:
            lake.wait_for_stages(raw.process_id, {"ingestion", "validation", "quality", "curation"},
                                 deadline_s=DEADLINE_S)
        else:
            lake.wait_for_stages(raw.process_id, {"ingestion", "validation", "quality"}, deadline_s=DEADLINE_S)

    problems = []
    for case, raw in uploads:
        row = rows[raw.process_id]
        records = lake.stage_records(raw.process_id)
        stages = sorted(r["Stage"] for r in records)
        reaches = ["curation", "ingestion", "quality", "validation"] if case.status is FileStatus.PROCESSED else [
            "ingestion", "quality", "validation"]
        if row.status is not case.status:
            problems.append(f"{case.name}: {row.status.value}, expected {case.status.value}: {row.errors[:2]}")
        if stages != reaches:
            problems.append(f"{case.name}: stage records {stages}, expected one each of {reaches}")
        if case.status is FileStatus.QUARANTINED and case.reason not in " ".join(row.errors):
            problems.append(f"{case.name}: reason {row.errors[:2]} lacks {case.reason!r}")
        curation = next((r for r in records if r["Stage"] == "curation"), None)
        if curation is not None:
            status = "curated" if case.curated else "failed"
            if curation.get("CurationStatus") != status or case.reason not in str(curation.get("Reason") or ""):
                problems.append(f"{case.name}: curation {curation.get('CurationStatus')} "
                                f"({curation.get('Reason')}), expected {status} {case.reason!r}")
    assert not problems, "\n".join(problems)
