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
LONGEST_FIRST = ("test_self_healing.py", "test_load.py", "test_ingestion_api.py", "test_persistence.py",
                 "test_bad_input.py", "test_least_privilege.py", "test_healer_schedule.py", "test_reconcile.py",
                 "test_pipeline.py", "test_demo.py", "test_emulator.py", "test_bootstrap.py")


# The files a plain `pytest` leaves out (`pytest -m slow` runs them, and .ci/run): each takes more than about 10
# worker-seconds on a 2-core machine (the self-healing tests about 4 minutes, waiting out circuits' cool-downs), or
# starts emulators, servers or processes of its own. The rest prove the pipeline end to end in seconds.
SLOW_FILES = ("test_self_healing.py", "test_healer_schedule.py", "test_persistence.py", "test_load.py",
              "test_least_privilege.py", "test_broken_function.py", "test_status_paging.py", "test_bad_input.py",
              "test_demo.py", "test_limits.py", "test_moto_server.py", "test_stream_faults.py", "test_cli_failures.py",
              "test_bootstrap.py", "test_emulator.py", "test_reconcile.py", "test_personal_data.py",
              "test_curation.py", "test_dataset_contracts.py", "test_dataset_names.py", "test_docs_site.py",
              "test_ingestion_api.py", "test_ingestion_api_docs.py")


def schedule_rank(item: pytest.Item) -> int:
    """0.. for the files above, then the other e2e files, then every other test (collection order within each)."""
    if "/e2e/" not in str(item.path):
        return len(LONGEST_FIRST) + 1
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(tryfirst=True)  # before tests/conftest.py leaves the slow ones out of a plain run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
            if item.path.name in SLOW_FILES:
                item.add_marker(pytest.mark.slow)
    items.sort(key=schedule_rank)


@pytest.fixture(scope="session")
def lake(emulator: Emulator) -> Iterator[Lake]:
    """The product's topology provisioned on the session's emulator, when a test first asks for it (a worker that
    runs no e2e test starts and provisions nothing); torn down afterwards, whatever happened, on an emulator the
    session did not start."""
    saved = os.environ.get("AWS_ENDPOINT_URL")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    target = Target.at(emulator.endpoint, emulator.region, "lakebox")
    provisioner = Provisioner(topology_of(target), target.session, emulator.endpoint)
    try:
        provisioner.apply()
        yield Lake(target, emulator)
    finally:
        # An emulator the session started (a process, a container) goes with everything on it when it stops; one
        # that outlives the session (--target URL) is left as it was found.
        if emulator.kind == "endpoint":
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
