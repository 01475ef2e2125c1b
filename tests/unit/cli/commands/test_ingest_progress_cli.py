"""`lakebox ingest --wait` through the command: a progress bar on stderr only when stdout is a terminal and JSON was
not asked for, and a timeout that names the files in flight and exits 1 (the code of every expected failure)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from typer.testing import CliRunner

from lakebox import cli
from lakebox.commands import common
from lakebox.ingest import uploads
from lakebox.ingest.uploads import Upload
from lakebox.lake.target import Target
from lakebox_layer.records import FileStatus, RawObject
from tests.fakes.status import FakeTarget, StatusLake

runner = CliRunner()


class Screens:
    """What the command printed: stdout (a terminal or not) and stderr, each into a buffer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(common, "out", Console(file=self.out, force_terminal=terminal, width=160))
        monkeypatch.setattr(common, "err", Console(file=self.err, force_terminal=True, width=160))

    @property
    def stderr(self) -> str:
        return Text.from_ansi(self.err.getvalue()).plain


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[StatusLake, list[str]]:
    """Three files in a folder, "uploaded" to a fake lake where, after one poll, a is processed, b quarantined
    and c still in progress; each poll after that finishes c. The folder is the ingest's argument."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.json").write_text("{}")
    keys = {RawObject("raw", f"input/{name}.json", "e", 1, "v1").process_id: f"input/{name}.json"
            for name in ("a", "b", "c")}
    lake = StatusLake(keys=keys)

    def upload(target: Any, found: list[tuple[Path, str]], dataset: str) -> list[Upload]:
        return [Upload(path, RawObject("raw", f"input/{relative}", "e", 1, "v1")) for path, relative in found]

    monkeypatch.setattr(uploads, "upload", upload)
    monkeypatch.setattr(Target, "resolve", staticmethod(lambda: FakeTarget(lake)))
    pids = list(keys)
    later = iter([{pids[0]: FileStatus.PROCESSED, pids[1]: FileStatus.QUARANTINED, pids[2]: FileStatus.IN_PROGRESS}])

    def next_poll(seconds: float) -> None:
        lake.statuses = next(later, {**lake.statuses, pids[2]: FileStatus.PROCESSED})

    monkeypatch.setattr("lakebox.polling.time.sleep", next_poll)
    return lake, [str(tmp_path)]


def test_a_terminal_gets_a_progress_bar_on_stderr(monkeypatch: pytest.MonkeyPatch,
                                                   lake: tuple[StatusLake, list[str]]) -> None:
    screens = Screens(monkeypatch, terminal=True)

    result = runner.invoke(cli.app, ["ingest", *lake[1], "--wait"])

    assert result.exit_code == 0, result.output + screens.stderr
    last = screens.stderr.splitlines()[-1]
    assert "3/3" in last
    assert "processed 2  quarantined 1  failed 0  in progress 0" in last
    assert screens.out.getvalue().split() == ["processed", "input/a.json", "quarantined", "input/b.json",
                                              "processed", "input/c.json"]


@pytest.mark.parametrize(("terminal", "args"), [(True, ["--json"]), (False, []), (False, ["--json"])],
                         ids=["json-on-a-terminal", "pipe", "json-in-a-pipe"])
def test_json_or_a_stdout_that_is_no_terminal_gets_no_progress(
        monkeypatch: pytest.MonkeyPatch, lake: tuple[StatusLake, list[str]], terminal: bool, args: list[str]) -> None:
    screens = Screens(monkeypatch, terminal=terminal)

    result = runner.invoke(cli.app, ["ingest", *lake[1], "--wait", *args])

    assert result.exit_code == 0, result.output + screens.stderr
    assert screens.err.getvalue() == ""
    if args:
        assert [row["status"] for row in json.loads(Text.from_ansi(screens.out.getvalue()).plain)] == [
            "processed", "quarantined", "processed"]


def test_the_default_consoles_see_no_terminal_under_the_runner(lake: tuple[StatusLake, list[str]]) -> None:
    result = runner.invoke(cli.app, ["ingest", *lake[1], "--wait"])

    assert result.exit_code == 0, result.output
    assert "in progress" not in result.output


def test_a_timeout_names_the_files_in_flight_and_exits_1(monkeypatch: pytest.MonkeyPatch,
                                                          lake: tuple[StatusLake, list[str]]) -> None:
    screens = Screens(monkeypatch, terminal=True)
    monkeypatch.setattr("lakebox.polling.time.sleep", lambda seconds: None)
    lake[0].statuses = {RawObject("raw", "input/a.json", "e", 1, "v1").process_id: FileStatus.PROCESSED}

    result = runner.invoke(cli.app, ["ingest", *lake[1], "--wait", "--timeout", "0"])

    assert result.exit_code == 1
    assert screens.out.getvalue() == ""
    message = screens.stderr[screens.stderr.index("error:"):].splitlines()
    assert message[0].startswith("error: gave up after 0 s waiting for a terminal status for 3 uploaded file(s)")
    assert message[0].endswith("; 2 still in flight:")
    assert message[1:] == ["  input/b.json  not ingested", "  input/c.json  not ingested"]


def test_a_negative_timeout_is_a_usage_error(lake: tuple[StatusLake, list[str]]) -> None:
    assert runner.invoke(cli.app, ["ingest", *lake[1], "--wait", "--timeout", "-1"]).exit_code == 2
