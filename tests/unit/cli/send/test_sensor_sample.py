"""The sensor sample of `lakebox send --sample sensors`: deterministic, with known bad readings and poison lines."""

from __future__ import annotations

import io
import json

import pytest

from lakebox.send.sensor_sample import BAD_EMAIL, MISSING_TIMESTAMP, sensor_sample
from lakebox_infra import PROJECT_ROOT
from lakebox_layer.contracts import parse_contract
from lakebox_layer.exceptions import NotAJsonObject
from lakebox_layer.records import FileFormat
from lakebox_layer.rules import RecordJudge
from lakebox_layer.stream_puts import read_json_lines

DEFAULT = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "default.json").read_text()))
SAMPLE_DATA = PROJECT_ROOT / "sample_data"


def test_the_same_seed_gives_the_same_sample_and_another_seed_another() -> None:
    first = sensor_sample(200, seed=7, invalid_every=9, poison_every=50)
    assert first == sensor_sample(200, seed=7, invalid_every=9, poison_every=50)
    assert list(first.json_lines()) == list(sensor_sample(200, seed=7, invalid_every=9, poison_every=50).json_lines())
    assert first.readings != sensor_sample(200, seed=8, invalid_every=9, poison_every=50).readings


def test_the_report_counts_what_the_sample_holds() -> None:
    sample = sensor_sample(100, seed=1, invalid_every=10, poison_every=25)
    report = sample.report()
    assert (report.readings, report.valid, report.invalid, report.poison) == (100, 90, 10, 4)
    assert report.invalid_by_kind == {BAD_EMAIL: 5, MISSING_TIMESTAMP: 5}
    assert report.to_json()["invalid_by_kind"] == {BAD_EMAIL: 5, MISSING_TIMESTAMP: 5}
    assert sorted(sample.invalid) == list(range(9, 100, 10))
    assert len(list(sample.json_lines())) == 104


def test_no_bad_readings_unless_asked() -> None:
    report = sensor_sample(50).report()
    assert (report.valid, report.invalid, report.poison) == (50, 0, 0)


def test_a_reading_has_the_shape_of_the_recipe_sample() -> None:
    (reading,) = sensor_sample(1, seed=3).readings
    recipe = json.loads((SAMPLE_DATA / "sensor-valid.json").read_text())
    assert {"id", "timestamp", "data", "email"} <= recipe.keys()
    assert reading.keys() == {"id", "timestamp", "data", "email"}
    assert reading["data"].keys() == {"sensor", "celsius", "humidity"}
    assert isinstance(reading["data"]["celsius"], float) and 0 <= reading["data"]["humidity"] <= 100
    assert reading["id"] == "reading-000001" and reading["timestamp"] == "2026-01-01T00:00:01Z"


def test_valid_readings_pass_the_default_contract_and_invalid_ones_break_it_as_said() -> None:
    sample = sensor_sample(60, seed=2, invalid_every=6)
    judge = RecordJudge(DEFAULT, FileFormat.JSON_LINES)
    assert all(judge.judge(r) == [] for r in sample.valid_readings())
    broken = {kind: {v.field for v in judge.judge(r)} for r, kind in sample.invalid_readings()}
    assert broken[BAD_EMAIL] == {"email"}
    assert any("timestamp" in field for field in broken[MISSING_TIMESTAMP])


def test_poison_lines_follow_their_reading_and_are_refused_by_the_reader() -> None:
    sample = sensor_sample(10, seed=0, poison_every=4)
    lines = list(sample.json_lines())
    assert [n for n, _ in sample.poison] == [4, 8]
    assert lines[4].rstrip("\n") == sample.poison[0][1]
    with pytest.raises(NotAJsonObject, match="line 5"):
        list(read_json_lines(io.StringIO("".join(lines))))
    readable = [line for i, line in enumerate(lines) if i not in (4, 9)]
    assert list(read_json_lines(io.StringIO("".join(readable)))) == list(sample.readings)


def test_every_poison_line_is_refused_by_the_reader() -> None:
    sample = sensor_sample(16, poison_every=4)
    for _, line in sample.poison:
        with pytest.raises(NotAJsonObject):
            list(read_json_lines(io.StringIO(line + "\n")))


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        sensor_sample(-1)
    with pytest.raises(ValueError, match="invalid_every"):
        sensor_sample(1, invalid_every=-2)
