"""The `lakebox` command's wiring: every command is listed, options reach the work, failures are clear."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

import lakebox_infra
from lakebox import cli, commands
from lakebox.commands import up as up_command
from lakebox.emulator.embedded import DEFAULT_PORT, EmulatorState
from lakebox.exceptions import EmulatorError
from lakebox.lake import bringup
from lakebox.lake.bringup import bring_up, emulator_port

COMMANDS = ("up", "down", "ingest", "status", "reconcile", "redrive", "health", "pause", "resume", "demo", "query",
            "trace", "logs", "docs", "send", "producer")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No recorded emulator, and an endpoint where nothing listens instead of AWS."""
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


def test_help_lists_every_command() -> None:
    result = runner.invoke(cli.app, ["--help"])

    assert result.exit_code == 0
    for command in COMMANDS:
        assert f" {command} " in result.stdout, command


def test_every_command_lives_in_a_module_named_after_it() -> None:
    """`lakebox/commands/<command>.py` holds the command's function (or, for a command of commands such as
    `lakebox producer`, its `app`), and the folder holds nothing else but what the commands share."""
    group = typer.main.get_group(cli.app)
    with typer.Context(group) as context:
        registered = set(group.list_commands(context))
        built = {name: group.get_command(context, name) for name in registered}
    folder = Path(commands.__file__).parent

    assert registered == set(COMMANDS)
    assert {path.stem for path in folder.glob("*.py")} - {"__init__", "common"} == registered
    for name in registered:
        module = importlib.import_module(f"lakebox.commands.{name}")
        command = built[name]
        assert command is not None and command.name == name, name
        if isinstance(getattr(module, "app", None), typer.Typer):
            assert isinstance(command, TyperGroup) and command.commands, name
            assert all(getattr(sub.callback, "__wrapped__", None) for sub in command.commands.values()), (
                f"every `lakebox {name}` subcommand ends its failures in one line")
        else:
            assert callable(getattr(module, name)), name


def test_a_command_imports_only_its_own_module() -> None:
    """`lakebox status` does not pay for what the other commands import: in a new interpreter, running status's
    --help imports status's module and no other command's."""
    probe = ("import sys\nfrom typer.testing import CliRunner\nfrom lakebox import cli\n"
             "CliRunner().invoke(cli.app, ['status', '--help'])\n"
             "print(' '.join(sorted(m for m in sys.modules if m.startswith('lakebox.commands.'))))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()

    assert loaded == ["lakebox.commands.common", "lakebox.commands.status"]


STATUS_JSON_PROBE = """
import sys
from types import SimpleNamespace
from typer.testing import CliRunner
from lakebox import cli
from lakebox.commands import status
status.Target.resolve = classmethod(lambda cls, project=None: SimpleNamespace(metadata=None, project="lakebox"))
status.TargetCircuits = lambda target: None
status.every_row = lambda metadata, project: []
status.held_files = lambda circuits, rows, now: {}
result = CliRunner().invoke(cli.app, ["status", "--json"])
assert result.exit_code == 0 and result.stdout.strip() == "[]", result.output
print(" ".join(sorted(m for m in sys.modules if m == "lakebox.lake.render" or m.startswith("rich.table"))))
"""


def test_status_json_draws_no_table_and_imports_none() -> None:
    """`lakebox status --json` is what a script polls: it imports neither the tables' module nor rich's tables."""
    ran = subprocess.run([sys.executable, "-c", STATUS_JSON_PROBE], capture_output=True, text=True, check=True)

    assert ran.stdout.split() == []


def test_an_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(cli.app, ["status", "--nope"])

    assert result.exit_code == 2
    assert "No such option" in result.output


def test_a_port_that_is_not_a_number_is_a_usage_error() -> None:
    assert runner.invoke(cli.app, ["up", "--port", "many"]).exit_code == 2


@pytest.mark.parametrize(("args", "port"), [([], None), (["--port", "0"], 0), (["--port", "4600"], 4600)])
def test_up_passes_the_port_as_given_and_prints_the_description(
        monkeypatch: pytest.MonkeyPatch, args: list[str], port: int | None) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_bring_up(*given: Any, **_: Any) -> str:
        calls.append(given)
        return "target"

    monkeypatch.setattr(up_command, "bring_up", fake_bring_up)
    monkeypatch.setattr(up_command, "describe", lambda target: {"endpoint": f"at {target}", "functions": ["a", "b"]})

    result = runner.invoke(cli.app, ["up", "--json", *args])

    assert result.exit_code == 0, result.output
    assert calls == [(port, None, False)]
    assert json.loads(result.stdout) == {"endpoint": "at target", "functions": ["a", "b"]}


def test_up_against_an_endpoint_where_nothing_answers_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bringup, "healthy", lambda endpoint: False)

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert "nothing answers at AWS_ENDPOINT_URL=http://127.0.0.1:9" in result.output


