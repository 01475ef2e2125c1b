"""`lakebox down` signals only the MiniStack process `up` recorded: a recorded pid that now names anything else
(after a reboot, or once the emulator died) is forgotten and left alone."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from lakebox.emulator import embedded as emulator_module
from lakebox.emulator.embedded import EmbeddedEmulator, EmulatorState, ProcessIdentity, process_identity, saved_port
from lakebox.polling import wait_until

# A stand-in whose command line names MiniStack, as `python -m ministack` does, without starting a server.
FAKE_MINISTACK = [sys.executable, "-c", "import time; time.sleep(120)", "ministack"]


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    # Its own process group, as the real emulator has: a wrong `down` would signal exactly this group.
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not the emulator."""
    process = _spawn(["sleep", "120"])
    yield process
    process.kill()
    process.wait(timeout=10)


@pytest.fixture
def fake_ministack() -> Iterator[subprocess.Popen[bytes]]:
    process = _spawn(FAKE_MINISTACK)
    yield process
    if process.poll() is None:
        process.kill()
    # Reaped already when `stop` signalled it; otherwise collect it here.
    with contextlib.suppress(ChildProcessError):
        process.wait(timeout=10)


def _record(state_dir: Path, pid: int, started: str | None) -> EmbeddedEmulator:
    """Write the state `up` would write for `pid`, with an operator key beside it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    state = EmulatorState(pid=pid, port=45666, log_file=str(state_dir / "emulator.log"), region="us-east-1",
                          started=started)
    (state_dir / "emulator.json").write_text(json.dumps(asdict(state)))
    emulator = EmbeddedEmulator(state_dir)
    emulator.record_credentials("operator", {"aws_access_key_id": "AKIA", "aws_secret_access_key": "secret"})
    return emulator


def _gone(pid: int) -> bool:
    return process_identity(pid) is None


def test_down_leaves_a_live_process_that_is_not_the_emulator_alone(
        tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    emulator = _record(tmp_path, sleeper.pid, started=None)

    result = emulator.stop()

    assert result is not None and not result.stopped
    assert "not MiniStack" in result.reason and "sleep" in result.reason
    assert sleeper.poll() is None, "the unrelated process was signalled"
    assert not (tmp_path / "emulator.json").exists(), "the stale record is forgotten"
    assert emulator.credentials("operator") is None
    assert emulator.stop() is None


def test_a_stale_record_is_not_reported_as_a_running_emulator(
        tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    emulator = _record(tmp_path, sleeper.pid, started=None)

    assert emulator.state() is None
    assert not (tmp_path / "emulator.json").exists()
    assert sleeper.poll() is None


def test_a_ministack_started_at_another_time_is_not_ours(
        tmp_path: Path, fake_ministack: subprocess.Popen[bytes]) -> None:
    identity = process_identity(fake_ministack.pid)
    assert identity is not None and identity.runs_ministack
    emulator = _record(tmp_path, fake_ministack.pid, started=f"not {identity.started}")

    result = emulator.stop()

    assert result is not None and not result.stopped
    assert "started at" in result.reason
    assert fake_ministack.poll() is None


def test_the_recorded_emulator_is_stopped_with_its_process_group(
        tmp_path: Path, fake_ministack: subprocess.Popen[bytes]) -> None:
    identity = process_identity(fake_ministack.pid)
    assert identity is not None
    emulator = _record(tmp_path, fake_ministack.pid, started=identity.started)
    assert emulator.state() is not None

    result = emulator.stop()

    assert result is not None and result.stopped and result.state.pid == fake_ministack.pid
    wait_until(lambda: _gone(fake_ministack.pid), deadline_s=10, what="the stopped process to be gone")
    assert emulator.credentials("operator") is None


def test_a_record_of_an_exited_process_is_forgotten(tmp_path: Path) -> None:
    finished = _spawn(["true"])
    finished.wait(timeout=10)
    emulator = _record(tmp_path, finished.pid, started=None)

    result = emulator.stop()

    assert result is not None and not result.stopped and "exited" in result.reason


def test_without_proc_the_identity_comes_from_ps(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    monkeypatch.setattr(emulator_module, "_PROC", tmp_path / "no-proc")

    identity = process_identity(sleeper.pid)

    assert identity is not None
    assert identity.command[:2] == ("sleep", "120")
    assert not identity.runs_ministack
    assert identity.started and identity == process_identity(sleeper.pid)


def test_the_identity_of_a_process_is_stable_and_names_its_command() -> None:
    first, second = process_identity(os.getpid()), process_identity(os.getpid())

    assert first is not None and first == second
    assert any("python" in part or "pytest" in part for part in first.command)


@pytest.mark.parametrize(("command", "ministack"), [
    (("/usr/bin/python3", "-m", "ministack"), True),
    (("/venv/bin/ministack",), True),
    (("/usr/bin/python3", "-m", "pytest", "tests/unit/test_ministack_things.py"), False),
    (("sleep", "120"), False),
    ((), False),
])
def test_only_a_command_that_runs_ministack_counts(command: tuple[str, ...], ministack: bool) -> None:
    assert ProcessIdentity(command, "0").runs_ministack is ministack


def test_the_saved_port_of_a_persisted_state(tmp_path: Path) -> None:
    assert saved_port(tmp_path) is None
    (tmp_path / "port").write_text("45123")
    assert saved_port(tmp_path) == 45123
    (tmp_path / "port").write_text("garbage")
    assert saved_port(tmp_path) is None
