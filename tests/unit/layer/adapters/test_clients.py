"""Sessions and clients are built offline: explicit keys for an emulator, lazy clients with the settings' endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakebox_infra.session import EMULATOR_KEY_ID, EMULATOR_SECRET, session_for
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.settings import ResourceNames, Settings

EMULATOR = "http://127.0.0.1:4566"


@pytest.fixture
def no_key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No keys, endpoint or profile from this machine's environment or ~/.aws files."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    return monkeypatch


def test_emulator_session_uses_the_emulator_keys_without_a_credential_chain(no_key_env: pytest.MonkeyPatch) -> None:
    session = session_for(EMULATOR, "eu-west-1")
    credentials = session.get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        EMULATOR_KEY_ID, EMULATOR_SECRET, None,
    )
    assert credentials.method == "explicit"
    assert session.region_name == "eu-west-1"


def test_emulator_session_prefers_keys_from_the_environment(no_key_env: pytest.MonkeyPatch) -> None:
    no_key_env.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    no_key_env.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    no_key_env.setenv("AWS_SESSION_TOKEN", "token-example")
    credentials = session_for(EMULATOR, "us-east-1").get_credentials()
    assert credentials is not None
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "AKIDEXAMPLE", "secret-example", "token-example",
    )


def test_aws_session_keeps_the_region(no_key_env: pytest.MonkeyPatch) -> None:
    assert session_for(None, "ap-southeast-2").region_name == "ap-southeast-2"


def settings(endpoint_url: str | None) -> Settings:
    return Settings.from_names(ResourceNames("lakebox", "000000000000", "eu-west-1"), endpoint_url=endpoint_url)


def test_clients_are_built_lazily_and_cached(no_key_env: pytest.MonkeyPatch) -> None:
    clients = AwsClients(settings(EMULATOR), session_for(EMULATOR, "eu-west-1"))
    assert "s3" not in vars(clients)
    s3 = clients.s3
    assert clients.s3 is s3
    assert vars(clients)["s3"] is s3


def test_clients_use_the_settings_endpoint_region_and_path_style(no_key_env: pytest.MonkeyPatch) -> None:
    clients = AwsClients(settings(EMULATOR), session_for(EMULATOR, "eu-west-1"))
    for client in (clients.s3, clients.dynamodb, clients.events, clients.cloudwatch):
        assert client.meta.endpoint_url == EMULATOR
        assert client.meta.region_name == "eu-west-1"
    s3_config: dict[str, str] = getattr(clients.s3.meta.config, "s3", None) or {}  # set at runtime, not in stubs
    assert s3_config.get("addressing_style") == "path"


def test_clients_without_endpoint_resolve_the_aws_endpoint(no_key_env: pytest.MonkeyPatch) -> None:
    clients = AwsClients(settings(None), session_for(EMULATOR, "eu-west-1"))
    assert clients.dynamodb.meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
