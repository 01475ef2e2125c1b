"""Waiting for something asynchronous: poll with a deadline and say what was awaited when giving up."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(check: Callable[[], bool], *, deadline_s: float, what: str, interval_s: float = 0.1,
               on_timeout: Callable[[], str] | None = None) -> None:
    """Poll `check` until it is true; past the deadline raise an error that says what was awaited."""
    deadline = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() >= deadline:
            detail = on_timeout() if on_timeout else ""
            raise TimeoutError(f"gave up after {deadline_s:.0f} s waiting for {what}{detail}")
        time.sleep(interval_s)
