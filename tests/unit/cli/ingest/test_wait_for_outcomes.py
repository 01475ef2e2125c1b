"""`wait_for_outcomes` (behind `lakebox ingest --wait`, the demo and the e2e tests): each poll reads only the files
still waiting, one process at a time, and stops at the first that is not terminal, so its cost does not grow with
the lake."""

from __future__ import annotations

import pytest

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox_layer.records import FileStatus
from tests.fakes.status import FakeTarget, StatusLake, raws


def test_each_poll_reads_the_waiting_files_until_the_first_still_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    files = raws("a", "b", "c")
    pids = [u.process_id for u in files]
    waiting = dict.fromkeys(pids, FileStatus.IN_PROGRESS)
    records = StatusLake(dict(waiting))
    polls = iter([{}, {pids[0]: FileStatus.PROCESSED}, dict.fromkeys(pids, FileStatus.PROCESSED)])

    def next_poll(seconds: float) -> None:
        records.statuses = {**waiting, **next(polls)}

    monkeypatch.setattr("lakebox.polling.time.sleep", next_poll)
    rows = wait_for_outcomes(FakeTarget(records), files, deadline_s=5, interval_s=0)  # type: ignore[arg-type]

    assert {pid: row.status for pid, row in rows.items()} == dict.fromkeys(pids, FileStatus.PROCESSED)
    # Poll 1: a is waiting, stop. Poll 2 (nothing new): a again. Poll 3: a done, b waiting. Poll 4: b and c done.
    assert records.reads == [pids[0], pids[0], pids[0], pids[1], pids[1], pids[2]]


def test_a_timeout_names_the_files_still_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    files = raws("a", "b")
    records = StatusLake({files[0].process_id: FileStatus.PROCESSED,
                          files[1].process_id: FileStatus.IN_PROGRESS})
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)
    with pytest.raises(TimeoutError, match=r"; 1 still in flight:\n  input/b\.json  in_progress, awaiting validation$"):
        wait_for_outcomes(FakeTarget(records), files, deadline_s=0, interval_s=0)  # type: ignore[arg-type]
