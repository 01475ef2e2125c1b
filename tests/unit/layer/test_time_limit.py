"""A file read within the invocation's time: every record while time remains; past it, the file's own failure
when it had the invocation to itself, a retry when the batch's earlier files took the time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lakebox_layer.exceptions import BatchOutOfTime, OutOfTime
from lakebox_layer.failures import FailureClass, classify
from lakebox_layer.time_limit import CHECK_EVERY, MARGIN_S, TimeLimit


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_the_limit_keeps_a_margin_to_record_the_outcome() -> None:
    clock = Clock()

    short, long = TimeLimit.of(Context(60_000), clock), TimeLimit.of(Context(300_000), clock)

    assert short.ends_at == 100.0 + 60 - MARGIN_S
    assert long.ends_at == 100.0 + 300 - 30  # a tenth of a longer limit
    assert long.limit_s == 300


def test_every_record_is_read_while_time_remains() -> None:
    limit = TimeLimit.of(Context(300_000), Clock())

    assert list(limit.within(range(3 * CHECK_EVERY), "validation")) == list(range(3 * CHECK_EVERY))


def test_a_file_that_had_the_invocation_to_itself_fails_with_the_reason() -> None:
    clock = Clock()
    limit = TimeLimit.of(Context(300_000), clock)
    read = []

    def records() -> Iterator[int]:
        for n in range(10 * CHECK_EVERY):
            if n == CHECK_EVERY + 5:
                clock.now += 300
            read.append(n)
            yield n

    with pytest.raises(OutOfTime) as stopped:
        list(limit.within(records(), "validation"))

    assert len(read) == 2 * CHECK_EVERY  # stopped at the first look at the clock past the limit
    assert stopped.value.reason.startswith(f"validation stopped after {2 * CHECK_EVERY:,} records: the file does not "
                                           "fit in the function's 300 s time limit")
    assert classify(stopped.value).kind is FailureClass.FILE


def test_a_file_started_after_others_took_the_time_is_retried() -> None:
    clock = Clock()
    limit = TimeLimit.of(Context(300_000), clock)
    clock.now += 200  # the batch's earlier files
    records = iter(range(10 * CHECK_EVERY))
    clock.now += 100

    with pytest.raises(BatchOutOfTime) as stopped:
        list(limit.within(records, "validation"))

    failure = classify(stopped.value)
    assert (failure.kind, failure.dependency) == (FailureClass.TRANSIENT, None)


def test_no_limit_reads_everything() -> None:
    assert sum(1 for _ in TimeLimit.unlimited().within(range(2 * CHECK_EVERY + 1), "curation")) == 2 * CHECK_EVERY + 1
