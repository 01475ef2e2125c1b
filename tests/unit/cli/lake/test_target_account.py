"""The account an emulator answers for the caller's keys is asked once and kept in the state directory; AWS is
asked every time, and so is an emulator that no longer answers its health check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lakebox.lake import target as target_module
from lakebox.lake.target import Target

ENDPOINT = "http://127.0.0.1:4566"


@dataclass
class CountingSession:
    """A session whose STS answers `account` and counts the calls."""

    account: str
    key_id: str = "test"
    calls: list[str] = field(default_factory=list)

    def get_credentials(self) -> Any:
        return SimpleNamespace(access_key=self.key_id)

    def client(self, service: str, **_: Any) -> Any:
        assert service == "sts"
        return SimpleNamespace(get_caller_identity=self._identity)

    def _identity(self) -> dict[str, str]:
        self.calls.append("sts")
        return {"Account": self.account}


@pytest.fixture(autouse=True)
def _state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(target_module, "healthy", lambda endpoint: True)


def _account(endpoint: str | None, session: CountingSession) -> str:
    return Target(endpoint, "us-east-1", "lakebox", session).names.account  # type: ignore[arg-type]


def test_an_emulators_account_is_asked_once_per_keys() -> None:
    session = CountingSession("000000000000")

    assert _account(ENDPOINT, session) == "000000000000"
    assert _account(ENDPOINT, session) == "000000000000"
    assert session.calls == ["sts"]
    other_keys = CountingSession("111111111111", key_id="111111111111")
    assert _account(ENDPOINT, other_keys) == "111111111111"
    assert other_keys.calls == ["sts"]


def test_aws_is_asked_every_time() -> None:
    session = CountingSession("123456789012")

    _account(None, session)
    _account(None, session)

    assert session.calls == ["sts", "sts"]


def test_an_emulator_that_does_not_answer_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    session = CountingSession("000000000000")
    _account(ENDPOINT, session)
    monkeypatch.setattr(target_module, "healthy", lambda endpoint: False)

    _account(ENDPOINT, session)

    assert session.calls == ["sts", "sts"]


def test_an_unreadable_memo_is_asked_again(tmp_path: Path) -> None:
    (tmp_path / target_module.ACCOUNTS_FILE).write_text("not json")
    session = CountingSession("000000000000")

    assert _account(ENDPOINT, session) == "000000000000"
    assert _account(ENDPOINT, session) == "000000000000"
    assert session.calls == ["sts"]
