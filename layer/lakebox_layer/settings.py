"""One settings object: resource names, region and endpoint, resolved once.

Resolution order is explicit argument, then environment, then default. Names are derived deterministically from a
project name, account and region, so bootstrap, the functions and the CLI agree on them without sharing state.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from lakebox_layer.exceptions import SettingsInvalid

DEFAULT_PROJECT = "lakebox"
DEFAULT_REGION = "us-east-1"
_MAX_BUCKET_NAME = 63
_PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")

# Environment variable names the functions receive from bootstrap.
ENV_NAMES = {
    "project": "LAKEBOX_PROJECT",
    "region": "AWS_REGION",
    "raw_bucket": "RAW_BUCKET",
    "processed_bucket": "PROCESSED_BUCKET",
    "quarantine_bucket": "QUARANTINE_BUCKET",
    "metadata_table": "METADATA_TABLE",
    "event_bus": "EVENT_BUS",
    "glue_database": "GLUE_DATABASE",
    "endpoint_url": "AWS_ENDPOINT_URL",
    "stream_max_records": "STREAM_MAX_RECORDS",
    "stream_max_bytes": "STREAM_MAX_BYTES",
    "stream_window_s": "STREAM_WINDOW_S",
    "stream_hold_s": "STREAM_HOLD_S",
    "environment": "LAKEBOX_ENVIRONMENT",
    "lake_formation": "LAKEBOX_LAKE_FORMATION",
    "healer": "LAKEBOX_HEALER",
}
# The stream batcher's bounds, each with its default: how many records and bytes one raw object holds at most, and
# how long the stream's records wait to be batched (the mapping's batching window).
STREAM_DEFAULTS = {"stream_max_records": 5_000, "stream_max_bytes": 5 * 1024 * 1024, "stream_window_s": 10}
# Where bootstrap (`lakebox up`, infra/bootstrap.py) reads other bounds from.
STREAM_SETTING_ENV = {name: f"LAKEBOX_{ENV_NAMES[name]}" for name in STREAM_DEFAULTS}
# Bounds the batcher itself accepts (Lambda hands a function at most 10,000 Kinesis records and 6 MB a batch; a
# batching window is at most 300 s).
STREAM_LIMITS = {"stream_max_records": (1, 10_000), "stream_max_bytes": (1024, 6 * 1000 * 1000),
                 "stream_window_s": (0, 300), "stream_hold_s": (0, 300)}
# How many days S3 keeps what lifecycle rules expire: raw versions once overwritten (the current version stays), and
# quarantined files with their reports. Bootstrap's settings only; the functions do not need them.
RETENTION_DEFAULTS = {"raw_noncurrent_days": 30, "quarantine_days": 30}
RETENTION_LIMITS = {name: (1, 3650) for name in RETENTION_DEFAULTS}
WHOLE_NUMBER_LIMITS = {**STREAM_LIMITS, **RETENTION_LIMITS}
# Only a production lake stores reversible ciphertext of personal data; any other masks it (see
# lakebox_layer.protection).
PRODUCTION = "production"
DEFAULT_ENVIRONMENT = "development"
# Lake Formation's tags and grants (see lakebox_infra.lake_formation) change an account's permission model: only
# `LAKEBOX_LAKE_FORMATION=1` turns them on ("0" or empty leaves them off).
SWITCH_ON, SWITCH_OFF = "1", "0"
# What bootstrap (`lakebox up`, infra/bootstrap.py) reads from the caller's environment, by setting.
BOOTSTRAP_SETTING_ENV = {**STREAM_SETTING_ENV, "environment": "LAKEBOX_ENVIRONMENT",
                         **{name: f"LAKEBOX_{name.upper()}" for name in RETENTION_DEFAULTS},
                         "lake_formation": "LAKEBOX_LAKE_FORMATION", "healer": "LAKEBOX_HEALER"}
# Switches bootstrap reads (see SWITCH_ON) that the functions do not need.
BOOTSTRAP_SWITCHES = ("lake_formation", "healer")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# The alerts topic's ARN, in the healer's environment only (it publishes the circuits' changes there).
ALERTS_TOPIC_ENV = "ALERTS_TOPIC_ARN"


def function_name(project: str, stage: str) -> str:
    return f"{project}-{stage}"


def stage_queue_name(project: str, stage: str) -> str:
    """The queue in front of a stage's function."""
    return f"{project}-{stage}-queue"


