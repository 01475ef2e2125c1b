"""`lakebox up --persist DIR`: the emulator stopped mid-run and started again keeps its state, and reconcile and
redrive finish what was in flight."""

from __future__ import annotations

import uuid
from pathlib import Path

from lakebox.emulator import EmbeddedEmulator
from lakebox.reconcile import reconcile, redrive
from lakebox.target import Target
from lakebox.uploads import Upload, wait_for_outcomes
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.records import RawObject

FILES = 30


def test_a_restart_mid_run_loses_nothing(tmp_path: Path) -> None:
    emulator = EmbeddedEmulator(tmp_path / "state")
    persist = tmp_path / "persist"
    state, _ = emulator.start(port=None, persist_dir=persist)
    try:
        target = Target.at(state.endpoint, state.region, "lakebox")
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        bucket = target.settings.raw_bucket
        uploads = []
        for n in range(FILES):
            body = f'{{"id": "{n}", "timestamp": "2026-01-01T00:00:00Z", "data": {{"n": {n}}}}}'.encode()
            key = f"input/restart-{uuid.uuid4().hex[:6]}-{n}.json"
            response = target.clients.s3.put_object(Bucket=bucket, Key=key, Body=body)
            uploads.append(Upload(Path(key), RawObject(bucket, key, response["ETag"].strip('"'), len(body),
                                                         response.get("VersionId"))))
        # Stopped while the burst is in flight, then started again on the same state.
        emulator.stop()
        state, started = emulator.start(port=None, persist_dir=persist)
        assert started
        target = Target.at(state.endpoint, state.region, "lakebox")
        assert target.clients.s3.head_bucket(Bucket=bucket), "the raw bucket survived the restart"
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        before = reconcile(target)
        assert before.raw_objects >= FILES, "every raw file survived the restart"

        redrive(target)
        rows = wait_for_outcomes(target, uploads, deadline_s=180)

        assert all(rows[u.raw.process_id].status.value == "processed" for u in uploads)
        after = reconcile(target)
        assert not after.unfinished, after.unfinished
        for upload in uploads:
            stages = [r["Stage"] for r in target.metadata.stage_records(upload.raw.process_id)]
            assert stages.count("validation") == 1, (upload.raw.key, stages)
    finally:
        emulator.stop()
