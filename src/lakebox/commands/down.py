"""`lakebox down`: stop the embedded emulator `up` started, and nothing else."""

from __future__ import annotations

from lakebox.commands import common
from lakebox.emulator.embedded import EmbeddedEmulator
from lakebox.lake.target import state_dir


def down() -> None:
    """Stop the embedded emulator that `up` started; nothing else."""
    result = EmbeddedEmulator(state_dir()).stop()
    if result is None:
        common.out.print("no embedded emulator is running")
    elif not result.stopped:
        common.out.print(f"forgot the stale record of the embedded emulator (pid {result.state.pid}, port "
                         f"{result.state.port}): {result.reason}; stopped nothing", highlight=False, markup=False)
    else:
        common.out.print(f"stopped the embedded emulator (pid {result.state.pid}, port {result.state.port})")