def dead_letter_queue_name(project: str) -> str:
    return f"{project}-dead-letters"


def ingest_stream_name(project: str) -> str:
    return f"{project}-ingest"


def pii_key_alias(project: str) -> str:
    """The KMS key that wraps the data keys of personal data (curation generates them; the steward decrypts)."""
    return f"alias/{project}-pii"


def pii_token_key_alias(project: str) -> str:
    """The KMS HMAC key every dataset's token key is derived from (see lakebox_layer.adapters.keys)."""
    return f"alias/{project}-pii-tokens"


@dataclass(frozen=True)
class ResourceNames:
    """Every name in the topology, derived from the project, account and region."""

    project: str
    account: str
    region: str

    def __post_init__(self) -> None:
        if not _PROJECT_NAME.match(self.project) or self.project.startswith("xn--"):
            raise SettingsInvalid(
                f"project name {self.project!r} must be 3-32 characters of lowercase letters, digits and '-', "
                "not starting with 'xn--' (LAKEBOX_PROJECT, or bootstrap's --project)"
            )
        longest = max((self.raw_bucket, self.processed_bucket, self.quarantine_bucket), key=len)
        if len(longest) > _MAX_BUCKET_NAME:
            raise SettingsInvalid(
                f"project name {self.project!r} is too long for {self.region}: bucket {longest!r} would have "
                f"{len(longest)} characters, S3 allows {_MAX_BUCKET_NAME}"
            )

    @classmethod
    def check(cls, project: str, region: str) -> None:
        """Refuse a project name that cannot name the topology in `region` (SettingsInvalid), before anything
        starts: every account id has 12 digits, so whether the names fit does not depend on which account."""
        cls(project, "0" * 12, region)

    @property
    def pii_key_alias(self) -> str:
        return pii_key_alias(self.project)

    @property
    def pii_token_key_alias(self) -> str:
        return pii_token_key_alias(self.project)

    @property
    def steward(self) -> str:
        """The IAM user allowed to reveal personal data (`lakebox query --reveal`)."""
        return f"{self.project}-steward"

    def _bucket(self, role: str) -> str:
        # Bucket names are global on AWS: account and region make them unique without a random suffix.
        return f"{self.project}-{role}-{self.account}-{self.region}"

    @property
    def raw_bucket(self) -> str:
        return self._bucket("raw")

    @property
    def processed_bucket(self) -> str:
        return self._bucket("processed")

    @property
    def quarantine_bucket(self) -> str:
        return self._bucket("quarantine")

    @property
    def metadata_table(self) -> str:
        return f"{self.project}-metadata"

    @property
    def event_bus(self) -> str:
        return f"{self.project}-bus"

    @property
    def layer(self) -> str:
        return f"{self.project}-shared"

    @property
    def glue_database(self) -> str:
        return f"{self.project.replace('-', '_')}_catalog"

    # The crawler and its role are retired (curation owns the tables); the names remain so bootstrap can remove
    # what earlier versions created.
    @property
    def glue_crawler(self) -> str:
        return f"{self.project}-crawler"

    @property
    def glue_role(self) -> str:
        return f"{self.project}-glue-role"

    @property
    def athena_workgroup(self) -> str:
        return f"{self.project}-workgroup"

    @property
    def dead_letter_queue(self) -> str:
        return dead_letter_queue_name(self.project)

    @property
    def quality_events_queue(self) -> str:
        return f"{self.project}-quality-events"

    @property
    def ingest_stream(self) -> str:
        """The Kinesis stream `lakebox send` and the ingestion API put records to; the batcher writes raw files."""
        return ingest_stream_name(self.project)

    @property
    def ingest_api(self) -> str:  # producers send through it with their keys (see lakebox_infra.ingest_api)
        return f"{self.project}-ingest-api"

    @property
    def operator(self) -> str:
        """The IAM user the CLI acts as when IAM is enforced."""
        return f"{self.project}-operator"

    def stage_queue(self, stage: str) -> str:
        """The queue in front of a stage's function."""
        return stage_queue_name(self.project, stage)

    def function(self, stage: str) -> str:
        return function_name(self.project, stage)

    def function_role(self, stage: str) -> str:
        return f"{self.project}-{stage}-role"

    def rule(self, stage: str) -> str:
        return f"{self.project}-{stage}-rule"

    @property
    def healer_schedule(self) -> str:
        """The EventBridge Scheduler schedule that runs the healer each minute."""
        return f"{self.project}-healer"

    @property
    def healer_schedule_role(self) -> str:
        """The role the schedule invokes the healer with."""
        return f"{self.project}-healer-schedule-role"


