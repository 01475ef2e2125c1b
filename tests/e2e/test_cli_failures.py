"""Every command of the app, and bootstrap, against an endpoint where nothing listens: one line on stderr that names
the endpoint and what to do, exit code 1, never a traceback. The commands are read from the app, so a new one is
covered without editing this file; each runs as its own process, as a user would run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer

from lakebox.cli import app
from lakebox_infra import PROJECT_ROOT

# Commands that never reach the lake: `down` only stops the local process `up` started, and says there is none.
LOCAL_ONLY = {"down"}
PER_COMMAND_DEADLINE_S = 60


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (it was free a moment ago, and nothing here binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def commands() -> dict[str, Any]:
    return dict(typer.main.get_group(app).commands)


def required_arguments(command: Any, workdir: Path) -> list[str]:
    """A value for each required argument: a small JSON Lines file for a path, a stage's name for a stage, a key
    for other text."""
    records = workdir / "records.jsonl"
    records.write_text('{"id": 1}\n')
    def value(name: str) -> str:
        if name in {"paths", "path", "file"}:
            return str(records)
        return "curation" if name == "stage" else "input/x.json"

    return [value(param.name or "") for param in command.params
            if param.param_type_name == "argument" and param.required]


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No recorded emulator, no AWS profile, and an endpoint where nothing listens."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "LAKEBOX_")) and key != "PYTEST_XDIST_WORKER"}
    state = tmp_path_factory.mktemp("state")
    return {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port()}", "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "LAKEBOX_STATE_DIR": str(state),
            "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def results(environment: dict[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every command run once, all at the same time (each waits a second or two for the endpoint)."""
    workdir = tmp_path_factory.mktemp("cli")

    def run(name: str) -> subprocess.CompletedProcess[str]:
        args = [name, *required_arguments(commands()[name], workdir)]
        return subprocess.run([sys.executable, "-m", "lakebox.cli", *args], env=environment, cwd=workdir,
                              capture_output=True, text=True, timeout=PER_COMMAND_DEADLINE_S, check=False,
                              stdin=subprocess.DEVNULL)

    with ThreadPoolExecutor(max_workers=len(commands())) as pool:
        return dict(zip(commands(), pool.map(run, commands()), strict=True))


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_against_a_closed_port_fails_in_one_line(
        name: str, environment: dict[str, str], results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = results[name]

    if name in LOCAL_ONLY:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        return
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr + result.stdout
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert environment["AWS_ENDPOINT_URL"].removeprefix("http://") in lines[0], lines[0]
    # What to do: start an emulator there, or point the endpoint elsewhere.
    assert "AWS_ENDPOINT_URL" in lines[0] or "lakebox up" in lines[0]


@pytest.mark.parametrize("teardown", [False, True], ids=["apply", "teardown"])
def test_bootstrap_against_a_closed_port_fails_in_one_line(teardown: bool, environment: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "infra" / "bootstrap.py"),
                             *(["--teardown"] if teardown else [])], env=environment, capture_output=True,
                            text=True, timeout=PER_COMMAND_DEADLINE_S, check=False)

    assert result.returncode == 1, result.stderr
    # Bootstrap's progress goes to stderr too: its first line says where it works, its last why it stopped.
    *_, last = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert last.startswith("bootstrap failed: cannot reach"), last
    assert environment["AWS_ENDPOINT_URL"].removeprefix("http://") in last
