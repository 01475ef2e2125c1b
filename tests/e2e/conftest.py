"""One embedded emulator per session, provisioned with the product's own topology, always cleaned up."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.provision import Provisioner
from infra.topology import Topology
from lakebox.emulator import EmbeddedEmulator, wait_until
from lakebox.target import Target
from lakebox.uploads import Upload, wait_for_outcomes
from lakebox_layer.records import RawObject
from lakebox_layer.status import FileRow

DEADLINE_S = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@dataclass
class Lake:
    """The running pipeline and the helpers tests use to drive it through boto3."""

    target: Target
    state_dir: Path

    @property
    def names(self) -> Any:
        return self.target.names

    @property
    def s3(self) -> Any:
        return self.target.clients.s3

    def client(self, service: str) -> Any:
        return self.target.session.client(service, region_name=self.target.region,
                                          endpoint_url=self.target.endpoint)

    def put_raw(self, key: str, body: bytes) -> RawObject:
        """Upload through boto3 exactly as any producer would; the S3 notification does the rest."""
        bucket = self.names.raw_bucket
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return RawObject(bucket, key, response["ETag"].strip('"'), len(body), response.get("VersionId"))

    def outcome(self, raw: RawObject, deadline_s: float = DEADLINE_S) -> FileRow:
        rows = wait_for_outcomes(self.target, [Upload(Path(raw.key), raw)], deadline_s=deadline_s)
        return rows[raw.process_id]

    def stage_records(self, process_id: str) -> list[dict[str, Any]]:
        return self.target.metadata.stage_records(process_id)

    def wait_for_stages(self, process_id: str, stages: set[str],
                        deadline_s: float = DEADLINE_S) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []

        def recorded() -> bool:
            nonlocal records
            records = self.stage_records(process_id)
            return stages <= {r["Stage"] for r in records}

        wait_until(recorded, deadline_s=deadline_s, what=f"stage records {sorted(stages)} of {process_id}",
                   on_timeout=lambda: f"; found {sorted(r['Stage'] for r in records)}")
        return records

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def wait(self, check: Callable[[], bool], what: str, deadline_s: float = DEADLINE_S) -> None:
        wait_until(check, deadline_s=deadline_s, what=what, interval_s=0.2)


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """Start MiniStack on a free port, provision the topology, yield; then tear down and stop, whatever happened."""
    state_dir = tmp_path_factory.mktemp("lakebox-state")
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "LAKEBOX_STATE_DIR")}
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["LAKEBOX_STATE_DIR"] = str(state_dir)
    emulator = EmbeddedEmulator(state_dir)
    state, _ = emulator.start(port=None)
    try:
        target = Target.at(state.endpoint, state.region, "lakebox")
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        yield Lake(target, state_dir)
        Provisioner(Topology(target.names), target.session, state.endpoint).teardown()
    finally:
        emulator.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
