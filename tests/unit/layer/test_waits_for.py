"""The stage a raw file waits for, as status and reconcile name it when that stage is held: ingestion before any
record, then the first stage after ingestion that has not recorded it and that a file of its status reaches; and
`missing`, which words the same answer, unchanged."""

from __future__ import annotations

import pytest

from lakebox_layer.records import FileStatus
from lakebox_layer.registry import Stage
from lakebox_layer.status import FileRow, missing, status_json, waits_for


def row(status: FileStatus, *stages: str) -> FileRow:
    return FileRow("input/a.json", status, None, [], None, "p1", stages=stages)


@pytest.mark.parametrize(("found", "stage", "says"), [
    (None, Stage.INGESTION, "not ingested"),
    (row(FileStatus.IN_PROGRESS, "ingestion"), Stage.VALIDATION, "in_progress"),
    # Quality recorded before the validation record was written: still validation's.
    (row(FileStatus.IN_PROGRESS, "ingestion", "quality"), Stage.VALIDATION, "in_progress"),
    (row(FileStatus.PROCESSED, "ingestion", "validation"), Stage.QUALITY, "awaiting quality"),
    (row(FileStatus.PROCESSED, "ingestion", "validation", "quality"), Stage.CURATION, "awaiting curation"),
    (row(FileStatus.QUARANTINED, "ingestion", "validation", "quality"), None, None),  # curation never takes it
    (row(FileStatus.PROCESSED, "ingestion", "validation", "quality", "curation"), None, None),
    (row(FileStatus.FAILED, "ingestion"), Stage.VALIDATION, "awaiting validation"),
])
def test_the_stage_a_file_waits_for(found: FileRow | None, stage: Stage | None, says: str | None) -> None:
    assert waits_for(found) is stage
    assert missing(found) == says


def test_a_status_row_as_json_says_why_it_waits() -> None:
    waiting = row(FileStatus.PROCESSED, "ingestion", "validation", "quality")
    assert status_json(waiting, {"p1": "curation paused since 10:02 UTC, glue failing"}) == {
        **waiting.to_json(), "held": "curation paused since 10:02 UTC, glue failing"}
    assert status_json(waiting, {})["held"] is None
