"""An `up` with nothing to change reads, compares and writes nothing: `bring_up` trusts the record of its last full run
only for the same embedded emulator process, the same checkout and the same settings, never with `--verify`, and a
command that finds a resource missing forgets the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from lakebox import cli
from lakebox.commands import status as status_command
from lakebox.emulator.embedded import EmulatorState
from lakebox.lake import applied, bringup
from lakebox.lake import target as lake_target
from lakebox_infra.provision.base import Report

runner = CliRunner()
STATE = EmulatorState(pid=4242, port=45999, log_file="emulator.log", region="us-east-1", started="100")


class Lake:
    """An embedded emulator, a provisioner and a target that need no network, counting the full runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> None:
        self.state = STATE
        self.runs = 0
        self.credentials: dict[str, dict[str, str]] = {}
        lake = self

        class Emulator:
            def __init__(self, _: Path) -> None:
                pass

            def state(self) -> EmulatorState:
                return lake.state  # running: nothing is built ahead

            def start(self, **_: Any) -> tuple[EmulatorState, bool]:
                return lake.state, False

            def credentials(self, identity: str) -> dict[str, str] | None:
                return lake.credentials.get(identity)

            def record_credentials(self, identity: str, credentials: dict[str, str]) -> None:
                lake.credentials[identity] = credentials

        class Provisioner:
            def __init__(self, *_: Any, **__: Any) -> None:
                pass

            def apply(self) -> Report:
                lake.runs += 1
                report = Report()
                report.same("sqs queue lakebox-dead-letters")
                report.same("s3 bucket lakebox-raw")
                report.warn("the buckets' TLS-only policy is not set")
                return report

            def client(self, service: str) -> str:
                return service

        class Target:
            project = "lakebox"
            session = None
            names = type("Names", (), {"operator": "lakebox-operator", "steward": "lakebox-steward"})()

        monkeypatch.setenv("LAKEBOX_STATE_DIR", str(state_dir))
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        monkeypatch.setattr(bringup, "EmbeddedEmulator", Emulator)
        monkeypatch.setattr(bringup, "Provisioner", Provisioner)
        monkeypatch.setattr(bringup, "Topology", lambda names, **_: None)
        monkeypatch.setattr(lake_target.Target, "at", classmethod(lambda cls, *_: Target()))
        monkeypatch.setattr(bringup, "issue_credentials", lambda iam, topology, identity: {"key": identity})

    def up(self, **options: Any) -> list[str]:
        said: list[str] = []
        bringup.bring_up(say=said.append, **options)
        return said


@pytest.fixture
def lake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Lake:
    (tmp_path / "state").mkdir()
    return Lake(monkeypatch, tmp_path / "state")


def test_a_second_up_to_the_same_emulator_provisions_nothing_and_says_so(lake: Lake) -> None:
    first = lake.up()
    again = lake.up()

    assert lake.runs == 1
    assert "  no changes: all 2 resources already as declared" in first
    assert again[-1].startswith("  no changes: nothing declared has changed since ")
    assert "when all 2 resources were as declared (`lakebox up --verify` reads and compares each)" in again[-1]
    # The full run's warnings are said again: the emulator still lacks what they name.
    assert "  the buckets' TLS-only policy is not set" in again


@pytest.mark.parametrize("change", ["verify", "setting", "restarted", "record_forgotten", "record_unreadable"])
def test_anything_that_may_differ_gets_the_full_read_and_compare(
        lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, change: str) -> None:
    lake.up()
    options: dict[str, Any] = {}
    if change == "verify":
        options["verify"] = True
    elif change == "setting":
        monkeypatch.setenv("LAKEBOX_STREAM_MAX_RECORDS", "50")
    elif change == "restarted":
        lake.state = EmulatorState(pid=4243, port=45999, log_file="emulator.log", region="us-east-1", started="200")
    elif change == "record_forgotten":
        applied.forget(tmp_path / "state")
    else:
        (tmp_path / "state" / applied.APPLIED_FILE).write_text("{not json")

    said = lake.up(**options)

    assert lake.runs == 2
    assert "provisioning lakebox at http://127.0.0.1:45999" in said


def test_an_emulator_whose_start_is_unknown_is_always_checked(lake: Lake) -> None:
    lake.state = EmulatorState(pid=4242, port=45999, log_file="emulator.log", region="us-east-1", started=None)
    lake.up()
    lake.up()

    assert lake.runs == 2


def test_under_enforced_iam_the_keys_must_still_be_recorded(lake: Lake) -> None:
    lake.state = EmulatorState(pid=4242, port=45999, log_file="emulator.log", region="us-east-1", started="100",
                               strict_iam=True)
    lake.up(strict_iam=True)
    assert set(lake.credentials) == {"operator", "steward"}
    lake.up(strict_iam=True)
    assert lake.runs == 1

    del lake.credentials["steward"]
    lake.up(strict_iam=True)
    assert lake.runs == 2
    assert "steward" in lake.credentials


def test_an_endpoint_lakebox_did_not_start_is_always_checked(
        lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:45998")
    monkeypatch.setattr(bringup, "healthy", lambda endpoint: True)
    lake.up()
    lake.up()

    assert lake.runs == 2
    assert not (tmp_path / "state" / applied.APPLIED_FILE).exists()


def test_the_declared_key_follows_the_settings_and_the_emulator() -> None:
    key = applied.declared_key(STATE)

    assert applied.declared_key(STATE) == key
    assert applied.declared_key(EmulatorState(4242, 45999, "log", "eu-west-1", started="100")) != key
    assert applied.declared_key(EmulatorState(4242, 45999, "log", "us-east-1", strict_iam=True, started="100")) != key


def test_the_checkout_key_follows_every_file_provisioning_reads(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lakebox_infra import packaging

    for folder in ("layer/lakebox_layer", "infra/lakebox_infra", "lambdas/ingestion", "contracts"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "file.py").write_text("x = 1\n")
    monkeypatch.setattr(packaging, "project_root", lambda: tmp_path)
    monkeypatch.setattr(packaging, "VENDORED_DISTRIBUTIONS", ())
    key = packaging.checkout_key()

    for folder in ("layer/lakebox_layer", "infra/lakebox_infra", "lambdas/ingestion", "contracts"):
        (tmp_path / folder / "file.py").write_text("x = 22\n")
        assert packaging.checkout_key() != key, folder
        key = packaging.checkout_key()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("not read by provisioning")
    assert packaging.checkout_key() == key


def test_a_command_that_finds_a_resource_missing_forgets_the_record(
        lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lake.up()
    assert applied.recorded(tmp_path / "state") is not None

    def missing_table() -> None:
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no table"}}, "Query")

    monkeypatch.setattr(status_command, "status", missing_table)
    result = runner.invoke(cli.app, ["status"])

    assert result.exit_code == 1
    assert "is the pipeline provisioned there? run `lakebox up`" in result.stderr
    assert applied.recorded(tmp_path / "state") is None
    lake.up()
    assert lake.runs == 2


def test_other_failures_keep_the_record(lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lake.up()

    def throttled() -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query")

    monkeypatch.setattr(status_command, "status", throttled)
    result = runner.invoke(cli.app, ["status"])

    assert result.exit_code == 1
    assert applied.recorded(tmp_path / "state") is not None
