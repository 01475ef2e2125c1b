"""Emulators for the tests: the embedded MiniStack process or a container started with testcontainers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

# Before testcontainers is imported: no Ryuk (its image cannot be pulled everywhere), and clients reach containers
# through 127.0.0.1, where the ports are published, never through the bridge gateway.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

from lakebox.emulator.embedded import EmbeddedEmulator

DEFAULT_IMAGE = "ministackorg/ministack:1.5.33"
EMULATOR_PORT = 4566
TARGETS = ("embedded", "container")


def target_of(config: pytest.Config) -> str:
    target = str(config.getoption("--target"))
    if target not in TARGETS and not target.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--target must be one of {', '.join(TARGETS)} or an http(s) URL, not {target!r}")
    return target


@cache
def docker_unavailable() -> str | None:
    """Why Docker cannot be used here, or None when an engine answers."""
    try:
        from testcontainers.core.docker_client import DockerClient

        DockerClient(timeout=5).client.ping()
    except Exception as error:
        return f"no Docker engine answers ({type(error).__name__}: {error})"
    return None


@dataclass(frozen=True)
class Emulator:
    """A running emulator the tests may use: its endpoint, and for the embedded one the state `up` records."""

    endpoint: str
    region: str
    kind: str
    state_dir: Path | None = None


@contextmanager
def embedded_emulator(state_dir: Path, region: str = "us-east-1", strict_iam: bool = False) -> Iterator[Emulator]:
    emulator = EmbeddedEmulator(state_dir)
    state, _ = emulator.start(port=None, region=region, strict_iam=strict_iam)
    try:
        yield Emulator(state.endpoint, state.region, "embedded", state_dir)
    finally:
        emulator.stop()


@contextmanager
def container_emulator(image: str | None = None, region: str = "us-east-1") -> Iterator[Emulator]:
    """Start an emulator image with testcontainers: LocalStackContainer for LocalStack, a DockerContainer waiting on
    MiniStack's health endpoint otherwise. The container is removed whatever happens."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    image = image or os.environ.get("LAKEBOX_EMULATOR_IMAGE", DEFAULT_IMAGE)
    container: DockerContainer
    if "localstack" in image:
        from testcontainers.community.localstack import LocalStackContainer

        container = LocalStackContainer(image, edge_port=EMULATOR_PORT, region_name=region)
        if token := os.environ.get("LOCALSTACK_AUTH_TOKEN"):
            container.with_env("LOCALSTACK_AUTH_TOKEN", token)
    else:
        container = DockerContainer(image).with_env("MINISTACK_REGION", region).waiting_for(
            HttpWaitStrategy(EMULATOR_PORT, "/_ministack/health").for_status_code(200).with_startup_timeout(60)
        )
    # Published on the loopback interface only (testcontainers' own binding would listen on every interface).
    container.ports[f"{EMULATOR_PORT}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
    try:
        container.start()
        port = container.get_exposed_port(EMULATOR_PORT)
        yield Emulator(f"http://127.0.0.1:{port}", region, "container")
    finally:
        container.stop()
