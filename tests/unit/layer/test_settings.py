"""Settings and derived resource names."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import replace

import pytest

from lakebox_layer.exceptions import SettingsInvalid
from lakebox_layer.settings import ENV_NAMES, ResourceNames, Settings

ACCOUNT = "000000000000"
FUNCTION_ENV = {
    "LAKEBOX_PROJECT": "lakebox",
    "AWS_REGION": "eu-west-1",
    "RAW_BUCKET": "raw-b",
    "PROCESSED_BUCKET": "processed-b",
    "QUARANTINE_BUCKET": "quarantine-b",
    "METADATA_TABLE": "lakebox-metadata",
    "EVENT_BUS": "lakebox-bus",
    "GLUE_DATABASE": "lakebox_catalog",
}


def s3_bucket_name_problems(name: str) -> list[str]:
    """The S3 general purpose bucket naming rules a derived name could break."""
    problems = []
    if not 3 <= len(name) <= 63:
        problems.append(f"length {len(name)} not in 3..63")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name):
        problems.append("characters or first/last character")
    if ".." in name:
        problems.append("adjacent periods")
    try:
        ipaddress.IPv4Address(name)
        problems.append("formatted as an IP address")
    except ValueError:
        pass
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
        problems.append("reserved prefix")
    if name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")):
        problems.append("reserved suffix")
    return problems


def buckets(names: ResourceNames) -> list[str]:
    return [names.raw_bucket, names.processed_bucket, names.quarantine_bucket]


def test_bucket_names_carry_project_account_and_region_and_are_distinct() -> None:
    names = ResourceNames("lakebox", ACCOUNT, "us-east-1")
    for bucket in buckets(names):
        assert bucket.startswith("lakebox-")
        assert ACCOUNT in bucket
        assert bucket.endswith("us-east-1")
        assert bucket == bucket.lower()
        assert s3_bucket_name_problems(bucket) == []
    assert len(set(buckets(names))) == 3
    assert "raw" in names.raw_bucket
    assert "processed" in names.processed_bucket
    assert "quarantine" in names.quarantine_bucket


def test_names_differ_per_account_and_region() -> None:
    here = ResourceNames("lakebox", ACCOUNT, "us-east-1")
    assert set(buckets(here)).isdisjoint(buckets(ResourceNames("lakebox", "111111111111", "us-east-1")))
    assert set(buckets(here)).isdisjoint(buckets(ResourceNames("lakebox", ACCOUNT, "eu-west-1")))


def test_other_names() -> None:
    names = ResourceNames("data-lake", ACCOUNT, "us-east-1")
    assert names.metadata_table == "data-lake-metadata"
    assert names.event_bus == "data-lake-bus"
    assert names.function("ingestion") == "data-lake-ingestion"
    assert names.function_role("quality") == "data-lake-quality-role"
    assert names.rule("validation") == "data-lake-validation-rule"
    # Glue database names allow no '-'.
    assert names.glue_database == "data_lake_catalog"


@pytest.mark.parametrize(
    ("project", "region"),
    [
        ("lakebox", "us-east-1"),
        ("lakebox", "ap-southeast-2"),
        ("abc", "us-gov-west-1"),
        pytest.param("a" * 24, "ap-southeast-2", id="24-chars-longest-region"),
        # The longest project name the validator accepts.
        pytest.param("a" * 32, "us-east-1", id="32-chars"),
        # Accepted by the validator, but S3 reserves the "xn--" prefix for bucket names.
        pytest.param("xn--lake", "us-east-1", id="xn-prefix"),
    ],
)
def test_every_accepted_project_name_gives_valid_bucket_names(project: str, region: str) -> None:
    try:
        names = ResourceNames(project, ACCOUNT, region)
    except ValueError:
        return  # rejecting the project is as good as deriving valid names
    assert {bucket: s3_bucket_name_problems(bucket) for bucket in buckets(names)} == {
        bucket: [] for bucket in buckets(names)
    }


@pytest.mark.parametrize(
    "project",
    ["", "ab", "a" * 33, "Lakebox", "1lake", "-lake", "lake-", "lake_box", "lake.box", "lake box", "läke"],
)
def test_invalid_project_names_are_rejected(project: str) -> None:
    with pytest.raises(ValueError, match="project name"):
        ResourceNames(project, ACCOUNT, "us-east-1")


def test_from_env_reads_every_setting() -> None:
    settings = Settings.from_env(FUNCTION_ENV)
    assert settings == Settings(
        project="lakebox", region="eu-west-1", raw_bucket="raw-b", processed_bucket="processed-b",
        quarantine_bucket="quarantine-b", metadata_table="lakebox-metadata", event_bus="lakebox-bus",
        glue_database="lakebox_catalog",
        endpoint_url=None,
    )


def test_quality_threshold_is_no_longer_a_setting() -> None:
    # Thresholds come from each dataset's contract; a stale QUALITY_THRESHOLD in the environment changes nothing.
    assert not hasattr(Settings.from_env(FUNCTION_ENV), "quality_threshold")
    assert "quality_threshold" not in ENV_NAMES
    assert Settings.from_env({**FUNCTION_ENV, "QUALITY_THRESHOLD": "85.5"}) == Settings.from_env(FUNCTION_ENV)
    names = ResourceNames("lakebox", ACCOUNT, "us-east-1")
    assert "QUALITY_THRESHOLD" not in Settings.from_names(names).function_environment()
    with pytest.raises(TypeError):
        Settings.from_names(names, quality_threshold=80.0)


def test_from_env_defaults() -> None:
    env = {k: v for k, v in FUNCTION_ENV.items() if k != "AWS_REGION"}
    settings = Settings.from_env(env)
    assert settings.region == "us-east-1"
    assert settings.endpoint_url is None
    assert Settings.from_env({**env, "AWS_DEFAULT_REGION": "eu-central-1"}).region == "eu-central-1"
    # AWS_REGION wins over AWS_DEFAULT_REGION.
    assert Settings.from_env({**FUNCTION_ENV, "AWS_DEFAULT_REGION": "eu-central-1"}).region == "eu-west-1"


def test_from_env_overrides_win() -> None:
    settings = Settings.from_env(FUNCTION_ENV, raw_bucket="explicit", endpoint_url="http://localhost:4566")
    assert settings.raw_bucket == "explicit"
    assert settings.endpoint_url == "http://localhost:4566"


def test_from_env_missing_variables_are_all_named() -> None:
    env = {k: v for k, v in FUNCTION_ENV.items() if k not in {"RAW_BUCKET", "EVENT_BUS"}}
    with pytest.raises(SettingsInvalid) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert "RAW_BUCKET" in message
    assert "EVENT_BUS" in message
    assert "PROCESSED_BUCKET" not in message


def test_from_env_missing_variable_can_be_supplied_as_override() -> None:
    env = {k: v for k, v in FUNCTION_ENV.items() if k != "RAW_BUCKET"}
    assert Settings.from_env(env, raw_bucket="given").raw_bucket == "given"


def test_from_env_does_not_read_the_process_environment_when_given_a_mapping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAW_BUCKET", "from-os-environ")
    assert Settings.from_env(FUNCTION_ENV).raw_bucket == "raw-b"


@pytest.mark.parametrize(
    "settings",
    [
        Settings.from_names(ResourceNames("lakebox", ACCOUNT, "us-east-1")),
        Settings.from_names(ResourceNames("lakebox", ACCOUNT, "eu-west-1"), endpoint_url="http://127.0.0.1:4566"),
    ],
    ids=["defaults", "endpoint"],
)
def test_function_environment_round_trips_through_from_env(settings: Settings) -> None:
    environment = settings.function_environment()
    assert "AWS_REGION" not in environment
    assert "AWS_ENDPOINT_URL" not in environment
    assert all(isinstance(value, str) for value in environment.values())
    # Lambda sets AWS_REGION itself; the endpoint is injected by whoever runs the function, not by bootstrap.
    rebuilt = Settings.from_env({**environment, "AWS_REGION": settings.region})
    assert rebuilt == replace(settings, endpoint_url=None)


def test_from_names_uses_the_derived_names() -> None:
    names = ResourceNames("lakebox", ACCOUNT, "us-east-1")
    settings = Settings.from_names(names)
    assert (settings.raw_bucket, settings.processed_bucket, settings.quarantine_bucket) == tuple(buckets(names))
    assert settings.metadata_table == names.metadata_table
    assert settings.event_bus == names.event_bus
    assert settings.region == "us-east-1"


def test_the_lakes_environment_is_development_unless_bootstrap_is_told_production() -> None:
    assert Settings.from_env(FUNCTION_ENV).environment == "development"
    assert not Settings.from_env(FUNCTION_ENV).production
    told = Settings.from_env({**FUNCTION_ENV, "LAKEBOX_ENVIRONMENT": "production"})
    assert told.production
    assert Settings.bootstrap_overrides({"LAKEBOX_ENVIRONMENT": "staging"}) == {"environment": "staging"}


@pytest.mark.parametrize(("variable", "value", "says"), [
    ("LAKEBOX_ENVIRONMENT", "Prod Env", "LAKEBOX_ENVIRONMENT must be a lowercase word"),
    ("LAKEBOX_RAW_NONCURRENT_DAYS", "0", "LAKEBOX_RAW_NONCURRENT_DAYS must be a whole number from 1 to 3650"),
    ("LAKEBOX_QUARANTINE_DAYS", "a week", "LAKEBOX_QUARANTINE_DAYS must be a whole number, not 'a week'"),
])
def test_a_bad_bootstrap_setting_is_refused_naming_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(SettingsInvalid, match=says):
        Settings.bootstrap_overrides({variable: value})


def test_retention_is_bootstraps_and_never_reaches_a_function() -> None:
    overrides = Settings.bootstrap_overrides({"LAKEBOX_RAW_NONCURRENT_DAYS": "7", "LAKEBOX_QUARANTINE_DAYS": "90"})
    settings = Settings.from_names(ResourceNames("lakebox", "000000000000", "us-east-1"), **overrides)

    assert (settings.raw_noncurrent_days, settings.quarantine_days) == (7, 90)
    assert not {name for name in settings.function_environment() if "DAYS" in name}


def test_the_personal_data_keys_and_the_steward_are_named_after_the_project() -> None:
    names = ResourceNames("lake-one", "000000000000", "us-east-1")
    settings = Settings.from_names(names)

    assert (names.pii_key_alias, names.pii_token_key_alias, names.steward) == (
        "alias/lake-one-pii", "alias/lake-one-pii-tokens", "lake-one-steward")
    assert (settings.pii_key_alias, settings.pii_token_key_alias) == (names.pii_key_alias, names.pii_token_key_alias)


# -- Lake Formation (opt-in) ----------------------------------------------------------------------------------------


def test_lake_formation_is_off_unless_bootstrap_is_told_1() -> None:
    assert not Settings.from_env(FUNCTION_ENV).lake_formation
    assert Settings.bootstrap_overrides({}) == {}
    assert Settings.bootstrap_overrides({"LAKEBOX_LAKE_FORMATION": "1"}) == {"lake_formation": True}
    for off in ("0", "", " 0 "):
        assert Settings.bootstrap_overrides({"LAKEBOX_LAKE_FORMATION": off}) == {"lake_formation": False}


@pytest.mark.parametrize("value", ["true", "yes", "2", "on"])
def test_a_lake_formation_switch_other_than_1_or_0_is_refused_naming_its_variable(value: str) -> None:
    says = f"LAKEBOX_LAKE_FORMATION must be 1 \\(on\\) or 0 \\(off\\), not '{value}'"
    with pytest.raises(SettingsInvalid, match=says):
        Settings.bootstrap_overrides({"LAKEBOX_LAKE_FORMATION": value})
    with pytest.raises(SettingsInvalid, match=says):
        Settings.from_env({**FUNCTION_ENV, "LAKEBOX_LAKE_FORMATION": value})


def test_the_functions_learn_lake_formation_is_on_and_only_when_it_is() -> None:
    names = ResourceNames("lakebox", ACCOUNT, "us-east-1")
    on = Settings.from_names(names, **Settings.bootstrap_overrides({"LAKEBOX_LAKE_FORMATION": "1"}))
    off = Settings.from_names(names)

    assert on.function_environment()["LAKEBOX_LAKE_FORMATION"] == "1"
    assert "LAKEBOX_LAKE_FORMATION" not in off.function_environment()
    for settings in (on, off):
        rebuilt = Settings.from_env({**settings.function_environment(), "AWS_REGION": "us-east-1"})
        assert rebuilt == settings and rebuilt.lake_formation is settings.lake_formation
    assert ENV_NAMES["lake_formation"] == "LAKEBOX_LAKE_FORMATION"