@dataclass(frozen=True)
class Settings:
    """What a function or the CLI needs to reach the pipeline."""

    project: str
    region: str
    raw_bucket: str
    processed_bucket: str
    quarantine_bucket: str
    metadata_table: str
    event_bus: str
    glue_database: str
    endpoint_url: str | None = None
    stream_max_records: int = STREAM_DEFAULTS["stream_max_records"]
    stream_max_bytes: int = STREAM_DEFAULTS["stream_max_bytes"]
    stream_window_s: int = STREAM_DEFAULTS["stream_window_s"]
    # Seconds the batcher itself holds a young batch back, where the endpoint's mapping ignores the batching window
    # (MiniStack); 0 where the mapping applies it (AWS). See lakebox_layer.stages.batcher.
    stream_hold_s: int = 0
    # `production`, or anything else (development, staging, ...): only production stores reversible ciphertext.
    environment: str = DEFAULT_ENVIRONMENT
    raw_noncurrent_days: int = RETENTION_DEFAULTS["raw_noncurrent_days"]
    quarantine_days: int = RETENTION_DEFAULTS["quarantine_days"]
    # Lake Formation tags protected columns `sensitivity=pii` and grants by tag, on AWS only (see SWITCH_ON).
    lake_formation: bool = False
    # Whether the healer's schedule runs (`LAKEBOX_HEALER=0` provisions it disabled: circuits then move only by
    # `lakebox pause` and `resume`, or a healer run by hand).
    healer: bool = True

    def __post_init__(self) -> None:
        for name, (low, high) in WHOLE_NUMBER_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise SettingsInvalid(f"{name} must be a whole number from {low} to {high}, not {value!r}")
        if not _ENVIRONMENT.match(self.environment):
            raise SettingsInvalid(f"environment {self.environment!r} must be a lowercase word such as "
                                  f"{PRODUCTION!r} or 'development' (LAKEBOX_ENVIRONMENT)")
        for switch in BOOTSTRAP_SWITCHES:
            if not isinstance(getattr(self, switch), bool):
                raise SettingsInvalid(f"{switch} must be True or False, not {getattr(self, switch)!r}")

    @property
    def production(self) -> bool:
        return self.environment == PRODUCTION

    @property
    def pii_key_alias(self) -> str:
        return pii_key_alias(self.project)

    @property
    def pii_token_key_alias(self) -> str:
        return pii_token_key_alias(self.project)

    def function(self, stage: str) -> str:
        return function_name(self.project, stage)

    def stage_queue(self, stage: str) -> str:
        return stage_queue_name(self.project, stage)

    @property
    def dead_letter_queue(self) -> str:
        return dead_letter_queue_name(self.project)

    @classmethod
    def from_names(cls, names: ResourceNames, **overrides: object) -> Settings:
        """Settings for a topology whose names are derived by :class:`ResourceNames`."""
        settings = cls(
            project=names.project,
            region=names.region,
            raw_bucket=names.raw_bucket,
            processed_bucket=names.processed_bucket,
            quarantine_bucket=names.quarantine_bucket,
            metadata_table=names.metadata_table,
            event_bus=names.event_bus,
            glue_database=names.glue_database,
        )
        return replace(settings, **overrides)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from explicit overrides, then the environment (as bootstrap sets it for a function)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        missing = []
        for field in fields(cls):
            if field.name in overrides:
                values[field.name] = overrides[field.name]
                continue
            if field.name == "endpoint_url" or field.name in RETENTION_DEFAULTS:
                continue  # botocore reads AWS_ENDPOINT_URL itself; retention is bootstrap's alone
            raw = env.get(ENV_NAMES[field.name])
            if field.name == "region" and raw is None:
                raw = env.get("AWS_DEFAULT_REGION", DEFAULT_REGION)
            if field.name in STREAM_LIMITS:
                if raw is not None:
                    values[field.name] = _whole_number(ENV_NAMES[field.name], raw)
                continue
            if field.name == "environment":
                if raw is not None:
                    values[field.name] = raw.strip()
                continue
            if field.name in BOOTSTRAP_SWITCHES:
                if raw is not None:
                    values[field.name] = _switch(ENV_NAMES[field.name], raw)
                continue
            if raw is None:
                missing.append(ENV_NAMES[field.name])
                continue
            values[field.name] = raw
        if missing:
            raise SettingsInvalid(f"settings incomplete: set {', '.join(missing)}")
        return cls(**values)  # type: ignore[arg-type]

    @staticmethod
    def bootstrap_overrides(env: Mapping[str, str] | None = None) -> dict[str, int | str]:
        """The settings bootstrap was asked for, where set: the stream bounds (`LAKEBOX_STREAM_MAX_RECORDS`,
        `LAKEBOX_STREAM_MAX_BYTES`, `LAKEBOX_STREAM_WINDOW_S`), the lake's environment (`LAKEBOX_ENVIRONMENT`),
        how long S3 keeps what expires (`LAKEBOX_RAW_NONCURRENT_DAYS`, `LAKEBOX_QUARANTINE_DAYS`), whether Lake
        Formation is on (`LAKEBOX_LAKE_FORMATION`) and whether the healer's schedule runs (`LAKEBOX_HEALER`), each
        checked (SettingsInvalid naming the variable and what it
        takes)."""
        env = os.environ if env is None else env
        overrides: dict[str, int | str] = {}
        for name, variable in BOOTSTRAP_SETTING_ENV.items():
            if variable not in env:
                continue
            if name in BOOTSTRAP_SWITCHES:
                overrides[name] = _switch(variable, env[variable])
                continue
            if name == "environment":
                value = env[variable].strip()
                if not _ENVIRONMENT.match(value):
                    raise SettingsInvalid(f"{variable} must be a lowercase word such as {PRODUCTION!r} or "
                                          f"'development', not {env[variable]!r}")
                overrides[name] = value
                continue
            number = _whole_number(variable, env[variable])
            low, high = WHOLE_NUMBER_LIMITS[name]
            if not low <= number <= high:
                raise SettingsInvalid(f"{variable} must be a whole number from {low} to {high}, not {number}: "
                                      "set it within those bounds, or unset it for the default")
            overrides[name] = number
        return overrides

    def function_environment(self) -> dict[str, str]:
        """The environment bootstrap gives each function, so :meth:`from_env` rebuilds these settings there."""
        # AWS reserves AWS_REGION and the endpoint is the emulator's (or nobody's) to inject; retention is
        # bootstrap's alone.
        skipped = {"region", "endpoint_url", *BOOTSTRAP_SWITCHES, *RETENTION_DEFAULTS}
        environment = {ENV_NAMES[f.name]: str(getattr(self, f.name)) for f in fields(self) if f.name not in skipped}
        # Set only when on: a function without the variable has Lake Formation off.
        if self.lake_formation:
            environment[ENV_NAMES["lake_formation"]] = SWITCH_ON
        return environment


def _switch(variable: str, raw: str) -> bool:
    """An on/off setting: "1" is on, "0" or empty off; anything else is refused rather than guessed at."""
    value = raw.strip()
    if value not in (SWITCH_ON, SWITCH_OFF, ""):
        raise SettingsInvalid(f"{variable} must be {SWITCH_ON} (on) or {SWITCH_OFF} (off), not {raw!r}")
    return value == SWITCH_ON


def _whole_number(variable: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsInvalid(f"{variable} must be a whole number, not {raw!r}") from None
