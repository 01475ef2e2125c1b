"""`lakebox ingest --wait`'s progress and timeout, without a network: the counts per status the bar shows after each
poll, and the message that names the files still in flight when the wait gives up."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.text import Text

from lakebox.ingest.outcomes import NAMED_IN_FLIGHT, wait_for_outcomes
from lakebox.ingest.progress import IngestProgress, counts_text, status_counts
from lakebox_layer.records import FileStatus
from lakebox_layer.status import FileRow, awaiting
from tests.fakes.status import FakeTarget, StatusLake, raws

PROCESSED, QUARANTINED, FAILED, IN_PROGRESS = (FileStatus.PROCESSED, FileStatus.QUARANTINED, FileStatus.FAILED,
                                               FileStatus.IN_PROGRESS)


def row(status: FileStatus, name: str = "a") -> FileRow:
    return FileRow(f"input/{name}.json", status, None, [], None, name)


def test_the_counts_name_every_status_and_the_files_not_terminal_are_in_progress() -> None:
    rows = [row(PROCESSED, "a"), row(PROCESSED, "b"), row(QUARANTINED, "c"), row(FAILED, "d")]

    assert status_counts(rows, 10) == {PROCESSED: 2, QUARANTINED: 1, FAILED: 1, IN_PROGRESS: 6}
    assert status_counts([], 3) == {PROCESSED: 0, QUARANTINED: 0, FAILED: 0, IN_PROGRESS: 3}
    assert Console().render_str(counts_text(status_counts(rows, 10))).plain == (
        "processed 2  quarantined 1  failed 1  in progress 6")


def test_each_poll_reports_the_terminal_rows_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    files = raws("a", "b", "c")
    a, b, c = (u.process_id for u in files)
    lake = StatusLake()
    states = iter([{a: PROCESSED, b: IN_PROGRESS}, {a: PROCESSED, b: QUARANTINED, c: FAILED}])
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: setattr(lake, "statuses", next(states)))
    heard: list[dict[FileStatus, int]] = []

    rows = wait_for_outcomes(FakeTarget(lake), files, deadline_s=5, interval_s=0,  # type: ignore[arg-type]
                             on_progress=lambda so_far, total: heard.append(status_counts(so_far, total)))

    assert {pid: r.status for pid, r in rows.items()} == {a: PROCESSED, b: QUARANTINED, c: FAILED}
    assert heard == [
        {PROCESSED: 0, QUARANTINED: 0, FAILED: 0, IN_PROGRESS: 3},
        {PROCESSED: 1, QUARANTINED: 0, FAILED: 0, IN_PROGRESS: 2},
        {PROCESSED: 1, QUARANTINED: 1, FAILED: 1, IN_PROGRESS: 0},
    ]


def test_a_timeout_names_each_file_in_flight_with_what_it_awaits(monkeypatch: pytest.MonkeyPatch) -> None:
    files = raws("done", "validating", "not-yet")
    done, validating, _ = (u.process_id for u in files)
    lake = StatusLake({done: PROCESSED, validating: IN_PROGRESS})
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)

    with pytest.raises(TimeoutError) as raised:
        wait_for_outcomes(FakeTarget(lake), files, deadline_s=0, interval_s=0)  # type: ignore[arg-type]

    lines = str(raised.value).splitlines()
    assert lines[0].endswith("waiting for a terminal status for 3 uploaded file(s); 2 still in flight:")
    assert lines[1:] == ["  input/validating.json  in_progress, awaiting validation",
                         "  input/not-yet.json     not ingested"]
    assert "input/done.json" not in str(raised.value)


def test_a_timeout_names_the_first_files_in_flight_and_counts_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    files = raws(*(f"f{index:03}" for index in range(NAMED_IN_FLIGHT + 5)))
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)

    with pytest.raises(TimeoutError) as raised:
        wait_for_outcomes(FakeTarget(StatusLake()), files, deadline_s=0, interval_s=0)  # type: ignore[arg-type]

    lines = str(raised.value).splitlines()
    assert f"{NAMED_IN_FLIGHT + 5} still in flight" in lines[0]
    assert [line.split()[0] for line in lines[1:-1]] == [u.key for u in files[:NAMED_IN_FLIGHT]]
    assert lines[-1] == "  ... and 5 more"


def test_awaiting_says_where_a_file_stands() -> None:
    assert awaiting(None) == "not ingested"
    assert awaiting(row(IN_PROGRESS)) == "in_progress, awaiting validation"


def test_the_bar_shows_done_of_total_and_the_counts() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)

    with IngestProgress(console) as progress:
        progress.update([row(PROCESSED, "a")], 3)
        progress.update([row(PROCESSED, "a"), row(QUARANTINED, "b"), row(FAILED, "c")], 3)

    # The last frame the bar drew, without its colours and cursor moves.
    last = Text.from_ansi(buffer.getvalue()).plain.splitlines()[-1]
    assert "3/3" in last
    assert "processed 1  quarantined 1  failed 1  in progress 0" in last
