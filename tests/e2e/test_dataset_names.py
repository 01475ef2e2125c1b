"""Files put by any producer under a folder that cannot be a dataset: quarantined with the reason, raw kept; a
valid name with a `-` goes through as usual."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.records import FileStatus
from tests.e2e.lake import Lake

RECORD = {"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}


def test_a_dataset_name_decides_before_the_content(lake: Lake) -> None:
    run = uuid.uuid4().hex[:6]
    files = {
        f"input/Bad Name/{run}-x.json": (json.dumps(RECORD).encode(), "Bad Name", FileStatus.QUARANTINED),
        f"input/UPPER/{run}-x.csv": (b"id,name\n1,a\n", "UPPER", FileStatus.QUARANTINED),
        f"input/sales-eu/{run}-x.json": (json.dumps(RECORD).encode(), "sales-eu", FileStatus.PROCESSED),
    }
    uploads = {key: Upload(Path(key), lake.put_raw(key, body)) for key, (body, _, _) in files.items()}

    rows = wait_for_outcomes(lake.target, [u.raw for u in uploads.values()])

    for key, (body, dataset, expected) in files.items():
        raw = uploads[key].raw
        row = rows[raw.process_id]
        assert (row.key, row.status) == (key, expected), row.errors
        name = key.removeprefix(f"input/{dataset}/")
        if expected is FileStatus.QUARANTINED:
            assert row.errors == [dataset_name_problem(dataset)]
            assert row.errors[0].startswith(f'dataset "{dataset}" is not a valid dataset name: ')
            quarantined = f"quarantine/{dataset}/{name}"
            assert row.destination == f"s3://{lake.names.quarantine_bucket}/{quarantined}"
            kept = lake.keys(lake.names.quarantine_bucket, f"quarantine/{dataset}/")
            assert {quarantined, f"{quarantined}.error.json"} <= set(kept)
            report = json.loads(lake.s3.get_object(Bucket=lake.names.quarantine_bucket,
                                                   Key=f"{quarantined}.error.json")["Body"].read())
            assert (report["dataset"], report["errors"]) == (dataset, row.errors)
        else:
            assert row.errors == []
            assert row.destination == f"s3://{lake.names.processed_bucket}/validated/{dataset}/{name}"
        stages = [r["Stage"] for r in lake.stage_records(raw.process_id)]
        assert stages.count("validation") == 1, stages
        # The raw file is kept as it came.
        stored = lake.s3.get_object(Bucket=raw.bucket, Key=raw.key, VersionId=raw.version_id)["Body"].read()
        assert stored == body
