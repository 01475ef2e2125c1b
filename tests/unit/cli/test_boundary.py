"""The CLI's one error boundary: a bad setting is refused before anything starts, an unexpected error is one line
unless LAKEBOX_DEBUG asks for its traceback, and a usage error typer finds is one line too (what each failure says is
tested with :mod:`lakebox_infra.failures`, and every command against a closed port in tests/e2e)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lakebox import cli
from lakebox.commands import status as status_command
from lakebox.lake import bringup

runner = CliRunner()


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("LAKEBOX_DEBUG", raising=False)


class _NeverStarted:
    """An embedded emulator that fails the test if anything tries to start it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def start(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the emulator was started before the settings were checked")


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize(("variable", "value", "says"), [
    ("LAKEBOX_STREAM_MAX_RECORDS", "5k", "LAKEBOX_STREAM_MAX_RECORDS must be a whole number, not '5k'"),
    ("LAKEBOX_STREAM_MAX_RECORDS", "20000", "LAKEBOX_STREAM_MAX_RECORDS must be a whole number from 1 to 10000"),
    ("LAKEBOX_PROJECT", "Not_A_Name", "project name 'Not_A_Name' must be 3-32 characters"),
])
def test_up_refuses_a_bad_setting_before_it_starts_anything(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                            value: str, says: str) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(bringup, "EmbeddedEmulator", _NeverStarted)

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.usefixtures("isolated")
def test_an_unexpected_error_is_one_line_unless_debug_asks_for_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    class Lake:
        """A lake that needs no network: its status read is the bug."""

        metadata = project = where = "here"

        @classmethod
        def resolve(cls) -> Lake:
            return cls()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("Status")

    monkeypatch.setattr(status_command, "Target", Lake)
    monkeypatch.setattr(status_command, "every_row", broken)

    result = runner.invoke(cli.app, ["status", "--all"])

    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: unexpected KeyError: 'Status' (a bug in lakebox; set LAKEBOX_DEBUG=1 to "
                                     "see where)")
    monkeypatch.setenv("LAKEBOX_DEBUG", "1")
    debugged = runner.invoke(cli.app, ["status", "--all"])
    assert isinstance(debugged.exception, KeyError)


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize(("args", "says"), [
    (["status", "--nope"], "error: No such option: --nope"),
    (["trace"], "error: Missing argument 'KEY|PROCESS_ID'"),
    (["nope"], "error: No such command 'nope'"),
    (["up", "--port", "many"], "error: Invalid value for '--port'"),
    (["query", "SELECT 1", "--json", "--csv"], "error: choose one of --json and --csv"),
])
def test_a_usage_error_is_one_line_and_exit_code_2(args: list[str], says: str) -> None:
    result = runner.invoke(cli.app, args)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(says), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
