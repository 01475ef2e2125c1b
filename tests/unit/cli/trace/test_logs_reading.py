"""`lakebox logs`: CloudWatch Logs events made readable, paged, merged in time order, and tailed without repeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lakebox.trace.logs import (
    TEXT_LEVEL,
    BadDuration,
    LogLine,
    LogReader,
    LogTail,
    follow,
    line_of,
    merged,
    parse_since,
)

T0 = datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)
MS = int(T0.timestamp() * 1000)
PID = "a" * 32


def powertools(message: str, at: datetime, **fields: Any) -> str:
    """A line as Powertools' Logger writes it (its default time format, local offset and milliseconds)."""
    stamp = at.strftime("%Y-%m-%d %H:%M:%S,") + f"{at.microsecond // 1000:03d}" + at.strftime("%z")
    return json.dumps({"level": "INFO", "message": message, "timestamp": stamp, "service": "lakebox-validation",
                       "correlation_id": PID, **fields})


def event(message: str, timestamp: int = MS, stream: str = "s1", **extra: Any) -> dict[str, Any]:
    return {"message": message, "timestamp": timestamp, "logStreamName": stream, "ingestionTime": timestamp, **extra}


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("10m", timedelta(minutes=10)), ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)), (" 5m ", timedelta(minutes=5))])
def test_since_takes_seconds_minutes_hours_and_days(text: str, expected: timedelta) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["", "10", "m", "5x", "-5m", "0m", "1.5h", "10 minutes"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(BadDuration, match="30s, 10m, 2h, 1d"):
        parse_since(text)


def test_a_json_line_gives_its_own_time_level_key_and_process_id() -> None:
    written = T0 + timedelta(milliseconds=437)
    line = line_of("validation", event(powertools("validated", written, key="input/a.csv"), MS + 5000,
                                       eventId="e1"))

    assert line is not None
    # Powertools' own time, not the event's (MiniStack stamps every line of an invocation with its end).
    assert line.time == written
    assert (line.stage, line.level, line.key, line.process_id, line.message) == (
        "validation", "INFO", "input/a.csv", PID, "validated")
    assert line.to_json()["entry"]["service"] == "lakebox-validation"
    assert set(line.to_json()) == {"time", "stage", "level", "key", "process_id", "message", "log_stream", "entry"}


@pytest.mark.parametrize("text", ["START RequestId: 1 Version: $LATEST", "END RequestId: 1",
                                  "REPORT RequestId: 1\tDuration: 3 ms", "INIT_START Runtime Version: python:3.12",
                                  "", "   "])
def test_platform_lines_are_skipped(text: str) -> None:
    assert line_of("ingestion", event(text)) is None


def test_other_text_is_kept_at_the_event_time() -> None:
    line = line_of("curation", event("Traceback (most recent call last):", MS))

    assert line is not None
    assert (line.level, line.message, line.time, line.process_id) == (
        TEXT_LEVEL, "Traceback (most recent call last):", T0, None)
    assert line_of("curation", event("{not json")) is not None


def test_stages_merge_in_time_order_and_ties_keep_their_stream_order() -> None:
    def at(stage: str, ms: int, message: str) -> LogLine:
        line = line_of(stage, event(powertools(message, T0 + timedelta(milliseconds=ms), key="k")))
        assert line is not None
        return line

    ingestion = [at("ingestion", 0, "i1"), at("ingestion", 300, "i2")]
    validation = [at("validation", 100, "v1"), at("validation", 100, "v2"), at("validation", 400, "v3")]

    assert [line.message for line in merged([validation, ingestion])] == ["i1", "v1", "v2", "i2", "v3"]


def logs_client() -> Any:
    return boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_a_read_follows_next_tokens_and_a_missing_group_is_no_lines() -> None:
    client = logs_client()
    reader = LogReader(client, {"ingestion": "/aws/lambda/p-ingestion", "quality": "/aws/lambda/p-quality"})
    with Stubber(client) as stub:
        stub.add_response("filter_log_events", {"events": [event(powertools("one", T0))], "nextToken": "t1"},
                          {"logGroupName": "/aws/lambda/p-ingestion", "startTime": MS})
        stub.add_response("filter_log_events", {"events": [], "nextToken": "t2"},  # AWS: an empty page, a token
                          {"logGroupName": "/aws/lambda/p-ingestion", "startTime": MS, "nextToken": "t1"})
        stub.add_response("filter_log_events", {"events": [event(powertools("two", T0 + timedelta(seconds=1)))]},
                          {"logGroupName": "/aws/lambda/p-ingestion", "startTime": MS, "nextToken": "t2"})
        stub.add_client_error("filter_log_events", "ResourceNotFoundException", http_status_code=400)

        lines = reader.read(T0)

    assert [line.message for line in lines] == ["one", "two"]


def test_a_read_stops_at_its_page_bound() -> None:
    client = logs_client()
    reader = LogReader(client, {"ingestion": "/aws/lambda/p-ingestion"}, max_pages=2)
    with Stubber(client) as stub:
        for token in ("t1", "t2"):
            stub.add_response("filter_log_events", {"events": [event(powertools(token, T0))], "nextToken": token})

        assert [line.message for line in reader.read(T0)] == ["t1", "t2"]


def test_a_process_s_lines_are_asked_by_quoted_id_and_kept_by_correlation_id() -> None:
    client = logs_client()
    reader = LogReader(client, {"validation": "/aws/lambda/p-validation"})
    other = json.loads(powertools("another file mentions it", T0))
    other["correlation_id"] = "b" * 32
    with Stubber(client) as stub:
        stub.add_response("filter_log_events", {"events": [event(powertools("validated", T0)), event(
            json.dumps(other))]}, {"logGroupName": "/aws/lambda/p-validation", "startTime": MS,
                                   "filterPattern": f'"{PID}"'})

        assert [line.message for line in reader.for_process(PID, T0)] == ["validated"]


class ScriptedReader(LogReader):
    """Answers each read with the next list of events, recording the start it was asked from."""

    def __init__(self, answers: list[list[dict[str, Any]]]) -> None:
        super().__init__(logs_client(), {"quality": "g"})
        self.answers = answers
        self.starts: list[datetime] = []

    def read(self, start: datetime, stages: Any = None, pattern: str | None = None) -> list[LogLine]:
        self.starts.append(start)
        return [line for e in self.answers.pop(0) if (line := line_of("quality", e)) is not None]


def test_the_tail_shows_each_line_once_and_identical_lines_both() -> None:
    first = event(powertools("a", T0), MS)
    twin = event(powertools("a", T0), MS)
    later = event(powertools("b", T0 + timedelta(minutes=2)), MS + 120_000, stream="s2")
    reader = ScriptedReader([[first], [first, twin], [first, twin, later], [later]])
    tail = LogTail(reader, T0 - timedelta(minutes=10), lookback=timedelta(seconds=30))

    polls = [[line.message for line in tail.poll()] for _ in range(4)]

    assert polls == [["a"], ["a"], ["b"], []]
    # Each read starts a little before the newest line seen, never earlier than the window.
    assert reader.starts[0] == T0 - timedelta(minutes=10)
    assert reader.starts[1] == T0 - timedelta(seconds=30)
    assert reader.starts[3] == T0 + timedelta(minutes=2) - timedelta(seconds=30)


def test_follow_shows_what_each_poll_finds_until_told_to_stop() -> None:
    reader = ScriptedReader([[event(powertools("a", T0))], [event(powertools("a", T0)), event(
        powertools("b", T0), stream="s2")]])
    shown: list[str] = []
    polls = iter([True, False])
    naps: list[float] = []

    follow(LogTail(reader, T0), lambda line: shown.append(line.message), interval_s=0.5,
           keep_going=lambda: next(polls), sleep=naps.append)

    assert shown == ["a", "b"] and naps == [0.5]
