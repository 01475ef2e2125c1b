"""`lakebox up --persist DIR`: the emulator stopped mid-run and started again keeps its state, and reconcile and
redrive finish what was in flight."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakebox.cli import app
from lakebox.emulator.embedded import EmbeddedEmulator
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox.reconcile.accounting import reconcile
from lakebox.reconcile.redrive import redrive
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
        rows = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=180)

        assert all(rows[u.raw.process_id].status.value == "processed" for u in uploads)
        # Terminal first; quality and curation follow: nothing may stay unfinished.
        after = reconcile(target)

        def finished() -> bool:
            nonlocal after
            after = reconcile(target)
            return not after.unfinished

        wait_until(finished, deadline_s=120, interval_s=0.5, what="every restarted file to be finished",
                   on_timeout=lambda: f"; unfinished: {after.unfinished[:5]}")
        for upload in uploads:
            stages = [r["Stage"] for r in target.metadata.stage_records(upload.raw.process_id)]
            assert stages.count("validation") == 1, (upload.raw.key, stages)
    finally:
        emulator.stop()


def test_a_plain_up_restarts_a_persisted_state_on_its_saved_port(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --port, `up --persist DIR` starts where the saved state was: its queue URLs name that port. The
    restored emulator is read and compared in full once; a further `up` reads nothing unless `--verify`."""
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    persist = str(tmp_path / "persist")
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["up", "--json", "--port", "0", "--persist", persist])
        assert first.exit_code == 0, first.output
        endpoint = json.loads(first.stdout)["endpoint"]
        stopped = runner.invoke(app, ["down"])
        assert stopped.exit_code == 0 and "stopped the embedded emulator" in stopped.stdout

        again = runner.invoke(app, ["up", "--json", "--persist", persist])

        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["endpoint"] == endpoint
        target = Target.resolve()
        sqs = target.session.client("sqs", region_name=target.region, endpoint_url=target.endpoint)
        url = sqs.get_queue_url(QueueName=target.names.dead_letter_queue)["QueueUrl"]
        # The saved queue URL names the port, so it answers only if the emulator came back on that port.
        port = endpoint.rsplit(":", 1)[1]
        assert f":{port}/" in url, url
        assert "Attributes" in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        # Restored from the saved state, the emulator was read and compared in full; the next `up` to the same
        # process trusts that run and reads nothing, unless asked to verify.
        assert "resources already as declared" in again.stderr, again.stderr
        unchanged = runner.invoke(app, ["up", "--json", "--persist", persist])
        assert unchanged.exit_code == 0, unchanged.output
        assert "no changes: nothing declared has changed since" in unchanged.stderr, unchanged.stderr
        assert json.loads(unchanged.stdout) == json.loads(again.stdout)
        verified = runner.invoke(app, ["up", "--verify", "--persist", persist])
        assert verified.exit_code == 0, verified.output
        assert "no changes: all" in verified.stderr and "resources already as declared" in verified.stderr
    finally:
        runner.invoke(app, ["down"])
