"""The stream batcher's settings: its bounds and hold, their defaults and limits, read from a function's environment
and from what bootstrap was asked for, and written back into the functions' environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lakebox_infra.topology import Topology
from lakebox_layer.exceptions import SettingsInvalid
from lakebox_layer.settings import ENV_NAMES, STREAM_SETTING_ENV, ResourceNames, Settings
from tests.fakes.functions import FUNCTION_ENV

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
BASE = Settings.from_names(NAMES)


def test_the_defaults_are_five_thousand_records_five_mebibytes_ten_seconds_and_no_hold() -> None:
    assert (BASE.stream_max_records, BASE.stream_max_bytes, BASE.stream_window_s, BASE.stream_hold_s) == (
        5000, 5_242_880, 10, 0)


def test_the_stream_settings_have_their_own_environment_names() -> None:
    assert {name: ENV_NAMES[name] for name in ("stream_max_records", "stream_max_bytes", "stream_window_s",
                                               "stream_hold_s")} == {
        "stream_max_records": "STREAM_MAX_RECORDS", "stream_max_bytes": "STREAM_MAX_BYTES",
        "stream_window_s": "STREAM_WINDOW_S", "stream_hold_s": "STREAM_HOLD_S"}
    # Bootstrap is asked for the bounds, never for the hold: the hold follows from what the endpoint can do.
    assert STREAM_SETTING_ENV == {"stream_max_records": "LAKEBOX_STREAM_MAX_RECORDS",
                                  "stream_max_bytes": "LAKEBOX_STREAM_MAX_BYTES",
                                  "stream_window_s": "LAKEBOX_STREAM_WINDOW_S"}


def test_an_environment_without_stream_settings_gives_the_defaults() -> None:
    settings = Settings.from_env(FUNCTION_ENV)

    assert (settings.stream_max_records, settings.stream_max_bytes, settings.stream_window_s,
            settings.stream_hold_s) == (5000, 5_242_880, 10, 0)


def test_the_stream_settings_are_read_from_the_environment_as_whole_numbers() -> None:
    env = {**FUNCTION_ENV, "STREAM_MAX_RECORDS": "250", "STREAM_MAX_BYTES": " 2048 ", "STREAM_WINDOW_S": "0",
           "STREAM_HOLD_S": "30"}

    settings = Settings.from_env(env)

    assert (settings.stream_max_records, settings.stream_max_bytes, settings.stream_window_s,
            settings.stream_hold_s) == (250, 2048, 0, 30)


def test_an_explicit_argument_wins_over_the_environment() -> None:
    env = {**FUNCTION_ENV, "STREAM_MAX_RECORDS": "250", "STREAM_HOLD_S": "30"}

    settings = Settings.from_env(env, stream_max_records=7)

    assert (settings.stream_max_records, settings.stream_hold_s) == (7, 30)


@pytest.mark.parametrize("raw", ["2.5", "ten", "", "1e3", "0x10"])
def test_a_stream_setting_that_is_not_a_whole_number_is_refused_naming_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=rf"^STREAM_WINDOW_S must be a whole number, not {raw!r}$"):
        Settings.from_env({**FUNCTION_ENV, "STREAM_WINDOW_S": raw})


@pytest.mark.parametrize(("variable", "raw", "message"), [
    ("STREAM_MAX_RECORDS", "0", "stream_max_records must be a whole number from 1 to 10000, not 0"),
    ("STREAM_MAX_RECORDS", "10001", "stream_max_records must be a whole number from 1 to 10000, not 10001"),
    ("STREAM_MAX_BYTES", "1023", "stream_max_bytes must be a whole number from 1024 to 6000000, not 1023"),
    ("STREAM_MAX_BYTES", "6000001", "stream_max_bytes must be a whole number from 1024 to 6000000, not 6000001"),
    ("STREAM_WINDOW_S", "-1", "stream_window_s must be a whole number from 0 to 300, not -1"),
    ("STREAM_WINDOW_S", "301", "stream_window_s must be a whole number from 0 to 300, not 301"),
    ("STREAM_HOLD_S", "301", "stream_hold_s must be a whole number from 0 to 300, not 301"),
])
def test_a_stream_setting_out_of_bounds_is_refused_with_its_bounds(variable: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        Settings.from_env({**FUNCTION_ENV, variable: raw})


@pytest.mark.parametrize(("name", "value"), [
    ("stream_max_records", 1), ("stream_max_records", 10_000), ("stream_max_bytes", 1024),
    ("stream_max_bytes", 6_000_000), ("stream_window_s", 0), ("stream_window_s", 300), ("stream_hold_s", 300),
])
def test_the_bounds_themselves_are_accepted(name: str, value: int) -> None:
    assert getattr(Settings.from_names(NAMES, **{name: value}), name) == value


@pytest.mark.parametrize("value", [10.0, "10", True, None])
def test_a_stream_setting_given_as_anything_but_an_int_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=rf"^stream_window_s must be a whole number from 0 to 300, not {value!r}$"):
        Settings.from_names(NAMES, stream_window_s=value)


def test_the_bootstrap_overrides_are_read_from_their_lakebox_variables_only() -> None:
    env = {"LAKEBOX_STREAM_MAX_RECORDS": "100", "LAKEBOX_STREAM_WINDOW_S": " 0", "LAKEBOX_STREAM_HOLD_S": "5",
           "STREAM_MAX_BYTES": "2048", "LAKEBOX_PROJECT": "lakebox"}

    assert Settings.bootstrap_overrides(env) == {"stream_max_records": 100, "stream_window_s": 0}
    assert Settings.bootstrap_overrides({}) == {}
    assert Settings.bootstrap_overrides({"LAKEBOX_STREAM_MAX_BYTES": "2048"}) == {"stream_max_bytes": 2048}


def test_the_bootstrap_overrides_read_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in STREAM_SETTING_ENV.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LAKEBOX_STREAM_MAX_BYTES", "4096")

    assert Settings.bootstrap_overrides() == {"stream_max_bytes": 4096}


def test_a_bootstrap_override_that_is_not_a_whole_number_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match=r"^LAKEBOX_STREAM_MAX_RECORDS must be a whole number, not '5k'$"):
        Settings.bootstrap_overrides({"LAKEBOX_STREAM_MAX_RECORDS": "5k"})


def test_a_bootstrap_override_out_of_bounds_is_refused_naming_the_variable_and_its_bounds() -> None:
    expected = r"^LAKEBOX_STREAM_WINDOW_S must be a whole number from 0 to 300, not 900: "
    with pytest.raises(SettingsInvalid, match=expected):
        Settings.bootstrap_overrides({"LAKEBOX_STREAM_WINDOW_S": "900"})


def test_the_overrides_reach_the_topologys_settings_and_every_functions_environment() -> None:
    overrides = Settings.bootstrap_overrides({"LAKEBOX_STREAM_MAX_RECORDS": "100", "LAKEBOX_STREAM_MAX_BYTES": "2048",
                                           "LAKEBOX_STREAM_WINDOW_S": "3"})
    topology = Topology(NAMES, settings_overrides=overrides)

    for function in topology.functions:
        environment = topology.function_environment(function.component)
        assert {key: environment[key] for key in ("STREAM_MAX_RECORDS", "STREAM_MAX_BYTES", "STREAM_WINDOW_S",
                                                  "STREAM_HOLD_S")} == {
            "STREAM_MAX_RECORDS": "100", "STREAM_MAX_BYTES": "2048", "STREAM_WINDOW_S": "3", "STREAM_HOLD_S": "0"}


def test_the_function_environment_carries_the_stream_settings_and_rebuilds_the_same_settings() -> None:
    settings = replace(BASE, stream_max_records=250, stream_max_bytes=2048, stream_window_s=3, stream_hold_s=3)

    environment = settings.function_environment()

    assert environment == {
        "LAKEBOX_PROJECT": "lakebox", "RAW_BUCKET": NAMES.raw_bucket, "PROCESSED_BUCKET": NAMES.processed_bucket,
        "QUARANTINE_BUCKET": NAMES.quarantine_bucket, "METADATA_TABLE": "lakebox-metadata", "EVENT_BUS": "lakebox-bus",
        "GLUE_DATABASE": "lakebox_catalog", "STREAM_MAX_RECORDS": "250", "STREAM_MAX_BYTES": "2048",
        "STREAM_WINDOW_S": "3", "STREAM_HOLD_S": "3", "LAKEBOX_ENVIRONMENT": "development",
    }
    # Lambda sets AWS_REGION itself.
    assert Settings.from_env({**environment, "AWS_REGION": "us-east-1"}) == settings


def test_the_default_function_environment_rebuilds_the_default_settings() -> None:
    environment = BASE.function_environment()

    assert (environment["STREAM_MAX_RECORDS"], environment["STREAM_MAX_BYTES"], environment["STREAM_WINDOW_S"],
            environment["STREAM_HOLD_S"]) == ("5000", "5242880", "10", "0")
    assert Settings.from_env({**environment, "AWS_REGION": "us-east-1"}) == BASE
