"""500 files dropped at once, good and bad mixed: every one ends in exactly one terminal status, nothing twice, and
every processed one is curated exactly once."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox_layer.records import FileStatus
from tests.e2e.lake import Lake

FILES = 500
DEADLINE_S = 420.0


def body(n: int) -> tuple[bytes, FileStatus]:
    """Every fifth file breaks the default contract (no timestamp); the rest are valid."""
    record = {"id": str(n), "timestamp": "2026-01-01T00:00:00Z", "data": {"n": n}, "email": f"u{n}@example.com"}
    if n % 5 == 0:
        del record["timestamp"]
        return json.dumps(record).encode(), FileStatus.QUARANTINED
    return json.dumps(record).encode(), FileStatus.PROCESSED


def test_a_burst_of_500_files_each_reaches_exactly_one_outcome(lake: Lake) -> None:
    run = uuid.uuid4().hex[:6]
    expected: dict[str, FileStatus] = {}

    def upload(n: int) -> Upload:
        content, status = body(n)
        raw = lake.put_raw(f"input/burst-{run}-{n:03d}.json", content)
        expected[raw.process_id] = status
        return Upload(Path(raw.key), raw)

    with ThreadPoolExecutor(max_workers=16) as pool:
        uploads = list(pool.map(upload, range(FILES)))

    rows = wait_for_outcomes(lake.target, [u.raw for u in uploads], deadline_s=DEADLINE_S, interval_s=1.0)

    assert len(rows) == FILES
    wrong = [(rows[pid].key, rows[pid].status.value)
             for pid, status in expected.items() if rows[pid].status is not status]
    assert not wrong, wrong[:10]
    counts = Counter(row.status for row in rows.values())
    assert counts == {FileStatus.PROCESSED: FILES - FILES // 5, FileStatus.QUARANTINED: FILES // 5}
    processed = [k for k in lake.keys(lake.names.processed_bucket, "validated/default/") if f"burst-{run}-" in k]
    quarantined = [k for k in lake.keys(lake.names.quarantine_bucket, "quarantine/default/")
                   if f"burst-{run}-" in k and not k.endswith(".error.json")]
    assert (len(processed), len(quarantined)) == (FILES - FILES // 5, FILES // 5)
    # Exactly one validation per file, one curation per processed file, one curated object per curated file.
    lake.wait_until_idle(deadline_s=DEADLINE_S)
    curated = Counter(k.rsplit("/", 1)[1].split("_")[0]
                      for k in lake.keys(lake.names.processed_bucket, "curated/default/"))
    for sent in uploads:
        stages = [r["Stage"] for r in lake.stage_records(sent.raw.process_id)]
        assert stages.count("validation") == 1, (sent.raw.key, stages)
        wanted = 1 if expected[sent.raw.process_id] is FileStatus.PROCESSED else 0
        assert stages.count("curation") == wanted, (sent.raw.key, stages)
        assert curated[sent.raw.process_id] == wanted, sent.raw.key
