"""Unit tests run offline: every test gets a network block, so a hidden AWS call fails loudly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# urllib3 probes for IPv6 by opening (not connecting) a socket when it is first imported; import it here, before
# any test blocks sockets, so the probe neither trips the block nor records "no IPv6" for the whole session.
import urllib3  # noqa: F401
from pytest_socket import disable_socket, enable_socket

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """Block inet sockets for the test (unix sockets stay usable), and lift the block afterwards."""
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """Read one event fixture from tests/events/ (S3 notifications, EventBridge events)."""

    def load(name: str) -> dict[str, Any]:
        return json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    return load
