"""The `lakebox` console script (`lakebox.cli:main`) ends its process as soon as its output is flushed, with the
exit code the command chose: everything it printed arrives, on stdout and on stderr, whatever the outcome."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = "import sys; from lakebox.cli import main; sys.argv[0] = 'lakebox'; main()"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LAKEBOX_STATE_DIR": str(tmp_path / "state"),
                   "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test",
                   "AWS_SECRET_ACCESS_KEY": "test"}
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=environment,
                          timeout=60, check=False)


def test_help_is_printed_whole_with_exit_code_0(tmp_path: Path) -> None:
    done = _run(tmp_path, "--help")

    assert done.returncode == 0, done.stderr
    assert all(command in done.stdout for command in ("up", "status", "trace", "docs"))
    assert done.stdout.rstrip().endswith("╯")  # the help's last box is closed: nothing was cut off


@pytest.mark.parametrize(("args", "code", "says"), [
    (["ingest", "/nonexistent/file.csv"], 1, "error: no such file or folder: /nonexistent/file.csv"),
    (["up", "--port", "many"], 2, "error: Invalid value for '--port'"),
    (["no-such-command"], 2, "error: No such command 'no-such-command'"),
])
def test_a_failure_is_its_one_line_and_its_exit_code(tmp_path: Path, args: list[str], code: int, says: str) -> None:
    done = _run(tmp_path, *args)

    assert done.returncode == code, (done.stdout, done.stderr)
    assert done.stderr.startswith(says), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


class _StoppedReader:
    """A standard stream whose reader went away: flushing it is a broken pipe."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize(("command_ends", "code"), [(None, 1), (0, 1), (2, 2)])
def test_a_reader_that_stopped_reading_ends_it_with_a_failure_not_a_traceback(
        monkeypatch: pytest.MonkeyPatch, command_ends: int | None, code: int) -> None:
    from lakebox import cli

    def command() -> None:
        if command_ends is not None:
            raise SystemExit(command_ends)

    exits: list[int] = []
    monkeypatch.setattr(cli, "app", command)
    monkeypatch.setattr(sys, "stdout", _StoppedReader())
    monkeypatch.setattr(os, "_exit", exits.append)
    monkeypatch.setattr(logging, "shutdown", lambda: None)  # the test session's logging stays open

    cli.main()

    assert exits == [code]
