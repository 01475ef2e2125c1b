"""reconcile and redrive on records the stages really write: finished means quality recorded, and curation too for a
processed file; a validated file is redriven with its "Data Validated" event, any other with its S3 event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from lakebox.lake.target import Target
from lakebox.reconcile.accounting import reconcile
from lakebox.reconcile.redrive import redrive
from lakebox_layer.adapters.metadata import marshal, unmarshal
from lakebox_layer.notifications import REDRIVE_MARKER
from lakebox_layer.records import DataValidated, FileStatus, RawObject
from lakebox_layer.registry import DATA_VALIDATED, Stage
from lakebox_layer.settings import ResourceNames
from lakebox_layer.stages.recorder import stage_record
from tests.fakes.stages import BAD_EMAIL_JSONL, GOOD_JSON, RAW, SETTINGS, Harness

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
INGESTION_QUEUE = f"queue/{NAMES.stage_queue('ingestion')}"


# -- the target reconcile and redrive talk to, on the harness's records -----------------------------------------


@dataclass
class FakeS3:
    """list_object_versions over the harness's raw bucket: every object one version, as FakeObjectStore uploads."""

    harness: Harness

    def get_paginator(self, name: str) -> FakeS3:
        assert name == "list_object_versions"
        return self

    def paginate(self, *, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
        bodies = self.harness.objects.buckets.get(Bucket, {})
        return [{"Versions": [{"Key": key, "ETag": '"etag-1"', "Size": len(body), "VersionId": "v1"}
                              for key, body in sorted(bodies.items()) if key.startswith(Prefix)]}]


@dataclass
class FakeEvents:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


@dataclass
class FakeSqs:
    """The ingestion queue keeps what is sent; the dead-letter queue is empty."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def get_queue_url(self, *, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"queue/{QueueName}"}

    def send_message(self, *, QueueUrl: str, MessageBody: str) -> None:
        self.sent.append((QueueUrl, json.loads(MessageBody)))

    def receive_message(self, **_: Any) -> dict[str, Any]:
        return {"Messages": []}


@dataclass
class FakeSession:
    sqs: FakeSqs

    def client(self, service: str, **_: Any) -> FakeSqs:
        assert service == "sqs"
        return self.sqs


@dataclass
class FakeClients:
    s3: FakeS3
    events: FakeEvents


@dataclass
class FakeIndex:
    """The status index: the records that carry the pipeline, as DynamoDB gives them back."""

    harness: Harness
    queries: list[str] = field(default_factory=list)

    def file_records(self, pipeline: str) -> list[dict[str, Any]]:
        self.queries.append(pipeline)
        return [unmarshal(marshal(item)) for item in self.harness.metadata.items.values()
                if item.get("Pipeline") == pipeline]


@dataclass
class FakeTarget:
    harness: Harness
    region: str = "us-east-1"
    endpoint: str | None = None
    names: ResourceNames = NAMES
    settings: Any = SETTINGS
    sqs: FakeSqs = field(default_factory=FakeSqs)
    events: FakeEvents = field(default_factory=FakeEvents)

    def __post_init__(self) -> None:
        self.metadata = FakeIndex(self.harness)
        self.clients = FakeClients(FakeS3(self.harness), self.events)
        self.session = FakeSession(self.sqs)

    @property
    def target(self) -> Target:
        return cast(Target, self)


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def lake(harness: Harness) -> FakeTarget:
    return FakeTarget(harness)


def validated(harness: Harness, key: str, body: bytes, *, quality: bool = True) -> DataValidated:
    """A file ingested and validated; the event validation published, and quality run on it unless told not to."""
    outcome = harness.validate(key, body)
    if quality:
        assert harness.quality.assess_quality(outcome) is not None
    return outcome


def curate(harness: Harness, file: DataValidated) -> None:
    harness.metadata.put_stage(stage_record(file.process_id, file.arrived_at, Stage.CURATION,
                                            Pipeline=SETTINGS.project, RawKey=file.key, CurationStatus="curated"))


def unfinished(lake: FakeTarget) -> dict[str, str]:
    return {u.key: u.status for u in reconcile(lake.target).unfinished}


# -- reconcile ----------------------------------------------------------------------------------------------------


def test_the_quality_record_is_in_the_status_index(harness: Harness) -> None:
    validated(harness, "input/a.json", GOOD_JSON)
    [record] = harness.metadata.stage("quality")
    assert record["Pipeline"] == SETTINGS.project
    assert record["RawKey"] == "input/a.json"
    assert "Status" not in record


def test_a_processed_file_without_curation_is_awaiting_curation(harness: Harness, lake: FakeTarget) -> None:
    file = validated(harness, "input/a.json", GOOD_JSON)
    assert file.status is FileStatus.PROCESSED

    found = reconcile(lake.target)

    assert [(u.key, u.process_id, u.version_id, u.status) for u in found.unfinished] == \
        [("input/a.json", file.process_id, "v1", "awaiting curation")]
    assert found.orphaned == []


def test_a_quarantined_file_is_finished_once_quality_recorded_it(harness: Harness, lake: FakeTarget) -> None:
    file = validated(harness, "input/b.jsonl", BAD_EMAIL_JSONL)
    assert file.status is FileStatus.QUARANTINED

    found = reconcile(lake.target)

    assert found.raw_objects == 1
    assert found.unfinished == []
    assert lake.metadata.queries == [SETTINGS.project], "one query of the status index, no per-file reads"


@pytest.mark.parametrize(("key", "body"), [("input/a.json", GOOD_JSON), ("input/b.jsonl", BAD_EMAIL_JSONL)])
def test_a_validated_file_quality_has_not_recorded_is_awaiting_quality(
        harness: Harness, lake: FakeTarget, key: str, body: bytes) -> None:
    validated(harness, key, body, quality=False)
    assert unfinished(lake) == {key: "awaiting quality"}


def test_a_processed_file_is_finished_once_curation_recorded_it(harness: Harness, lake: FakeTarget) -> None:
    curate(harness, validated(harness, "input/a.json", GOOD_JSON))
    assert unfinished(lake) == {}


def test_every_file_says_what_it_waits_for(harness: Harness, lake: FakeTarget) -> None:
    validated(harness, "input/1-done.jsonl", BAD_EMAIL_JSONL)
    validated(harness, "input/2-curation.json", GOOD_JSON)
    validated(harness, "input/3-quality.json", GOOD_JSON, quality=False)
    harness.ingest("input/4-ingested.json", GOOD_JSON)
    harness.objects.upload("input/5-lost.json", GOOD_JSON)
    curate(harness, validated(harness, "input/6-curated.json", GOOD_JSON))

    found = reconcile(lake.target)

    assert found.raw_objects == 6
    assert [(u.key, u.status) for u in found.unfinished] == [
        ("input/2-curation.json", "awaiting curation"),
        ("input/3-quality.json", "awaiting quality"),
        ("input/4-ingested.json", "in_progress"),
        ("input/5-lost.json", "not ingested"),
    ]
    assert found.to_json()["unfinished"][0]["status"] == "awaiting curation"


def test_a_file_ingestion_failed_but_whose_raw_object_is_there_is_awaiting_validation(
        harness: Harness, lake: FakeTarget) -> None:
    # The object was not there when its notification came (ingestion recorded "failed"), and is there now.
    key = "input/late.json"
    assert harness.ingestion.ingest(RawObject(RAW, key, "etag-1", len(GOOD_JSON), "v1")) is None
    harness.objects.upload(key, GOOD_JSON)

    assert unfinished(lake) == {key: "awaiting validation"}
    done = redrive(lake.target)
    assert [url for url, _ in lake.sqs.sent] == [INGESTION_QUEUE]
    assert (done.resubmitted, done.reannounced, lake.events.entries) == ([key], [], [])


def test_a_quality_record_without_the_validation_record_is_still_in_progress(
        harness: Harness, lake: FakeTarget) -> None:
    # Validation publishes before it records: quality can be quicker than the validation record.
    file = validated(harness, "input/a.json", GOOD_JSON)
    del harness.metadata.items[(file.process_id, f"{file.arrived_at}#2-validation")]
    assert unfinished(lake) == {"input/a.json": "in_progress"}


def test_an_outcome_whose_raw_object_is_gone_is_orphaned_whatever_stages_followed(
        harness: Harness, lake: FakeTarget) -> None:
    file = validated(harness, "input/b.jsonl", BAD_EMAIL_JSONL)
    harness.objects.delete(RawObject(RAW, file.key, "etag-1", 0, "v1"))

    found = reconcile(lake.target)

    assert [(o.key, o.process_id, o.status) for o in found.orphaned] == [(file.key, file.process_id, "quarantined")]
    assert found.unfinished == []


# -- redrive ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quality", [False, True], ids=["quality-missing", "curation-missing"])
def test_a_validated_file_is_redriven_with_its_data_validated_event(
        harness: Harness, lake: FakeTarget, quality: bool) -> None:
    file = validated(harness, "input/a.json", GOOD_JSON, quality=quality)
    [published] = harness.events.of_type(DATA_VALIDATED.detail_type)

    done = redrive(lake.target)

    [entry] = lake.events.entries
    assert entry["Source"] == DATA_VALIDATED.source
    assert entry["DetailType"] == DATA_VALIDATED.detail_type
    assert entry["EventBusName"] == NAMES.event_bus
    again = DataValidated.from_detail(json.loads(entry["Detail"]))
    assert again == file == DataValidated.from_detail(published)
    assert lake.sqs.sent == [], "ingestion would take a validated file for a duplicate"
    assert (done.resubmitted, done.reannounced) == (["input/a.json"], ["input/a.json"])
    assert done.to_json()["reannounced"] == ["input/a.json"]


def test_the_redriven_event_brings_the_missing_quality_record(harness: Harness, lake: FakeTarget) -> None:
    validated(harness, "input/b.jsonl", BAD_EMAIL_JSONL, quality=False)
    redrive(lake.target)
    [entry] = lake.events.entries

    assert harness.quality.assess_quality(DataValidated.from_detail(json.loads(entry["Detail"]))) is not None
    assert unfinished(lake) == {}
    assert redrive(lake.target).resubmitted == []
    assert len(lake.events.entries) == 1


def test_files_not_validated_yet_are_redriven_as_s3_events(harness: Harness, lake: FakeTarget) -> None:
    harness.ingest("input/a.json", GOOD_JSON)
    harness.objects.upload("input/b.json", GOOD_JSON)

    done = redrive(lake.target)

    assert lake.events.entries == []
    assert [url for url, _ in lake.sqs.sent] == [INGESTION_QUEUE, INGESTION_QUEUE]
    sent = [message["Records"][0]["s3"]["object"] for _, message in lake.sqs.sent]
    assert [(o["key"], o["versionId"]) for o in sent] == [("input/a.json", "v1"), ("input/b.json", "v1")]
    assert all(message[REDRIVE_MARKER] is True for _, message in lake.sqs.sent)
    assert (done.resubmitted, done.reannounced) == (["input/a.json", "input/b.json"], [])


def test_redrive_leaves_finished_files_alone(harness: Harness, lake: FakeTarget) -> None:
    validated(harness, "input/b.jsonl", BAD_EMAIL_JSONL)
    curate(harness, validated(harness, "input/a.json", GOOD_JSON))

    done = redrive(lake.target)

    assert (done.resubmitted, lake.events.entries, lake.sqs.sent) == ([], [], [])
