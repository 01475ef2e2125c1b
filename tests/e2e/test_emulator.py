"""The embedded emulator's lifecycle: start, reuse, refuse a held port, stop exactly what was started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from lakebox.emulator.embedded import EmbeddedEmulator, free_port, healthy
from lakebox.exceptions import EmulatorError


def test_start_reuse_and_stop(tmp_path: Path) -> None:
    emulator = EmbeddedEmulator(tmp_path)
    state, started = emulator.start(port=None)
    try:
        assert started
        assert healthy(state.endpoint)
        again, started_again = EmbeddedEmulator(tmp_path).start(port=None)
        assert (again.pid, again.port, started_again) == (state.pid, state.port, False)
    finally:
        stopped = emulator.stop()
    assert stopped is not None and stopped.stopped and stopped.state.pid == state.pid
    assert stopped.state.started is not None, "up records the process's start time"
    assert not healthy(state.endpoint)
    assert emulator.state() is None
    assert emulator.stop() is None


def test_a_port_held_by_something_else_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(EmulatorError, match=f"port {port} .* held by another process"):
            EmbeddedEmulator(tmp_path).start(port=port)
    assert not (tmp_path / "emulator.json").exists()


def test_a_failed_start_reports_the_log_tail(tmp_path: Path) -> None:
    # A port setting MiniStack cannot parse makes it exit at once; the error must carry what it logged.
    with pytest.raises(EmulatorError, match="MiniStack exited") as raised:
        EmbeddedEmulator(tmp_path).start(port=None, extra_env={"GATEWAY_PORT": "not-a-port"})
    assert "not-a-port" in str(raised.value)
    assert not (tmp_path / "emulator.json").exists()


def test_an_impossible_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmulatorError, match="not a TCP port"):
        EmbeddedEmulator(tmp_path).start(port=70000)


def test_a_localstack_token_never_reaches_the_emulator_or_a_function_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from lakebox.ingest.outcomes import wait_for_outcomes
    from lakebox.lake.target import Target
    from lakebox_infra.provision import Provisioner
    from lakebox_infra.topology import Topology
    from lakebox_layer.records import RawObject

    secret = "ls-" + "0123456789abcdef" * 2
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", secret)
    emulator = EmbeddedEmulator(tmp_path)
    state, _ = emulator.start(port=None, extra_env={"LAKEBOX_EMULATOR_LOG_LEVEL": "DEBUG"})
    try:
        # The emulator's environment is every function's environment: the token must not be in it.
        environment = Path(f"/proc/{state.pid}/environ").read_bytes().decode(errors="replace")
        assert "LOCALSTACK_AUTH_TOKEN" not in environment
        assert secret not in environment
        target = Target.at(state.endpoint, state.region, "lakebox")
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        bucket = target.settings.raw_bucket
        body = b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}'
        response = target.clients.s3.put_object(Bucket=bucket, Key="input/secret.json", Body=body)
        raw = RawObject(bucket, "input/secret.json", response["ETag"].strip('"'), len(body), response.get("VersionId"))
        assert wait_for_outcomes(target, [raw], deadline_s=60)[raw.process_id].status.terminal
        logs = target.session.client("logs", region_name=state.region, endpoint_url=state.endpoint)
        lines = [json.dumps(event) for group in logs.describe_log_groups()["logGroups"]
                 for stream in logs.describe_log_streams(logGroupName=group["logGroupName"])["logStreams"]
                 for event in logs.get_log_events(logGroupName=group["logGroupName"],
                                                  logStreamName=stream["logStreamName"])["events"]]
    finally:
        emulator.stop()
    assert lines, "the functions logged something"
    assert secret not in "\n".join(lines)
    assert secret not in (tmp_path / "emulator.log").read_text()


def listening_addresses(pid: int) -> set[str]:
    """The addresses the process listens on (TCP, IPv4 and IPv6), from /proc: its sockets' inodes, then the kernel's
    socket tables."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(fields[1].rpartition(":")[0])
    return found


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="reads the kernel's socket tables in /proc")
def test_the_emulator_listens_on_the_loopback_only(tmp_path: Path) -> None:
    emulator = EmbeddedEmulator(tmp_path)
    state, _ = emulator.start(port=None)
    try:
        addresses = listening_addresses(state.pid)
    finally:
        emulator.stop()
    assert addresses, "the emulator listens somewhere"
    assert addresses == {"0100007F"}, f"listening beyond 127.0.0.1: {addresses}"  # 127.0.0.1, as /proc writes it


def test_the_function_workers_files_live_in_the_state_directory_and_go_with_the_emulator(tmp_path: Path) -> None:
    """MiniStack unpacks each function worker into the temporary directory, over 100 MB for curation, and a stopped
    emulator leaves them: the emulator's own temporary directory is in its state directory and goes at `stop`."""
    from lakebox.lake.target import Target
    from lakebox_infra.provision import Provisioner
    from lakebox_infra.topology import Topology

    emulator = EmbeddedEmulator(tmp_path)
    state, _ = emulator.start(port=None)
    try:
        environment = Path(f"/proc/{state.pid}/environ").read_bytes().split(b"\0")
        assert f"TMPDIR={emulator.scratch_dir}".encode() in environment
        target = Target.at(state.endpoint, state.region, "lakebox")
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        target.clients.client("lambda").invoke(FunctionName=target.names.function("quality"),
                                               Payload=b'{"Records": []}')
        workers = list(emulator.scratch_dir.glob("ministack-lambda-*"))
        assert workers, "the invoked function's worker unpacked under the state directory"
    finally:
        emulator.stop()
    assert not emulator.scratch_dir.exists()
    assert not any(worker.exists() for worker in workers)
