"""`lakebox demo`'s work: ingest sample_data/, wait for every file's outcome, read the quality metrics back,
compare each outcome with sample_data/expected.json, wait for the processed files' curation and query the result (the
orders, then the members' protected personal data); then stream sensor readings through the ingest stream and check
where each one ended."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lakebox.ingest.outcomes import wait_for_metrics, wait_for_outcomes
from lakebox.ingest.uploads import upload
from lakebox.lake.athena import QueryResult, run_query
from lakebox.lake.metrics import QualityFigures
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox.send.entries import Sent, sample_entries, send_entries
from lakebox.send.landing import Landed, wait_for_landing
from lakebox.send.sensor_sample import SampleReport, sensor_sample
from lakebox_infra import PROJECT_ROOT
from lakebox_layer.records import DEFAULT_DATASET, FileStatus
from lakebox_layer.registry import Stage
from lakebox_layer.status import FileRow

SAMPLE_DATA = PROJECT_ROOT / "sample_data"
OUTCOMES_DEADLINE_S = 180.0
CURATION_DEADLINE_S = 120.0
# Orders per currency and day over what this run curated, in SQL that DuckDB (local) and Athena (AWS) both run.
DEMO_QUERY = ("SELECT currency, CAST(ordered_at AS DATE) AS day, COUNT(*) AS orders, SUM(amount) AS amount "
              "FROM orders WHERE _ingested_at >= TIMESTAMP '{since}' "
              "GROUP BY currency, CAST(ordered_at AS DATE) ORDER BY currency, day")
# The members' personal data as the curated zone holds it: the email the contract declares and the phone, IBAN and card
# it does not (which validation found) are all protected: masks outside production (ciphertext in it), and tokens.
MEMBERS_QUERY = ("SELECT member_id, tier, email, substr(email_token, 1, 12) AS email_token, phone, iban, card "
                 "FROM members WHERE _ingested_at >= TIMESTAMP '{since}' ORDER BY member_id")
# The streamed part: readings of the sensors dataset, one in ten breaking its contract, a malformed line after every
# 250th (as `lakebox send --sample sensors --count 1000 --invalid-every 10 --poison-every 250`).
STREAM_READINGS, STREAM_INVALID_EVERY, STREAM_POISON_EVERY = 1_000, 10, 250
STREAM_DATASET = "sensors"


@dataclass(frozen=True)
class DemoResult:
    """One demo run: each sample file's outcome, what it should have been, how long it took, and when it began
    (the start of the metrics' window)."""

    rows: list[FileRow]
    expected: dict[str, str]
    elapsed_s: float
    started_at: datetime

    @property
    def unexpected(self) -> list[str]:
        """Raw keys whose status is not the one sample_data/expected.json names."""
        return [row.key for row in self.rows if row.status.value != self.expected.get(row.key)]


def expected_outcomes(sample_data: Path = SAMPLE_DATA) -> dict[str, str]:
    """Each sample file's path inside `sample_data` with the terminal status it should reach."""
    files: dict[str, str] = json.loads((sample_data / "expected.json").read_text())["files"]
    return files


def run_demo(target: Target, sample_data: Path = SAMPLE_DATA, deadline_s: float = OUTCOMES_DEADLINE_S,
             say: Callable[[str], None] | None = None) -> DemoResult:
    """Upload every sample file to the default dataset of `target` and wait for their outcomes."""
    expected_by_name = expected_outcomes(sample_data)
    files = [(sample_data / name, name) for name in sorted(expected_by_name)]
    # CloudWatch's window starts before the first upload, so every datapoint of this run falls in it.
    started_at = datetime.now(UTC)
    started = time.monotonic()
    uploads = upload(target, files, DEFAULT_DATASET)
    if say is not None:
        say(f"uploaded {len(uploads)} sample files; waiting for their outcomes")
    by_process = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=deadline_s)
    elapsed = time.monotonic() - started
    expected = {u.raw.key: expected_by_name[u.path.relative_to(sample_data).as_posix()] for u in uploads}
    rows = sorted(by_process.values(), key=lambda row: row.key)
    return DemoResult(rows, expected, elapsed, started_at)


