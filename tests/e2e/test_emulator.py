"""The embedded emulator's lifecycle: start, reuse, refuse a held port, stop exactly what was started."""

from __future__ import annotations

import socket

import pytest

from lakebox.emulator import EmbeddedEmulator, free_port, healthy
from lakebox_layer.exceptions import EmulatorError


def test_start_reuse_and_stop(tmp_path) -> None:
    emulator = EmbeddedEmulator(tmp_path)
    state, started = emulator.start(port=None)
    try:
        assert started
        assert healthy(state.endpoint)
        again, started_again = EmbeddedEmulator(tmp_path).start(port=None)
        assert (again.pid, again.port, started_again) == (state.pid, state.port, False)
    finally:
        stopped = emulator.stop()
    assert stopped is not None and stopped.pid == state.pid
    assert not healthy(state.endpoint)
    assert emulator.state() is None
    assert emulator.stop() is None


def test_a_port_held_by_something_else_is_a_clear_error(tmp_path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(EmulatorError, match=f"port {port} .* held by another process"):
            EmbeddedEmulator(tmp_path).start(port=port)
    assert not (tmp_path / "emulator.json").exists()


def test_a_failed_start_reports_the_log_tail(tmp_path) -> None:
    # A port setting MiniStack cannot parse makes it exit at once; the error must carry what it logged.
    with pytest.raises(EmulatorError, match="MiniStack exited") as raised:
        EmbeddedEmulator(tmp_path).start(port=None, extra_env={"GATEWAY_PORT": "not-a-port"})
    assert "not-a-port" in str(raised.value)
    assert not (tmp_path / "emulator.json").exists()


def test_an_impossible_port_is_refused(tmp_path) -> None:
    with pytest.raises(EmulatorError, match="not a TCP port"):
        EmbeddedEmulator(tmp_path).start(port=70000)
