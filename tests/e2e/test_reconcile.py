"""Nothing is lost: a raw file whose notification never came, a "Data Validated" event that never reached quality or
curation, a dead letter, a raw file deleted after its outcome."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from lakebox.cli import app
from lakebox.reconcile.accounting import reconcile
from lakebox.reconcile.redrive import redrive, s3_event
from lakebox_infra.provision import Provisioner
from lakebox_layer.records import FileStatus
from tests.e2e.lake import Lake

RECORD = b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}}'
# Quarantined (an invalid email): only quality follows validation, so the test holds with or without curation.
BAD_RECORD = b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}, "email": "nobody-at-example"}'


@pytest.fixture
def notifications_off(lake: Lake) -> Iterator[None]:
    """The raw bucket's notification removed, as when an event is lost; restored by bootstrap afterwards."""
    lake.s3.put_bucket_notification_configuration(Bucket=lake.names.raw_bucket, NotificationConfiguration={})
    try:
        yield
    finally:
        Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()


@pytest.fixture
def quality_events_off(lake: Lake) -> Iterator[None]:
    """The rule that takes "Data Validated" to the quality queue without its target, as when that event is lost;
    restored by bootstrap afterwards."""
    lake.client("events").remove_targets(Rule=lake.names.rule("validation"), EventBusName=lake.names.event_bus,
                                         Ids=["quality"])
    try:
        yield
    finally:
        Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()


@pytest.fixture
def curation_events_off(lake: Lake) -> Iterator[None]:
    """The rule that takes processed files' "Data Validated" to the curation queue without its target; restored by
    bootstrap afterwards."""
    lake.client("events").remove_targets(Rule=lake.names.rule("curation"), EventBusName=lake.names.event_bus,
                                         Ids=["curation"])
    try:
        yield
    finally:
        Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()


def test_a_processed_file_whose_curation_event_was_lost_is_curated_after_redrive(
        lake: Lake, curation_events_off: None) -> None:
    uncurated = lake.put_raw(f"input/uncurated-{uuid.uuid4().hex[:6]}.json", RECORD)
    assert lake.outcome(uncurated).status is FileStatus.PROCESSED
    lake.wait_for_stages(uncurated.process_id, {"quality"})
    found = reconcile(lake.target)
    assert [(u.key, u.status) for u in found.unfinished if u.process_id == uncurated.process_id] == \
        [(uncurated.key, "awaiting curation")], "a processed file is not finished before curation recorded it"

    Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()
    done = redrive(lake.target)

    assert uncurated.key in done.reannounced
    records = lake.wait_for_stages(uncurated.process_id, {"curation"})
    assert sorted(r["Stage"] for r in records) == ["curation", "ingestion", "quality", "validation"]
    [curated] = [r for r in records if r["Stage"] == "curation"]
    assert curated["CurationStatus"] == "curated" and curated["CuratedRows"] == 1
    assert uncurated.process_id not in {u.process_id for u in reconcile(lake.target).unfinished}


def test_a_validated_file_whose_quality_event_was_lost_is_announced_again(
        lake: Lake, quality_events_off: None) -> None:
    unjudged = lake.put_raw(f"input/unjudged-{uuid.uuid4().hex[:6]}.json", BAD_RECORD)
    assert lake.outcome(unjudged).status is FileStatus.QUARANTINED
    found = reconcile(lake.target)
    assert [(u.key, u.status) for u in found.unfinished if u.process_id == unjudged.process_id] == \
        [(unjudged.key, "awaiting quality")], "a terminal status is not finished before quality recorded it"

    Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()
    done = redrive(lake.target)

    assert unjudged.key in done.reannounced, "ingestion would take a validated file for a duplicate"
    records = lake.wait_for_stages(unjudged.process_id, {"quality"})
    assert sorted(r["Stage"] for r in records) == ["ingestion", "quality", "validation"]
    assert unjudged.process_id not in {u.process_id for u in reconcile(lake.target).unfinished}


def test_a_file_whose_notification_was_lost_is_found_and_redriven(lake: Lake, notifications_off: None) -> None:
    lost = lake.put_raw(f"input/lost-{uuid.uuid4().hex[:6]}+1.json", RECORD)
    found = reconcile(lake.target)
    assert [(u.key, u.status) for u in found.unfinished if u.process_id == lost.process_id] == \
        [(lost.key, "not ingested")]

    Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()
    done = redrive(lake.target)

    assert lost.key in done.resubmitted
    assert lake.outcome(lost).status is FileStatus.PROCESSED
    # A processed file is finished once quality and curation have recorded it too.
    lake.wait_for_stages(lost.process_id, {"quality", "curation"}, deadline_s=90.0)
    assert lost.process_id not in {u.process_id for u in reconcile(lake.target).unfinished}


def test_dead_letters_are_replayed_and_the_queue_drained(lake: Lake, notifications_off: None) -> None:
    stuck = lake.put_raw(f"input/dead-{uuid.uuid4().hex[:6]}.json", RECORD)
    sqs = lake.client("sqs")
    url = sqs.get_queue_url(QueueName=lake.names.dead_letter_queue)["QueueUrl"]
    # What the ingestion queue moves to the dead letters after five failed receives: the S3 notification itself.
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(s3_event(stuck, lake.target.region)))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"not": "ours"}))
    Provisioner(lake.topology, lake.target.session, lake.target.endpoint).apply()

    done = redrive(lake.target)

    assert done.dead_letters_redriven == 1
    assert len(done.dead_letters_left) == 1, "a message lakebox cannot replay stays for a person"
    assert lake.outcome(stuck).status is FileStatus.PROCESSED
    records = lake.wait_for_stages(stuck.process_id, {"quality", "curation"}, deadline_s=90.0)
    assert sorted(r["Stage"] for r in records) == ["curation", "ingestion", "quality", "validation"], \
        "replayed twice (redrive and dead letter), one record per stage"
    leftover = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    for message in leftover:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_an_outcome_whose_raw_file_is_gone_is_orphaned(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = lake.put_raw(f"input/gone-{uuid.uuid4().hex[:6]}.json", RECORD)
    assert lake.outcome(gone).status is FileStatus.PROCESSED
    lake.s3.delete_object(Bucket=gone.bucket, Key=gone.key, VersionId=gone.version_id)

    for name, value in lake.cli_environment().items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["reconcile", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"key": gone.key, "process_id": gone.process_id, "status": "processed"} in report["orphaned"]
    assert gone.process_id not in {u["process_id"] for u in report["unfinished"]}
