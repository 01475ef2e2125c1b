"""What `lakebox up` last applied to the embedded emulator it started, so that an `up` with nothing to change reads,
compares and writes nothing.

After a full run, `up` keeps in the state directory the key of what it declared (:func:`declared_key`: the checkout's
infra, layer, functions and contracts, and every `LAKEBOX_` setting) beside the emulator process it applied to. The
next `up` to the same process with the same key skips provisioning. Anything else gets the full read and compare:
another emulator process (restarted, or restored from `--persist`), an edit in the checkout, another setting,
`--verify`, and every endpoint lakebox did not start (AWS_ENDPOINT_URL, AWS), since someone else may change those.
A command that finds a resource missing forgets the record (:func:`forget`), so the `lakebox up` its error names
checks everything again.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakebox.emulator.embedded import EmulatorState

APPLIED_FILE = "applied.json"
# Who acts and where: with the `LAKEBOX_` settings, what the declared topology depends on besides the checkout.
_AWS_SETTINGS = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE")


def declared_key(state: EmulatorState) -> str:
    """The key of what `up` would declare to this emulator now."""
    from lakebox_infra.packaging import checkout_key

    settings = {name: value for name, value in os.environ.items()
                if name.startswith("LAKEBOX_") or name in _AWS_SETTINGS}
    salt = json.dumps({"settings": settings, "region": state.region, "strict_iam": state.strict_iam},
                      sort_keys=True)
    return checkout_key(salt)


@dataclass(frozen=True)
class Applied:
    """One full run of `up` that ended with the emulator as declared."""

    key: str
    pid: int
    started: str | None
    resources: int
    warnings: list[str]
    at: str

    def holds_for(self, key: str, state: EmulatorState) -> bool:
        return (self.key, self.pid, self.started) == (key, state.pid, state.started) and state.started is not None


def _path(state_dir: Path) -> Path:
    return state_dir / APPLIED_FILE


def recorded(state_dir: Path) -> Applied | None:
    """The last full run's record, or None (none kept, or unreadable)."""
    try:
        return Applied(**json.loads(_path(state_dir).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def remember(state_dir: Path, key: str, state: EmulatorState, resources: int, warnings: list[str]) -> None:
    """Keep a full run's record. Best effort: a state directory that cannot be written only costs the next `up` a
    full check."""
    applied = Applied(key, state.pid, state.started, resources, warnings,
                      datetime.now(UTC).isoformat(timespec="seconds"))
    with contextlib.suppress(OSError):
        _path(state_dir).write_text(json.dumps(asdict(applied)))


def forget(state_dir: Path) -> None:
    """Drop the record: the next `up` reads and compares every resource."""
    _path(state_dir).unlink(missing_ok=True)
