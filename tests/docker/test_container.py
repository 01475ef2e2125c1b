"""The pipeline on a containerised MiniStack started with testcontainers (image: LAKEBOX_EMULATOR_IMAGE)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakebox.emulator.embedded import healthy
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox.lake.target import Target
from lakebox_infra.capabilities import detect
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.records import FileStatus, RawObject
from tests.emulators import Emulator, container_emulator

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def container() -> Iterator[Emulator]:
    with container_emulator() as running:
        yield running


def test_container_is_published_on_loopback_and_detected_as_ministack(container: Emulator) -> None:
    assert container.endpoint.startswith("http://127.0.0.1:")
    assert healthy(container.endpoint)
    found = detect(container.endpoint)
    assert found.emulator.startswith("MiniStack")
    assert found.layers_applied


def test_valid_and_invalid_files_reach_their_outcomes(container: Emulator) -> None:
    target = Target.at(container.endpoint, container.region, "lakebox-docker")
    report = Provisioner(Topology(target.names), target.session, container.endpoint).apply()
    assert report.changes, "a fresh container starts empty"
    uploads = []
    for name in ("sensor-valid.json", "sensor-invalid.json"):
        body = (SAMPLE_DATA / name).read_bytes()
        key = f"input/{name}"
        response = target.clients.s3.put_object(Bucket=target.settings.raw_bucket, Key=key, Body=body)
        raw = RawObject(target.settings.raw_bucket, key, response["ETag"].strip('"'), len(body),
                        response.get("VersionId"))
        uploads.append(Upload(SAMPLE_DATA / name, raw))

    rows = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=120)

    valid, invalid = (rows[u.raw.process_id] for u in uploads)
    assert valid.status is FileStatus.PROCESSED
    assert invalid.status is FileStatus.QUARANTINED
    report_key = "quarantine/default/sensor-invalid.json.error.json"
    document = target.clients.s3.get_object(Bucket=target.settings.quarantine_bucket, Key=report_key)
    assert "timestamp: missing required field" in " ".join(json.loads(document["Body"].read())["errors"])
    assert Provisioner(Topology(target.names), target.session, container.endpoint).apply().changes == []
