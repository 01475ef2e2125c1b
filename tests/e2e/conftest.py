"""One embedded emulator per session (per xdist worker), provisioned with the product's own topology, always cleaned
up; e2e files are scheduled first, the longest first."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakebox.cli import app
from lakebox.lake.target import Target
from lakebox_infra.provision import Provisioner
from tests.e2e.lake import Invoke, Lake, Run, topology_of
from tests.emulators import Emulator

# The files that take longest, in that order: xdist hands out whole files (--dist loadfile) in collection order, so
# these start first and the short files (and then the unit tests) fill the workers up to the end. Speed only: a file
# missing here just runs after them.
LONGEST_FIRST = ("test_self_healing.py", "test_load.py", "test_persistence.py", "test_bad_input.py",
                 "test_least_privilege.py", "test_healer_schedule.py", "test_reconcile.py", "test_pipeline.py",
                 "test_demo.py", "test_emulator.py", "test_bootstrap.py")


def schedule_rank(item: pytest.Item) -> int:
    """0.. for the files above, then the other e2e files, then every other test (collection order within each)."""
    if "/e2e/" not in str(item.path):
        return len(LONGEST_FIRST) + 1
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=schedule_rank)


@pytest.fixture(scope="session")
def lake(emulator: Emulator) -> Iterator[Lake]:
    """The product's topology provisioned on the session's emulator, when a test first asks for it (a worker that
    runs no e2e test starts and provisions nothing); torn down afterwards, whatever happened."""
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    target = Target.at(emulator.endpoint, emulator.region, "lakebox")
    provisioner = Provisioner(topology_of(target), target.session, emulator.endpoint)
    try:
        provisioner.apply()
        yield Lake(target, emulator)
    finally:
        provisioner.teardown()
        if saved is not None:
            os.environ["AWS_ENDPOINT_URL"] = saved


@pytest.fixture
def invoke(lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Invoke:
    """The CLI, in-process, pointed at the session's emulator; each call gives typer's result."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    environment = lake.cli_environment()
    # `status --next` keeps its cursor in the state folder: this test's own, unless the emulator is found through one.
    environment.setdefault("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # `up` and `demo` provision as the session's lake is provisioned: without the healer's schedule.
    monkeypatch.setenv("LAKEBOX_HEALER", "0")
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


@pytest.fixture
def run(invoke: Invoke) -> Run:
    """The CLI as above, for a command that must succeed: its stdout."""
    def succeed(*args: str) -> str:
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        return result.stdout

    return succeed
