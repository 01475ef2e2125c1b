"""Where the pipeline is: an explicit AWS_ENDPOINT_URL, else the emulator `lakebox up` recorded, else AWS."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from lakebox.emulator.embedded import EmbeddedEmulator, healthy
from lakebox.emulator.identities import chosen_identity
from lakebox.lake.metadata import MetadataReader
from lakebox.lake.metrics import QualityReadout
from lakebox_infra import PROJECT_ROOT
from lakebox_infra.session import session_for
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.settings import DEFAULT_PROJECT, DEFAULT_REGION, ResourceNames, Settings

# Who the caller is: retried once, with a short connect timeout.
FIRST_CALL = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5)

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_logs import CloudWatchLogsClient


def state_dir() -> Path:
    """Where `up` records its emulator: LAKEBOX_STATE_DIR, else `.lakebox/` in the project checkout."""
    configured = os.environ.get("LAKEBOX_STATE_DIR")
    return Path(configured) if configured else PROJECT_ROOT / ".lakebox"


ACCOUNTS_FILE = "accounts.json"


def _accounts() -> dict[str, str]:
    try:
        accounts = json.loads((state_dir() / ACCOUNTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in accounts.items() if isinstance(v, str)} if isinstance(accounts, dict) else {}


def known_account(endpoint: str, key_id: str) -> str | None:
    """The account an emulator answered for these keys before, as :func:`remember_account` kept it."""
    return _accounts().get(f"{endpoint} {key_id}")


def remember_account(endpoint: str, key_id: str, account: str) -> None:
    """Keep the account an emulator answered for these keys, so that the next command need not ask (an access key
    belongs to one account). Best effort: a state directory that cannot be written only costs the next command a
    call."""
    accounts = {**_accounts(), f"{endpoint} {key_id}": account}
    try:
        state_dir().mkdir(parents=True, exist_ok=True)
        (state_dir() / ACCOUNTS_FILE).write_text(json.dumps(accounts))
    except OSError:
        pass


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def default_project() -> str:
    return os.environ.get("LAKEBOX_PROJECT", DEFAULT_PROJECT)


@dataclass(frozen=True)
class Target:
    """A reachable pipeline: its endpoint (None for AWS), region, project and a session for it."""

    endpoint: str | None
    region: str
    project: str
    session: boto3.Session

    @classmethod
    def resolve(cls, project: str | None = None) -> Target:
        endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
        region = default_region()
        if endpoint is None:
            emulator = EmbeddedEmulator(state_dir())
            recorded = emulator.state()
            if recorded is not None:
                endpoint, region = recorded.endpoint, recorded.region
                identity = chosen_identity()
                credentials = emulator.credentials(identity) if recorded.strict_iam else None
                if credentials is not None and "AWS_ACCESS_KEY_ID" not in os.environ:
                    # IAM is enforced: act as the operator (or the steward) `up` issued keys to, not as root.
                    session = boto3.Session(region_name=region, aws_access_key_id=credentials["aws_access_key_id"],
                                            aws_secret_access_key=credentials["aws_secret_access_key"])
                    return cls(endpoint, region, project or default_project(), session)
        return cls.at(endpoint, region, project)

    @classmethod
    def at(cls, endpoint: str | None, region: str, project: str | None = None) -> Target:
        """The pipeline at a known endpoint (None: AWS)."""
        return cls(endpoint, region, project or default_project(), session_for(endpoint, region))

    @cached_property
    def names(self) -> ResourceNames:
        """The names of the project's resources in the caller's account: the first call of every command, so it is
        retried only briefly (a dead endpoint is reported in about a second, not after a long backoff).

        An emulator's account for the caller's keys is asked once and kept in the state directory: the STS client
        alone costs a short command like `status` a third of its CPU. On AWS it is asked every time, and so is an
        emulator that does not answer its health check."""
        credentials = self.session.get_credentials() if self.endpoint is not None else None
        key_id = credentials.access_key if credentials is not None else None
        account = known_account(self.endpoint, key_id) if self.endpoint is not None and key_id else None
        if account is not None and not healthy(self.endpoint):  # type: ignore[arg-type]
            account = None  # let STS's short retries report what answers there, as without the memo
        if account is None:
            sts = self.session.client("sts", region_name=self.region, endpoint_url=self.endpoint, config=FIRST_CALL)
            account = sts.get_caller_identity()["Account"]
            if self.endpoint is not None and key_id:
                remember_account(self.endpoint, key_id, account)
        return ResourceNames(self.project, account, self.region)

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_names(self.names, endpoint_url=self.endpoint)

    @cached_property
    def clients(self) -> AwsClients:
        return AwsClients(self.settings, self.session)

    @cached_property
    def metadata(self) -> MetadataReader:
        return MetadataReader(self.clients.dynamodb, self.settings.metadata_table)

    @cached_property
    def logs(self) -> CloudWatchLogsClient:
        """CloudWatch Logs, where each function writes its JSON log lines (`lakebox logs`, `lakebox trace`)."""
        return self.clients.client("logs")  # type: ignore[no-any-return]

    @cached_property
    def kinesis(self) -> KinesisClient:
        """Kinesis, where `lakebox send` puts records to the ingest stream."""
        return self.clients.client("kinesis")  # type: ignore[no-any-return]

    @cached_property
    def metrics(self) -> QualityReadout:
        return QualityReadout(self.clients.cloudwatch, self.settings.project)

    @property
    def where(self) -> str:
        return self.endpoint or f"AWS ({self.region})"
