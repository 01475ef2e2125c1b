"""Where the end-to-end tests run: `--target embedded` (default), `container`, or an endpoint URL.

The container target starts the image in LAKEBOX_EMULATOR_IMAGE (default: the pinned official MiniStack image; build
one offline with scripts/build-emulator-image.sh) with testcontainers, its port published on 127.0.0.1 only. Ryuk
is disabled, so the fixtures remove their own containers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.emulators import Emulator, container_emulator, docker_unavailable, embedded_emulator

TARGETS = ("embedded", "container")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        default=os.environ.get("LAKEBOX_TEST_TARGET", "embedded"),
        help="where e2e tests run: embedded (MiniStack as a local process), container (LAKEBOX_EMULATOR_IMAGE "
        "through testcontainers) or an endpoint URL of a running emulator",
    )


def target_of(config: pytest.Config) -> str:
    target = str(config.getoption("--target"))
    if target not in TARGETS and not target.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--target must be one of {', '.join(TARGETS)} or an http(s) URL, not {target!r}")
    return target


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under tests/docker need Docker; so does every test of the emulator when the target is a container.

    A plain `pytest` (no -m, embedded target) leaves the tests/docker ones out: they build on a locally built or
    pulled image and run with `pytest -m docker`.
    """
    container = target_of(config) == "container"
    for item in items:
        if "/docker/" in str(item.path) or (container and "emulator" in getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.docker)
    if config.option.markexpr or container:
        return
    docker_only = [item for item in items if item.get_closest_marker("docker")]
    if docker_only:
        config.hook.pytest_deselected(items=docker_only)
        items[:] = [item for item in items if not item.get_closest_marker("docker")]


def pytest_report_header(config: pytest.Config) -> str:
    return f"lakebox e2e target: {target_of(config)} (docker tests run with -m docker)"


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
