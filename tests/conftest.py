"""Where the end-to-end tests run: `--target embedded` (default), `container`, or an endpoint URL.

The container target starts the image in LAKEBOX_EMULATOR_IMAGE (default: the pinned official MiniStack image; build
one offline with scripts/build-emulator-image.sh) with testcontainers, its port published on 127.0.0.1 only. Ryuk
is disabled, so the fixtures remove their own containers.

The suite runs on pytest-xdist workers (`-n`, see pyproject.toml), a test file at a time per worker. Each worker is
a session of its own: the embedded target gives each worker that runs an e2e test its own emulator (a free port, a
state folder under the worker's own temporary folder), started and provisioned when its first e2e test asks for it,
so a worker that runs only unit tests starts none. Any other target is one emulator for the whole run (a container,
or one already running that every worker would provision and tear down under the others): it runs in one process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.emulators import Emulator, container_emulator, docker_unavailable, embedded_emulator, target_of

# `-n auto`: a worker more than there are CPUs, since e2e tests spend part of their time waiting on the emulator (on
# 2 CPUs, 3 workers beat 2 and 4); at most 8, as each worker that runs an e2e test starts an emulator with its
# functions' workers (about 1 GB).
MAX_AUTO_WORKERS = 8


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default=os.environ.get("LAKEBOX_TEST_TARGET", "embedded"),
        help="where e2e tests run: embedded (MiniStack as a local process), container (LAKEBOX_EMULATOR_IMAGE "
        "through testcontainers) or an endpoint URL of a running emulator",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Before xdist reads -n: a target the session does not start for itself runs in one process."""
    if target_of(config) != "embedded" and getattr(config.option, "numprocesses", None):
        config.option.numprocesses = 0


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: CPUs + 1 workers, at most MAX_AUTO_WORKERS; PYTEST_XDIST_AUTO_NUM_WORKERS decides if set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return min((os.cpu_count() or 1) + 1, MAX_AUTO_WORKERS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/docker need Docker; so does every test of the emulator when the target is a container.

    A plain `pytest` (no -m, embedded target) is the suite to run on every change: it leaves out the tests/docker
    ones, which build on a locally built or pulled image and run with `pytest -m docker`, and the slow ones (each
    takes more than a few seconds: most e2e files, the gzip bomb, the packages' import checks), which run with
    `pytest -m slow`. `.ci/run` runs all three.
    """
    container = target_of(config) == "container"
    for item in items:
        if "/docker/" in str(item.path) or (container and "emulator" in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)
    if config.option.markexpr or container:
        return
    left_out = [item for item in items if any(item.get_closest_marker(marker) for marker in ("docker", "slow"))]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        dropped = {id(item) for item in left_out}
        items[:] = [item for item in items if id(item) not in dropped]


def pytest_report_header(config: pytest.Config) -> str:
    target, workers = target_of(config), getattr(config.option, "numprocesses", None) or 0
    where = f"{workers} xdist workers (each starts an emulator at its first e2e test)" if workers else "one process"
    return (f"lakebox e2e target: {target}, {where} (slow tests run with -m slow, docker tests with -m docker, "
            f"every test with .ci/run)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") and (reason := docker_unavailable()):
        pytest.skip(f"docker test skipped: {reason}")


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The session's emulator, as --target says."""
    target = target_of(request.config)
    if target == "embedded":
        strict = os.environ.get("LAKEBOX_TEST_STRICT_IAM", "") == "1"
        with embedded_emulator(tmp_path_factory.mktemp("lakebox-state"), strict_iam=strict) as running:
            yield running
    elif target == "container":
        with container_emulator() as running:
            yield running
    else:
        yield Emulator(target.rstrip("/"), os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), "endpoint")