def demo_metrics(target: Target, result: DemoResult) -> QualityFigures:
    """The quality metrics of the demo's files, read back from CloudWatch once every datapoint has arrived."""
    return wait_for_metrics(target, result.started_at, len(result.rows))


def wait_for_curation(target: Target, result: DemoResult, deadline_s: float = CURATION_DEADLINE_S) -> None:
    """Wait until every processed file of the run has its curation recorded."""
    waiting = {row.process_id: row.key for row in result.rows if row.status is FileStatus.PROCESSED}

    def curated() -> bool:
        for process_id in list(waiting):
            if any(r["Stage"] == Stage.CURATION.value for r in target.metadata.stage_records(process_id)):
                del waiting[process_id]
        return not waiting

    wait_until(curated, deadline_s=deadline_s, interval_s=0.2, what="the processed sample files' curation",
               on_timeout=lambda: f"; not curated yet: {', '.join(sorted(waiting.values()))}")


def demo_query(result: DemoResult, sql: str = DEMO_QUERY) -> str:
    """One of the demo's queries (the orders by default), limited to rows this run ingested."""
    return sql.format(since=result.started_at.strftime("%Y-%m-%d %H:%M:%S"))


def query_curated(target: Target, result: DemoResult, sql: str = DEMO_QUERY) -> QueryResult:
    """Wait for the run's curation, then run one of the demo's queries through Athena."""
    wait_for_curation(target, result)
    return run_query(target, demo_query(result, sql))


def next_steps(result: DemoResult) -> list[str]:
    """The demo's closing lines: how to follow one quarantined sample file through the lake, and how to open the
    data docs."""
    quarantined = [row.key for row in result.rows if row.status is FileStatus.QUARANTINED]
    example = quarantined[0] if quarantined else result.rows[0].key if result.rows else "input/<file>"
    return [
        "next:",
        f"  lakebox trace {shlex.quote(example)}    what happened to a quarantined sample file, stage by stage",
        "  lakebox docs --open    the data docs (datasets, quality over time, quarantines) in your browser",
        "  lakebox producer add NAME --dataset D    a key for a system outside the lake (docs/ingestion-api.md)",
        "  lakebox send --sample sensors --count 10000 --wait    stream 10,000 sensor readings through the lake",
    ]


@dataclass(frozen=True)
class StreamDemo:
    """The streamed part of a demo run: what was sent, what the sample holds, and where it all ended."""

    sent: Sent
    sample: SampleReport
    landed: Landed

    @property
    def unexpected(self) -> list[str]:
        """How the outcome differs from the sample: every reading in a processed file, the invalid ones set aside
        there, and the malformed lines in the stream's quarantine."""
        rows = [row for _, row in self.landed.files]
        found = {"readings in raw files": sum(row.records_total or 0 for row in rows),
                 "invalid readings": sum(row.records_invalid or 0 for row in rows),
                 "malformed records set aside": self.landed.poison_records}
        wanted = {"readings in raw files": self.sample.readings, "invalid readings": self.sample.invalid,
                  "malformed records set aside": self.sample.poison}
        problems = [f"{what}: {found[what]}, expected {wanted[what]}" for what in wanted if found[what] != wanted[what]]
        problems.extend(f"{row.key} is {row.status.value}" for row in rows if row.status is not FileStatus.PROCESSED)
        return problems

    def summary(self) -> str:
        files = len(self.landed.files)
        return (f"{self.sample.readings} readings streamed into {files} raw file(s): {self.sample.valid} valid, "
                f"{self.sample.invalid} quarantined with their errors, {self.landed.poison_records} malformed "
                f"record(s) set aside")


def stream_demo(target: Target, deadline_s: float = OUTCOMES_DEADLINE_S) -> StreamDemo:
    """Send the demo's sensor readings to the ingest stream and wait until each raw file they became is terminal."""
    sample = sensor_sample(STREAM_READINGS, invalid_every=STREAM_INVALID_EVERY, poison_every=STREAM_POISON_EVERY)
    report = sample.report()
    sent = send_entries(target, sample_entries(sample, STREAM_DATASET), STREAM_DATASET, sample=report.to_json())
    return StreamDemo(sent, report, wait_for_landing(target, sent, deadline_s=deadline_s))
