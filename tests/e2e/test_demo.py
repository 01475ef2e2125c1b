"""`lakebox demo` on its own embedded emulator: every sample file ends as sample_data/expected.json says, and the
quality metrics are read back from CloudWatch and shown."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakebox.cli import app
from lakebox.demo.samples import SAMPLE_DATA, demo_metrics, expected_outcomes, run_demo
from lakebox.emulator.embedded import EmbeddedEmulator
from lakebox.lake.bringup import bring_up
from lakebox.lake.render import metrics_table, outcomes_table
from lakebox_layer.adapters.metrics import AVERAGE_SCORE, PROCESSED_RECORDS, SUCCESS_RATE

EXPECTED = {f"input/{name}": status for name, status in expected_outcomes().items()}


@pytest.fixture(scope="module")
def demo_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state directory of its own: the demo uploads into the default dataset of whatever emulator it reaches,
    so it starts one here, never the session's. Whatever it started is stopped afterwards."""
    state_dir = tmp_path_factory.mktemp("demo-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAKEBOX_STATE_DIR", str(state_dir))
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        try:
            yield state_dir
        finally:
            EmbeddedEmulator(state_dir).stop()


def test_the_expected_outcomes_name_every_sample_file() -> None:
    samples = {path.relative_to(SAMPLE_DATA).as_posix() for path in SAMPLE_DATA.rglob("*")
               if path.is_file() and path.name not in {"expected.json", "README.md"}}

    assert set(expected_outcomes()) == samples
    assert set(EXPECTED.values()) == {"processed", "quarantined"}


def test_lakebox_demo_shows_every_outcome_as_expected_and_the_metrics(demo_state: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--port", "0"])

    assert result.exit_code == 0, result.output
    recorded = EmbeddedEmulator(demo_state).state()
    assert recorded is not None, "the demo started (or reused) the embedded emulator in its own state directory"
    assert os.environ["LAKEBOX_STATE_DIR"] == str(demo_state)
    out = result.stdout
    # The outcomes table's last column; not a bare count of "yes", which a masked value may hold too.
    assert len(re.findall(r"│ yes +│[ \t]*$", out, re.MULTILINE)) == len(EXPECTED), out
    assert "no:" not in out
    assert f"{len(EXPECTED)} files reached a terminal status in" in out
    for metric in (SUCCESS_RATE, AVERAGE_SCORE, PROCESSED_RECORDS):
        assert metric in out
    assert "no datapoints" not in out
    assert "every sample file ended where sample_data/README.md says it should" in out
    # It ends with a query over the curated orders: one row per currency and day, six orders in all.
    assert out.index("every sample file ended") < out.index("$ lakebox query")
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.count("│") == 5]
    assert rows == [["EUR", "2026-01-02", "1", "19.99"], ["EUR", "2026-01-05", "1", "7.25"],
                    ["EUR", "2026-01-06", "1", "88.0"], ["GBP", "2026-01-03", "1", "120.5"],
                    ["USD", "2026-01-02", "1", "5.0"], ["USD", "2026-01-07", "1", "15.0"]]
    # Then the members' personal data as curated: the declared email and the undeclared phone, IBAN and card all
    # masked (the demo's lake is not production), with the email's token; the same person masks and tokens alike.
    members = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines() if line.count("│") == 8]
    assert [row[:2] for row in members] == [["1", "gold"], ["2", "silver"], ["3", "silver"], ["4", "gold"],
                                           ["5", "bronze"]], out
    originals = (SAMPLE_DATA / "members" / "members-2026-01.csv").read_text().splitlines()[1:]
    for line, row in zip(originals, members, strict=True):
        email, phone, iban, card = line.split(",")[1:5]
        assert row[2] != email and row[2].count("@") == 1 and row[2].endswith(email[email.rindex("."):])
        assert re.fullmatch(r"[0-9a-f]{12}", row[3]), row
        assert (row[4], row[5], row[6]) != (phone, iban, card) and row[6][-4:] == card[-4:]
        assert all(value not in out for value in (email, phone, iban, card))
    assert members[0][2:6] == members[4][2:6], "equal values give equal masks and tokens"
    # Then it streams sensor readings: every one lands, the invalid ones quarantined, the malformed set aside.
    streamed = out.index("1000 readings streamed into ")
    assert out.index("5 rows") < streamed
    assert "900 valid, 100 quarantined with their errors, 4 malformed record(s) set aside" in out[streamed:]
    assert "poison: 4 record(s) set aside in the quarantine bucket" in out[streamed:]
    sent_to_api = out.index("$ curl -X POST ")
    files = [line for line in out[streamed:sent_to_api].splitlines() if line.startswith("processed ")]
    assert files and all("input/sensors/stream/" in line for line in files)
    # Then three records through the ingestion API with a producer's own key, and the raw file they landed in; the
    # key itself is never printed.
    api_part = out[sent_to_api:]
    assert re.search(r'^202 \{"dataset":"webhook_events","accepted":3,', api_part, re.MULTILINE), api_part
    assert re.search(r"^processed +input/webhook_events/stream/\S+\.jsonl$", api_part, re.MULTILINE), api_part
    assert "Bearer lbk_..." in api_part and not re.search(r"lbk_[A-Za-z0-9_-]{43}", result.output)
    # And it tells how to go on: trace the first quarantined sample file, open the data docs, stream more.
    closing = out[streamed:]
    first_quarantined = min(key for key, status in EXPECTED.items() if status == "quarantined")
    assert f"lakebox trace {first_quarantined} " in closing
    assert "lakebox docs --open    the data docs (datasets, quality over time, quarantines) in your browser" in closing
    assert out.rstrip().endswith("lakebox send --sample sensors --count 10000 --wait    stream 10,000 sensor "
                                 "readings through the lake")


def test_run_demo_returns_each_outcome_and_the_metrics(demo_state: Path) -> None:
    target = bring_up(0)
    said: list[str] = []

    result = run_demo(target, deadline_s=180, say=said.append)
    metrics = demo_metrics(target, result)

    assert result.expected == EXPECTED
    assert {row.key: row.status.value for row in result.rows} == EXPECTED
    assert result.unexpected == []
    assert all(row.errors for row in result.rows if row.status.value == "quarantined")
    assert result.elapsed_s > 0
    processed = [row for row in result.rows if row.status.value == "processed"]
    # At least this run's files (an earlier run in the same minute may add its own to the window).
    assert metrics.files >= len(EXPECTED)
    assert metrics.success_rate is not None and 0 < metrics.success_rate <= 100
    assert metrics.average_score is not None and 0 < metrics.average_score <= 100
    assert metrics.records is not None and metrics.records >= len(processed)
    assert said and "uploaded" in said[0]

    outcomes = outcomes_table(result.rows, result.expected)
    assert outcomes.row_count == len(EXPECTED)
    assert [column.header for column in outcomes.columns][-1] == "expected"
    table = metrics_table(metrics)
    values = list(table.columns[1].cells)
    assert values[0] == f"{metrics.success_rate:.1f} %"
    assert values[2] == f"{metrics.records:.1f}"
