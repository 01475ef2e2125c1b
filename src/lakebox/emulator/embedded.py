"""The embedded emulator: MiniStack run as a local background process on 127.0.0.1.

`lakebox up` starts it and records its pid, start time, port and log file in the state directory, so that
`lakebox down` stops exactly that process and every other command finds the same endpoint. A recorded pid is trusted
only while it still names that MiniStack process: after a reboot the number may belong to anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from lakebox.emulator.identities import IDENTITIES
from lakebox.exceptions import EmulatorError
from lakebox.polling import wait_until

HOST = "127.0.0.1"
DEFAULT_PORT = 4566
HEALTH_PATH = "/_ministack/health"
START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 15.0
_STATE_FILE = "emulator.json"
# The emulator's temporary directory (TMPDIR): its function workers' code and the functions' scratch files.
_SCRATCH_DIR = "emulator-tmp"
_LOG_FILE = "emulator.log"
_PORT_FILE = "port"
# An identity's credentials under enforced IAM, one file each ("operator.json", "steward.json").
_CREDENTIALS_FILE = "{identity}.json"
_EXEC_GRACE_S = 1.0
_PROC = Path("/proc")
# Variables that must not leak from the caller into the emulator (and from there into its Lambda workers, whose
# environment is the emulator's): the caller's endpoint and AWS identity, and secrets the emulator has no use for.
_SCRUBBED = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "LOCALSTACK_AUTH_TOKEN",
             "LOCALSTACK_API_KEY")


@dataclass(frozen=True)
class EmulatorState:
    """What `up` records about the emulator it started."""

    pid: int
    port: int
    log_file: str
    region: str
    persist_dir: str | None = None
    strict_iam: bool = False
    # When the process started, as the system tells it (see `process_identity`); None in older records.
    started: str | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"


def healthy(endpoint: str, timeout_s: float = 1.0) -> bool:
    """True when an emulator answers its health endpoint at `endpoint`."""
    for path in (HEALTH_PATH, "/_localstack/health"):
        try:
            with urllib.request.urlopen(f"{endpoint}{path}", timeout=timeout_s) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((HOST, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ProcessIdentity:
    """What tells one process from another that later gets the same pid: its command line and start time."""

    command: tuple[str, ...]
    started: str

    @property
    def runs_ministack(self) -> bool:
        """Whether the command runs MiniStack (`python -m ministack`, or its `ministack` script)."""
        return any(arg == "ministack" or Path(arg).name == "ministack" for arg in self.command)


def process_identity(pid: int) -> ProcessIdentity | None:
    """The command line and start time of process `pid`, from /proc where there is one, else from `ps`;
    None when the process is gone or neither can tell."""
    proc = _PROC / str(pid)
    if (_PROC / "self" / "stat").is_file():
        # A process caught while it execs shows an empty command line for an instant; only a zombie keeps one.
        deadline = time.monotonic() + _EXEC_GRACE_S
        while True:
            try:
                command = [part for part in proc.joinpath("cmdline").read_bytes().split(b"\0") if part]
                # Fields 3 (state) and 22 (start, in clock ticks since boot) of stat; the boot id makes the start
                # unique across reboots. The command name (field 2) may hold spaces and ")", so split after the last.
                fields = proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()
                state, ticks = fields[0], fields[19]
            except (OSError, IndexError):
                return None
            if command or state == "Z" or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        boot_id = _PROC / "sys" / "kernel" / "random" / "boot_id"
        boot = boot_id.read_text().strip() if boot_id.is_file() else ""
        return ProcessIdentity(tuple(part.decode(errors="replace") for part in command), f"{boot}:{ticks}")
    try:
        # `lstart` is a fixed-width date (24 characters); the command follows it.
        listed = subprocess.run(["ps", "-o", "lstart=,command=", "-p", str(pid)], capture_output=True, text=True,
                                timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(listed) <= 24:
        return None
    return ProcessIdentity(tuple(listed[24:].split()), listed[:24])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def log_tail(path: Path | str, lines: int = 20) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:]) or "(log is empty)"


def persistence_env(persist_dir: Path) -> dict[str, str]:
    """MiniStack's settings to save its state on a graceful stop and load it on start, S3 objects included."""
    persist_dir = persist_dir.resolve()
    return {"PERSIST_STATE": "1", "STATE_DIR": str(persist_dir / "state"),
            "S3_PERSIST": "1", "S3_DATA_DIR": str(persist_dir / "s3")}


