"""`docker compose --profile ministack up` alone provisions a working pipeline through the ready.d hook."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lakebox.emulator.embedded import free_port
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_layer.records import FileStatus, RawObject
from tests.emulators import DEFAULT_IMAGE

ROOT = Path(__file__).resolve().parents[2]


def compose_command() -> list[str] | None:
    """`docker compose` (v2) where the plugin exists, else `docker-compose` (v1), else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.fixture(scope="module")
def compose_stack() -> Iterator[str]:
    """The compose stack with the ministack profile on a free loopback port; always brought down."""
    command = compose_command()
    if command is None:
        pytest.skip("docker test skipped: neither `docker compose` nor `docker-compose` is installed")
    port = free_port()
    project = f"lakebox-smoke-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "LAKEBOX_PORT": str(port),
           "MINISTACK_IMAGE": os.environ.get("LAKEBOX_EMULATOR_IMAGE", DEFAULT_IMAGE)}
    base = [*command, "-f", str(ROOT / "docker-compose.yml"), "-p", project, "--profile", "ministack"]

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                              check=False)

    started = compose("up", "-d")
    try:
        assert started.returncode == 0, started.stderr
        yield f"http://127.0.0.1:{port}"
    finally:
        logs = compose("logs", "--no-color").stdout
        compose("down", "-v", "--remove-orphans")
        # Shown by pytest when a test fails.
        logging.getLogger(__name__).info("compose logs:\n%s", logs[-6000:])


def ready_scripts(endpoint: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=2) as response:
            return dict(json.loads(response.read()).get("ready_scripts", {}))
    except OSError:
        return {}


def test_compose_up_alone_ends_with_a_ready_pipeline(compose_stack: str) -> None:
    endpoint = compose_stack
    wait_until(lambda: ready_scripts(endpoint).get("status") == "completed", deadline_s=180, interval_s=0.5,
               what=f"the ready.d bootstrap hook of the compose stack at {endpoint}",
               on_timeout=lambda: f"; state: {ready_scripts(endpoint)}")
    assert ready_scripts(endpoint)["failed"] == 0
    target = Target.at(endpoint, "us-east-1", "lakebox")
    uploads = []
    for name, body in (("good.json", b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}'),
                       ("bad.json", b'{"id": "2", "email": ')):
        key = f"input/smoke/{name}"
        response = target.clients.s3.put_object(Bucket=target.settings.raw_bucket, Key=key, Body=body)
        raw = RawObject(target.settings.raw_bucket, key, response["ETag"].strip('"'), len(body),
                        response.get("VersionId"))
        uploads.append(Upload(Path(name), raw))

    rows = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=120)

    good, bad = (rows[u.raw.process_id] for u in uploads)
    assert good.status is FileStatus.PROCESSED
    assert bad.status is FileStatus.QUARANTINED
    assert good.destination == f"s3://{target.settings.processed_bucket}/validated/smoke/good.json"
