"""One embedded emulator per session, provisioned with the product's own topology, always cleaned up."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lakebox.target import Target
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from tests.e2e.lake import Lake
from tests.emulators import Emulator


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def lake(emulator: Emulator) -> Iterator[Lake]:
    """The product's topology provisioned on the session's emulator; torn down afterwards, whatever happened."""
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    target = Target.at(emulator.endpoint, emulator.region, "lakebox")
    provisioner = Provisioner(Topology(target.names), target.session, emulator.endpoint)
    try:
        provisioner.apply()
        yield Lake(target, emulator)
    finally:
        provisioner.teardown()
        if saved is not None:
            os.environ["AWS_ENDPOINT_URL"] = saved
