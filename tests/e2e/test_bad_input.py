"""The bad-input corpus through the whole pipeline, uploaded at once: every file ends in one terminal status with a
reason, its raw object kept, within a deadline."""

from __future__ import annotations

import uuid
from pathlib import Path

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox_layer.records import FileStatus
from tests.corpus import PROCESSED, cases
from tests.e2e.lake import Lake

DEADLINE_S = 240.0


def test_every_bad_input_ends_in_one_terminal_status_with_a_reason(lake: Lake) -> None:
    run = uuid.uuid4().hex[:6]
    corpus = cases()
    uploads = []
    for case in corpus:
        folder, _, name = f"input/{case.key}".rpartition("/")
        raw = lake.put_raw(f"{folder}/{run}-{name}", case.body)
        uploads.append((case, Upload(Path(case.key), raw)))

    rows = wait_for_outcomes(lake.target, [u.raw for _, u in uploads], deadline_s=DEADLINE_S)

    problems = []
    for case, upload in uploads:
        row = rows[upload.raw.process_id]
        expected = FileStatus.PROCESSED if case.expected == PROCESSED else FileStatus.QUARANTINED
        if row.status is not expected:
            problems.append(f"{case.name}: {row.status.value}, expected {expected.value}: {row.errors[:2]}")
        elif expected is FileStatus.QUARANTINED and case.reason not in " ".join(row.errors):
            problems.append(f"{case.name}: reason {row.errors[:2]} lacks {case.reason!r}")
        stages = sorted(r["Stage"] for r in lake.stage_records(upload.raw.process_id))
        if stages.count("validation") != 1:
            problems.append(f"{case.name}: {stages.count('validation')} validation records")
        kept = lake.s3.head_object(Bucket=upload.raw.bucket, Key=upload.raw.key,
                                   VersionId=upload.raw.version_id)["ContentLength"]
        if kept != len(case.body):
            problems.append(f"{case.name}: raw object is {kept} bytes, uploaded {len(case.body)}")
    assert not problems, "\n".join(problems)
    twins = [rows[u.raw.process_id] for c, u in uploads if c.name.startswith("same content")]
    assert len({t.process_id for t in twins}) == 2, "the same content under two keys is two files"


def test_a_quarantined_csv_copy_defuses_formulas(lake: Lake) -> None:
    body = b'id,email\n1,=HYPERLINK("http://x")\n2,@SUM(A1)\n'
    raw = lake.put_raw(f"input/formulas-{uuid.uuid4().hex[:6]}.csv", body)

    row = lake.outcome(raw)

    assert row.status is FileStatus.QUARANTINED
    assert row.destination is not None
    key = row.destination.removeprefix(f"s3://{lake.names.quarantine_bucket}/")
    copy = lake.s3.get_object(Bucket=lake.names.quarantine_bucket, Key=key)["Body"].read().decode()
    assert copy.splitlines()[1:] == ['1,"\'=HYPERLINK(""http://x"")"', "2,'@SUM(A1)"]
    assert lake.s3.get_object(Bucket=raw.bucket, Key=raw.key)["Body"].read() == body
