"""Reading the functions' logs for people: each stage's CloudWatch Logs group read through `FilterLogEvents`
(paged, bounded), its JSON lines (Powertools) made readable, every stage merged in time order, and a tail that
shows each line once.

Platform lines (`START`, `END`, `REPORT`, `INIT_START`, ...) are skipped: they name a request id, never a process
id, and every stage writes three of them per batch. Any other line that is not JSON (a traceback printed before the
logger existed, a stray `print`) is kept, with level `TEXT`, because that is where a crash shows.

MiniStack writes an invocation's lines when it ends, all stamped with that one time, in a new stream per invocation;
AWS stamps each line when it was written. So a line's time is the `timestamp` Powertools put in it (milliseconds)
where there is one, and the event's time otherwise; lines of one time keep the order their stream holds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox.exceptions import UsageError
from lakebox_layer.adapters.errors import missing
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.registry import FILE_STAGES, Stage

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

# The functions whose lines name a file's process id (what `lakebox trace` reads), and every function that logs: those
# and the stream batcher (which sets poison records aside and, on an emulator without a batching window, holds young
# batches back).
PIPELINE_STAGES = tuple(spec.name for spec in FILE_STAGES)
STAGES = tuple(stage.value for stage in Stage)
DEFAULT_SINCE = "10m"
# A read stops after this many pages per group, or this many lines in all: a busy lake's last day is not a screen.
MAX_PAGES = 50
MAX_LINES = 10_000
# The tail asks again from this long before the newest line it saw: on AWS a line can arrive (be ingested) a little
# after lines stamped later than it.
TAIL_LOOKBACK = timedelta(seconds=30)
FOLLOW_INTERVAL_S = 1.0
TEXT_LEVEL = "TEXT"
_PLATFORM = re.compile(r"^(START|END|REPORT|INIT_START|INIT_REPORT|INIT_RUNTIME_FAILURE|EXTENSION|TELEMETRY)\b")
_SINCE = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Powertools' default time format, and its ISO 8601 one.
_POWERTOOLS_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%dT%H:%M:%S.%f%z")


class BadDuration(UsageError):
    """A `--since` that is not a number and one of s, m, h, d."""


def parse_since(text: str) -> timedelta:
    """`30s`, `10m`, `2h`, `1d` as a duration."""
    match = _SINCE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise BadDuration(f"--since takes a positive number and a unit (30s, 10m, 2h, 1d), not {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def log_group(function: str) -> str:
    """The log group Lambda (and MiniStack) writes a function's lines to."""
    return f"/aws/lambda/{function}"


@dataclass(frozen=True)
class LogLine:
    """One log line of one stage's function."""

    time: datetime
    stage: str
    level: str
    message: str
    key: str | None
    process_id: str | None
    # Where CloudWatch holds it: the event's own time (ms), stream and id (AWS only), to show each line once.
    timestamp_ms: int
    stream: str
    event_id: str | None = None
    entry: dict[str, Any] | None = field(default=None, repr=False)
    # The event's whole text, as CloudWatch holds it.
    text: str = field(default="", repr=False)

    @property
    def identity(self) -> tuple[str, str, int, str]:
        """What tells two events apart: the id AWS gives each, else (MiniStack) stream, time and text."""
        return self.stage, self.stream, self.timestamp_ms, self.event_id or self.text

    def to_json(self) -> dict[str, Any]:
        """`lakebox logs --json`: one object per line."""
        return {"time": self.time.isoformat(timespec="milliseconds"), "stage": self.stage, "level": self.level,
                "key": self.key, "process_id": self.process_id, "message": self.message,
                "log_stream": self.stream, "entry": self.entry}


