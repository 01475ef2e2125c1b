"""How long a function may still work on a file: its invocation's end, as the Lambda context tells it, less a
margin to record the file's outcome.

A file too large to be read within the function's time limit would otherwise be stopped by Lambda mid-way, and its
message retried until the dead-letter queue. A stage reads a file's records `within` the limit instead: when the
time is up, a file that had the invocation to itself ends `failed` with the reason (:class:`OutOfTime`, the file's
own failure, never retried); one that started after other files of the batch took the time is retried
(:class:`BatchOutOfTime`), and the stage starts the largest files first so that this is rare.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from lakebox_layer.exceptions import BatchOutOfTime, OutOfTime

T = TypeVar("T")

# Kept for recording the file's outcome after its records are read: at least this long, and a tenth of the limit.
MARGIN_S = 10.0
# Records read between two looks at the clock.
CHECK_EVERY = 10_000
# A file that started within this long of the invocation's start had the invocation to itself.
FIRST_FILE_S = 5.0


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class TimeLimit:
    """The point (on `clock`) past which a file is not read further; `limit_s`, the time the invocation had, for the
    reason; when the invocation and the file being read started."""

    ends_at: float
    limit_s: float
    started_at: float
    clock: Callable[[], float] = time.monotonic
    file_started_at: float | None = None

    @classmethod
    def of(cls, context: LambdaContext, clock: Callable[[], float] = time.monotonic) -> TimeLimit:
        remaining = context.get_remaining_time_in_millis() / 1000
        now = clock()
        return cls(now + remaining - max(MARGIN_S, remaining / 10), remaining, now, clock)

    @classmethod
    def unlimited(cls) -> TimeLimit:
        return cls(math.inf, math.inf, 0.0)

    def for_file(self) -> TimeLimit:
        """The limit for a file that starts now."""
        return replace(self, file_started_at=self.clock())

    def within(self, items: Iterable[T], stage: str, unit: str = "records", every: int | None = None) -> Iterator[T]:
        """The items (records, or chunks of a file) read until the time is up, the clock read every `every` of them
        (CHECK_EVERY by default): then OutOfTime when the file started first in the invocation, else
        BatchOutOfTime."""
        every = every or CHECK_EVERY
        started = self.file_started_at if self.file_started_at is not None else self.clock()
        for count, item in enumerate(items, 1):
            yield item
            if count % every == 0 and self.clock() >= self.ends_at:
                if started - self.started_at <= FIRST_FILE_S:
                    raise OutOfTime(f"{stage} stopped after {count:,} {unit}: the file does not fit in the "
                                    f"function's {self.limit_s:.0f} s time limit (see the largest file each stage "
                                    "handles in docs/performance.md)")
                raise BatchOutOfTime(f"{stage} ran out of time after {count:,} {unit} of a file the batch's other "
                                     "files left too little time for: retried")