@dataclass(frozen=True)
class Stale:
    """A record whose process is no longer the emulator it names."""

    state: EmulatorState
    reason: str


@dataclass(frozen=True)
class Stopped:
    """What `stop` did: `stopped` is false when the record was stale and nothing was signalled."""

    state: EmulatorState
    stopped: bool
    reason: str = ""


class EmbeddedEmulator:
    """Start, find and stop the MiniStack process recorded in `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.state_file = state_dir / _STATE_FILE
        self.scratch_dir = state_dir / _SCRATCH_DIR

    def state(self) -> EmulatorState | None:
        """The recorded emulator if its process is still alive and still ours, else None (a stale record is
        removed)."""
        state, _ = self._recorded()
        return state

    def _recorded(self) -> tuple[EmulatorState | None, Stale | None]:
        """The recorded emulator while its process is ours; else None, with the stale record (now forgotten)."""
        try:
            state = EmulatorState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None, None
        why = _not_ours(state)
        if why is None:
            return state, None
        self._forget()
        return None, Stale(state, why)

    def _forget(self) -> None:
        self.state_file.unlink(missing_ok=True)
        for identity in IDENTITIES:
            (self.state_dir / _CREDENTIALS_FILE.format(identity=identity)).unlink(missing_ok=True)

    def start(self, port: int | None = DEFAULT_PORT, region: str = "us-east-1",
              extra_env: dict[str, str] | None = None, persist_dir: Path | None = None,
              strict_iam: bool = False) -> tuple[EmulatorState, bool]:
        """Start MiniStack, or reuse the one already recorded and healthy. Returns the state and whether it
        was started now. `port=None` picks a free port. With `persist_dir`, MiniStack keeps its state (and S3's
        objects) there across a stop and a start. With `strict_iam`, MiniStack enforces IAM: each function runs
        with its execution role's permissions and callers with their own."""
        current = self.state()
        if current is not None:
            if healthy(current.endpoint):
                return current, False
            raise EmulatorError(
                f"the recorded emulator (pid {current.pid}, port {current.port}) is running but does not answer "
                f"its health check; run `lakebox down` and try again.\n--- {current.log_file} ---\n"
                f"{log_tail(current.log_file)}"
            )
        if port is None and persist_dir is not None:
            # MiniStack's saved state names its own endpoint (queue URLs carry the port): start where it was.
            port = saved_port(persist_dir)
        port = free_port() if port is None else port
        if not 0 < port < 65536:
            raise EmulatorError(f"port {port} is not a TCP port (1-65535)")
        if port_in_use(port):
            raise EmulatorError(
                f"port {port} on {HOST} is held by another process (another emulator?). Stop it, pick another "
                "port with `lakebox up --port N` (0 for any free port), or point lakebox at it with AWS_ENDPOINT_URL."
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.state_dir / _LOG_FILE
        # MiniStack unpacks each function worker's code and layers into a directory of its own under the temporary
        # directory (over 100 MB for curation's), and the functions write their scratch files there too; a stopped
        # emulator leaves them behind. Kept in the state directory, they go when the emulator stops.
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
        self.scratch_dir.mkdir()
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        env.update({
            "TMPDIR": str(self.scratch_dir),
            "GATEWAY_PORT": str(port),
            "BIND_HOST": HOST,
            # MiniStack's IoT mTLS listener binds every interface on 8883 by default; lakebox has no use for it.
            "IOT_MTLS_ENABLED": "0",
            "MINISTACK_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "LOG_LEVEL": env.get("LAKEBOX_EMULATOR_LOG_LEVEL", "WARNING"),
            **(persistence_env(persist_dir) if persist_dir else {}),
            **({"AUTH": "true"} if strict_iam else {}),
            **(extra_env or {}),
        })
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ministack"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, cwd=self.state_dir,
                # Its own process group, so `down` also stops the Lambda workers it spawned.
                start_new_session=True,
            )
        identity = process_identity(process.pid)
        state = EmulatorState(pid=process.pid, port=port, log_file=str(log_file), region=region,
                              persist_dir=str(persist_dir) if persist_dir else None, strict_iam=strict_iam,
                              started=identity.started if identity else None)
        endpoint = state.endpoint

        def answered() -> bool:
            if process.poll() is not None:
                raise EmulatorError(
                    f"MiniStack exited with code {process.returncode} while starting on port {port}.\n"
                    f"--- {log_file} ---\n{log_tail(log_file)}"
                )
            return healthy(endpoint, timeout_s=0.5)

        try:
            wait_until(answered, deadline_s=START_DEADLINE_S, what=f"MiniStack to answer {endpoint}{HEALTH_PATH}",
                       on_timeout=lambda: f"\n--- {log_file} ---\n{log_tail(log_file)}")
        except TimeoutError as error:
            self._kill(process.pid)
            shutil.rmtree(self.scratch_dir, ignore_errors=True)
            raise EmulatorError(str(error)) from error
        self.state_file.write_text(json.dumps(asdict(state)))
        if persist_dir is not None:
            persist_dir.mkdir(parents=True, exist_ok=True)
            (persist_dir / _PORT_FILE).write_text(str(port))
        return state, True

    def record_credentials(self, identity: str, credentials: dict[str, str]) -> None:
        """Keep an identity's non-root credentials for an emulator that enforces IAM (readable by this user only)."""
        path = self.state_dir / _CREDENTIALS_FILE.format(identity=identity)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(credentials))

    def credentials(self, identity: str) -> dict[str, str] | None:
        """The identity's recorded credentials, or None."""
        try:
            found: dict[str, str] = json.loads((self.state_dir / _CREDENTIALS_FILE.format(identity=identity))
                                               .read_text())
        except (OSError, ValueError):
            return None
        return found

    def stop(self) -> Stopped | None:
        """Stop the recorded emulator (and its workers); None when nothing was recorded.

        A record whose pid is no longer our MiniStack (the emulator died, and the number may since belong to an
        unrelated process) is forgotten and nothing is signalled: the result then says why, with `stopped` false.
        """
        state, stale = self._recorded()
        self._forget()
        if stale is not None:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)
            return Stopped(stale.state, stopped=False, reason=stale.reason)
        if state is None:
            return None
        self._kill(state.pid)
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
        return Stopped(state, stopped=True)

    @staticmethod
    def _kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)
        try:
            wait_until(lambda: not _alive(pid) or _reap(pid), deadline_s=STOP_DEADLINE_S,
                       what=f"emulator process {pid} to exit")
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def saved_port(persist_dir: Path) -> int | None:
    """The port the emulator whose state is kept in `persist_dir` last listened on, if it was recorded."""
    try:
        return int((persist_dir / _PORT_FILE).read_text())
    except (OSError, ValueError):
        return None


def _not_ours(state: EmulatorState) -> str | None:
    """Why the recorded pid no longer names the emulator `up` started, or None while it does."""
    if not _alive(state.pid):
        return f"process {state.pid} has exited"
    identity = process_identity(state.pid)
    if identity is None:
        # Neither /proc nor ps can tell: that the pid is alive is all we know, as before this check existed.
        return None
    if not identity.command:
        # A zombie (exited, not yet collected) has an empty command line; collect it if it is our child.
        _reap(state.pid)
        return f"process {state.pid} has exited"
    if not identity.runs_ministack:
        return f"process {state.pid} is not MiniStack but `{' '.join(identity.command)[:80]}`"
    if state.started is not None and identity.started != state.started:
        return f"process {state.pid} runs MiniStack but started at {identity.started}, not {state.started}"
    return None


def _reap(pid: int) -> bool:
    """Collect our own exited child so it does not linger as a zombie that still looks alive."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return finished == pid