def _powertools_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    for form in _POWERTOOLS_TIME_FORMATS:
        try:
            return datetime.strptime(value, form).astimezone(UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _event_time(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC)


def line_of(stage: str, event: Mapping[str, Any]) -> LogLine | None:
    """The readable form of one CloudWatch Logs event; None for a platform line or an empty one."""
    text = str(event.get("message", "")).rstrip("\n")
    timestamp_ms = int(event.get("timestamp", 0))
    stream = str(event.get("logStreamName", ""))
    event_id = event.get("eventId")
    if not text.strip() or _PLATFORM.match(text):
        return None
    entry: Any = None
    if text.lstrip().startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
    if not isinstance(entry, dict):
        return LogLine(_event_time(timestamp_ms), stage, TEXT_LEVEL, text, None, None, timestamp_ms, stream,
                       event_id if isinstance(event_id, str) else None, text=text)
    key, correlation = entry.get("key"), entry.get("correlation_id")
    return LogLine(
        time=_powertools_time(entry.get("timestamp")) or _event_time(timestamp_ms), stage=stage,
        level=str(entry.get("level", "")), message=str(entry.get("message", "")),
        key=key if isinstance(key, str) else None, process_id=correlation if isinstance(correlation, str) else None,
        timestamp_ms=timestamp_ms, stream=stream, event_id=event_id if isinstance(event_id, str) else None,
        entry=entry, text=text,
    )


def merged(lines_by_stage: Iterable[list[LogLine]]) -> list[LogLine]:
    """Every stage's lines in one list, in time order; lines of one time keep their stream's order."""
    everything = [line for lines in lines_by_stage for line in lines]
    return sorted(everything, key=lambda line: line.time)


class LogsUnavailable(LakeboxError):
    """CloudWatch Logs refused to be read (no permission, say)."""


class LogReader:
    """The functions' log groups, read through `FilterLogEvents`: one group per stage."""

    def __init__(self, logs: CloudWatchLogsClient, groups: Mapping[str, str], *, max_pages: int = MAX_PAGES,
                 max_lines: int = MAX_LINES) -> None:
        self._logs = logs
        self.groups = dict(groups)
        self.max_pages = max_pages
        self.max_lines = max_lines

    @classmethod
    def of_functions(cls, logs: CloudWatchLogsClient, function: Callable[[str], str],
                     stages: Iterable[str] = PIPELINE_STAGES) -> LogReader:
        """A reader of the given stages' functions (`function` names a stage's function)."""
        return cls(logs, {stage: log_group(function(stage)) for stage in stages})

    def stage_lines(self, stage: str, start: datetime, pattern: str | None = None) -> list[LogLine]:
        """One stage's lines from `start` on (its group not there yet: none), up to the page and line bounds."""
        request: dict[str, Any] = {"logGroupName": self.groups[stage],
                                   "startTime": int(start.timestamp() * 1000)}
        if pattern:
            request["filterPattern"] = pattern
        lines: list[LogLine] = []
        for _ in range(self.max_pages):
            try:
                response = self._logs.filter_log_events(**request)
            except ClientError as error:
                if missing(error):  # a function that never ran has no group yet
                    return lines
                raise LogsUnavailable(f"reading {self.groups[stage]}: {error}") from error
            for event in response.get("events", []):
                line = line_of(stage, event)
                if line is not None:
                    lines.append(line)
            token = response.get("nextToken")
            # AWS may answer a page with no events and a token; MiniStack answers everything in one page.
            if not token or len(lines) >= self.max_lines:
                break
            request["nextToken"] = token
        return lines[: self.max_lines]

    def read(self, start: datetime, stages: Iterable[str] | None = None, pattern: str | None = None) -> list[LogLine]:
        """The lines of the given stages (all by default) from `start` on, merged in time order."""
        return merged(self.stage_lines(stage, start, pattern) for stage in (stages or self.groups))

    def for_process(self, process_id: str, start: datetime) -> list[LogLine]:
        """Every line whose correlation id is this process id. The quoted term narrows the read on both AWS and
        MiniStack (which ignores JSON patterns such as `{ $.correlation_id = ... }`, matching everything); the
        correlation id then decides."""
        lines = self.read(start, pattern=f'"{process_id}"')
        return [line for line in lines if line.process_id == process_id]


class LogTail:
    """`lakebox logs --follow`: each poll reads from a little before the newest line seen and returns only the
    lines not shown yet (two identical lines stay two)."""

    def __init__(self, reader: LogReader, start: datetime, stages: Iterable[str] | None = None,
                 lookback: timedelta = TAIL_LOOKBACK) -> None:
        self.reader = reader
        self.stages = list(stages) if stages is not None else None
        self.start = start
        self.lookback = lookback
        self._shown: dict[tuple[str, str, int, str], int] = {}

    def poll(self) -> list[LogLine]:
        """The lines that appeared since the last poll, in time order."""
        lines = self.reader.read(self.start, self.stages)
        seen: dict[tuple[str, str, int, str], int] = {}
        fresh = []
        for line in lines:
            identity = line.identity
            seen[identity] = seen.get(identity, 0) + 1
            if seen[identity] > self._shown.get(identity, 0):
                fresh.append(line)
        for identity, count in seen.items():
            self._shown[identity] = max(count, self._shown.get(identity, 0))
        if lines:
            newest = max(line.timestamp_ms for line in lines)
            self.start = max(self.start, _event_time(newest) - self.lookback)
            floor = int(self.start.timestamp() * 1000)
            self._shown = {identity: n for identity, n in self._shown.items() if identity[2] >= floor}
        return fresh


def follow(tail: LogTail, show: Callable[[LogLine], None], *, interval_s: float = FOLLOW_INTERVAL_S,
           keep_going: Callable[[], bool] = lambda: True, sleep: Callable[[float], None] | None = None) -> None:
    """Show new lines as they come, polling every `interval_s`, until `keep_going` says stop (or Ctrl-C)."""
    while True:
        for line in tail.poll():
            show(line)
        if not keep_going():
            return
        (sleep or time.sleep)(interval_s)


def since(duration: timedelta, now: datetime | None = None) -> datetime:
    """The start of a window that ends now."""
    return (now or datetime.now(UTC)) - duration