def test_bring_up_refuses_an_endpoint_where_nothing_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bringup, "healthy", lambda endpoint: False)

    with pytest.raises(EmulatorError, match="nothing answers"):
        bring_up()


@pytest.mark.parametrize(("given", "saved", "chosen"), [
    (None, None, DEFAULT_PORT),  # a plain `up`
    (None, 45123, 45123),  # a persisted restart keeps the port its queue URLs name
    (0, None, None),  # any free port
    (0, 45123, 45123),
    (4600, None, 4600),
    (4600, 45123, 4600),  # a port the user names wins
])
def test_the_emulator_port(given: int | None, saved: int | None, chosen: int | None) -> None:
    assert emulator_port(given, saved) == chosen


class _Started(Exception):
    """Raised by the fake emulator: the test needs only the arguments `start` got."""


@pytest.mark.parametrize(("given", "chosen"), [(None, 45123), (0, 45123), (4600, 4600)])
def test_bring_up_restarts_a_persisted_state_on_its_saved_port(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: int | None, chosen: int) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    (tmp_path / "persist").mkdir()
    (tmp_path / "persist" / "port").write_text("45123")
    ports: list[int | None] = []

    class FakeEmulator:
        def __init__(self, state_dir: Path) -> None:
            self.state_dir = state_dir

        def state(self) -> None:
            return None  # none running: `up` starts one, building the packages meanwhile

        def start(self, port: int | None, **_: Any) -> Any:
            ports.append(port)
            raise _Started

    monkeypatch.setattr(bringup, "EmbeddedEmulator", FakeEmulator)
    monkeypatch.setattr(bringup, "build_ahead", lambda *_: None)
    said: list[str] = []

    with pytest.raises(_Started):
        bring_up(given, persist=tmp_path / "persist", say=said.append)

    assert ports == [chosen]
    assert any("saved on port 45123" in line for line in said) is (chosen != 45123)


def test_down_forgets_a_record_whose_pid_is_another_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    sleeper = subprocess.Popen(["sleep", "120"], stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        state_dir = tmp_path / "state"
        state_dir.mkdir()
        recorded = EmulatorState(pid=sleeper.pid, port=45666, log_file="emulator.log", region="us-east-1")
        (state_dir / "emulator.json").write_text(json.dumps(asdict(recorded)))

        result = runner.invoke(cli.app, ["down"])

        assert result.exit_code == 0
        assert f"forgot the stale record of the embedded emulator (pid {sleeper.pid}" in result.stdout
        assert "stopped nothing" in result.stdout
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait(timeout=10)


def test_down_without_an_emulator_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")

    result = runner.invoke(cli.app, ["down"])

    assert result.exit_code == 0
    assert "no embedded emulator is running" in result.stdout


def test_ingest_of_a_missing_path_fails_before_any_call(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", str(tmp_path / "nope.csv")])

    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_ingest_needs_a_path() -> None:
    assert runner.invoke(cli.app, ["ingest"]).exit_code == 2


def test_bring_up_without_a_checkout_refuses_before_starting_anything(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A non-editable install has no lambdas/, layer/ or contracts/: nothing is started or provisioned."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setattr(lakebox_infra, "PROJECT_ROOT", tmp_path)
    started: list[object] = []
    monkeypatch.setattr(bringup, "EmbeddedEmulator", lambda state_dir: started.append(state_dir))

    result = runner.invoke(cli.app, ["up"])

    assert result.exit_code == 1
    assert "pip install -e" in result.output
    assert started == []
