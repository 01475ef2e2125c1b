"""`lakebox trace` and `lakebox logs` on a terminal and as JSON: what the text says, and the commands' wiring."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from lakebox import cli
from lakebox.lake.target import Target
from lakebox.trace.logs import LogLine, LogReader, LogTail
from lakebox.trace.render import log_text, trace_view
from lakebox.trace.sources import LakeSources
from lakebox.trace.story import Trace, gather
from tests.fakes.trace import FakeSources, processed_lake

runner = CliRunner()
T0 = datetime(2026, 1, 15, 10, 30, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


def text_of(renderable: Any) -> str:
    console = Console(record=True, width=250, color_system=None)
    console.print(renderable)
    return console.export_text()


def a_trace() -> Trace:
    sources, _ = processed_lake()
    return gather(sources, "input/orders/a.csv")


def test_the_text_tells_the_raw_object_every_stage_the_lineage_and_the_logs() -> None:
    trace = a_trace()

    text = text_of(trace_view(trace))

    for fact in ("input/orders/a.csv", trace.raw.process_id, "v1", "1.1.0+abc (file mode)", "10 B",
                 "1 (tracing the latest)", "processed", "Data Received", "Data Validated", "Quality Check Complete",
                 "Data Curated", "0.200 s", "10:30:00.000", "lineage: raw s3://raw-bucket/input/orders/a.csv",
                 "validated s3://processed-bucket/validated/orders/a.csv",
                 "→ table lakebox_catalog.orders", "log lines of process", "curated"):
        assert fact in text, fact
    for stage in ("ingestion", "validation", "quality", "curation"):
        assert f"{stage} " in text, stage


def test_the_text_lists_versions_and_says_when_logs_could_not_be_read() -> None:
    sources, _ = processed_lake()
    sources.logs_refused = True
    trace = gather(sources, "input/orders/a.csv")
    several = Trace(**{**trace.__dict__, "versions": [*trace.versions, trace.versions[0]]})

    text = text_of(trace_view(several))

    assert "versions of this key" in text and "2 (tracing the latest)" in text
    assert "could not read the logs: AccessDenied" in text


def test_a_log_line_reads_time_stage_level_key_message() -> None:
    line = LogLine(T0, "validation", "WARNING", "validated", "input/a.csv", "a" * 32, 0, "s")

    assert text_of(log_text(line)).strip() == "2026-01-15 10:30:00.000 validation WARNING input/a.csv  validated"
    assert "aaaaaaaa" in text_of(log_text(LogLine(T0, "quality", "INFO", "quality recorded", None, "a" * 32, 0, "s")))


def fake_target(monkeypatch: pytest.MonkeyPatch) -> None:
    names = SimpleNamespace(function=lambda stage: f"p-{stage}")
    monkeypatch.setattr(Target, "resolve", classmethod(lambda cls, project=None: SimpleNamespace(
        names=names, logs=None)))


def test_trace_json_prints_one_object(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_target(monkeypatch)
    sources, process_id = processed_lake()
    monkeypatch.setattr(LakeSources, "of", classmethod(lambda cls, target: sources))

    result = runner.invoke(cli.app, ["trace", "input/orders/a.csv", "--json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["process_id"] == process_id and len(document["stages"]) == 4


def test_an_unknown_key_says_so_on_stderr_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_target(monkeypatch)
    monkeypatch.setattr(LakeSources, "of", classmethod(lambda cls, target: FakeSources()))

    result = runner.invoke(cli.app, ["trace", "input/nope.csv"])

    assert result.exit_code == 1
    assert "no raw file 'input/nope.csv'" in result.stderr and result.stdout == ""


def test_a_process_id_with_another_version_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_target(monkeypatch)
    sources, process_id = processed_lake()
    monkeypatch.setattr(LakeSources, "of", classmethod(lambda cls, target: sources))

    assert runner.invoke(cli.app, ["trace", process_id, "--version", "v0"]).exit_code == 2


def lines(*messages: str) -> list[LogLine]:
    return [LogLine(T0 + timedelta(seconds=n), "ingestion", "INFO", m, "input/a.csv", "a" * 32, n, "s")
            for n, m in enumerate(messages)]


def test_logs_json_prints_one_object_per_line_from_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_target(monkeypatch)
    asked: list[tuple[dict[str, str], datetime]] = []

    def read(self: LogReader, start: datetime, stages: Any = None, pattern: Any = None) -> list[LogLine]:
        asked.append((self.groups, start))
        return lines("one", "two")

    monkeypatch.setattr(LogReader, "read", read)
    before = datetime.now(UTC)

    result = runner.invoke(cli.app, ["logs", "--since", "5m", "--json", "--stage", "quality"])

    assert result.exit_code == 0, result.output
    assert [json.loads(line)["message"] for line in result.stdout.splitlines()] == ["one", "two"]
    groups, start = asked[0]
    assert groups == {"quality": "/aws/lambda/p-quality"}
    assert before - timedelta(minutes=5, seconds=5) < start <= before - timedelta(minutes=5) + timedelta(seconds=5)


@pytest.mark.parametrize("args", [["--since", "ten"], ["--stage", "nope"]])
def test_logs_refuses_a_bad_window_or_stage(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    fake_target(monkeypatch)

    result = runner.invoke(cli.app, ["logs", *args])

    assert result.exit_code == 2 and "error:" in result.stderr


def test_follow_ends_cleanly_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_target(monkeypatch)
    polls = iter([lines("one"), lines("one", "two")])

    def poll(self: LogTail) -> list[LogLine]:
        try:
            return next(polls)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr(LogTail, "poll", poll)
    monkeypatch.setattr("lakebox.trace.logs.time.sleep", lambda seconds: None)

    result = runner.invoke(cli.app, ["logs", "--follow"])

    assert result.exit_code == 0, result.output
    assert "one" in result.stdout and "two" in result.stdout


def test_a_file_the_stream_batcher_wrote_says_which_shard_and_records_it_holds() -> None:
    key = "input/sensors/stream/2026/01/15/10/shardId-000000000001-4959034-4959099.jsonl"
    streamed = gather(processed_lake(key)[0], key)
    uploaded = a_trace()

    assert streamed.stream == {"shard": "shardId-000000000001", "first_sequence": "4959034",
                               "last_sequence": "4959099"}
    assert streamed.to_json()["stream"] == streamed.stream
    assert "from the stream  shardId-000000000001, records 4959034 to 4959099" in text_of(trace_view(streamed))
    # A file uploaded as a file has no stream origin, even one named like a stream object outside a stream folder.
    assert uploaded.stream is None and uploaded.to_json()["stream"] is None
    named_alike = "input/sensors/shardId-000000000001-1-2.jsonl"
    assert gather(processed_lake(named_alike)[0], named_alike).stream is None
