"""`wait_for_outcomes` (behind `lakebox ingest --wait`, the demo and the e2e tests): each poll reads only the files
still waiting, one process at a time, and stops at the first that is not terminal, so its cost does not grow with
the lake."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakebox.uploads import Upload, wait_for_outcomes
from lakebox_layer.records import FileStatus, RawObject, Stage
from lakebox_layer.stages.recorder import stage_record

ARRIVED = "2026-01-15T10:30:00+00:00"


@dataclass
class Records:
    """Stage records by process id; `finished` says which processes have their validation record yet."""

    finished: set[str] = field(default_factory=set)
    reads: list[str] = field(default_factory=list)

    def stage_records(self, process_id: str) -> list[dict[str, Any]]:
        self.reads.append(process_id)
        records = [stage_record(process_id, ARRIVED, Stage.INGESTION, RawKey=f"input/{process_id}.json",
                                Status=FileStatus.IN_PROGRESS.value)]
        if process_id in self.finished:
            records.append(stage_record(process_id, ARRIVED, Stage.VALIDATION, RawKey=f"input/{process_id}.json",
                                        Status=FileStatus.PROCESSED.value))
        return records

    def file_records(self, pipeline: str) -> list[dict[str, Any]]:
        raise AssertionError("the wait must not read the whole status index")


@dataclass
class Settings:
    project: str = "lakebox"


@dataclass
class FakeTarget:
    metadata: Records
    settings: Settings = field(default_factory=Settings)


def uploads(*names: str) -> list[Upload]:
    return [Upload(Path(f"{name}.json"), RawObject("raw", f"input/{name}.json", "e", 1, "v1")) for name in names]


def test_each_poll_reads_the_waiting_files_until_the_first_still_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    files = uploads("a", "b", "c")
    pids = [u.raw.process_id for u in files]
    records = Records()
    polls = iter([set(), {pids[0]}, {pids[0], pids[1], pids[2]}])

    def next_poll(seconds: float) -> None:
        records.finished = next(polls)

    monkeypatch.setattr("lakebox.polling.time.sleep", next_poll)
    records.finished = set()
    rows = wait_for_outcomes(FakeTarget(records), files, deadline_s=5, interval_s=0)  # type: ignore[arg-type]

    assert {pid: row.status for pid, row in rows.items()} == dict.fromkeys(pids, FileStatus.PROCESSED)
    # Poll 1: a is waiting, stop. Poll 2 (nothing new): a again. Poll 3: a done, b waiting. Poll 4: b and c done.
    assert records.reads == [pids[0], pids[0], pids[0], pids[1], pids[1], pids[2]]


def test_a_timeout_names_the_files_still_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    files = uploads("a", "b")
    records = Records(finished={files[0].raw.process_id})
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)
    with pytest.raises(TimeoutError, match=r"; 1 still in flight:\n  input/b\.json  in_progress, awaiting validation$"):
        wait_for_outcomes(FakeTarget(records), files, deadline_s=0, interval_s=0)  # type: ignore[arg-type]
