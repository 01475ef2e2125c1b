"""The ingest stream: created with its shards, encrypted, its retention and tags set only where they differ; deleted
by teardown, a missing stream counting as absent. Waiters read describe_stream, answered at once (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from lakebox_infra.provision import streams
from tests.fakes.provision import TAG_LIST, TAGS, TOPOLOGY, Stubs, missing

NAME = "lakebox-ingest"
ARN = "arn:aws:kinesis:us-east-1:000000000000:stream/lakebox-ingest"
KEY = "alias/aws/kinesis"
CREATED_AT = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
NOT_THERE = "ResourceNotFoundException"


def summary(**overrides: Any) -> dict[str, Any]:
    """describe_stream_summary's answer for a stream as declared, unless overridden (None removes a key)."""
    found = {"StreamName": NAME, "StreamARN": ARN, "StreamStatus": "ACTIVE",
             "StreamModeDetails": {"StreamMode": "PROVISIONED"}, "RetentionPeriodHours": 24,
             "StreamCreationTimestamp": CREATED_AT, "EnhancedMonitoring": [],
             "EncryptionType": "KMS", "KeyId": KEY, "OpenShardCount": 2, **overrides}
    return {"StreamDescriptionSummary": {key: value for key, value in found.items() if value is not None}}


def expect_summary(kinesis: Stubber, **overrides: Any) -> None:
    kinesis.add_response("describe_stream_summary", summary(**overrides), {"StreamName": NAME})


def expect_active(kinesis: Stubber) -> None:
    """The stream_exists waiter's one read: ACTIVE at once."""
    kinesis.add_response("describe_stream", {"StreamDescription": {
        "StreamName": NAME, "StreamARN": ARN, "StreamStatus": "ACTIVE", "Shards": [], "HasMoreShards": False,
        "RetentionPeriodHours": 24, "StreamCreationTimestamp": CREATED_AT, "EnhancedMonitoring": []}},
        {"StreamName": NAME})


def expect_tags(kinesis: Stubber, found: dict[str, str]) -> None:
    kinesis.add_response("list_tags_for_stream", {
        "Tags": [{"Key": key, "Value": value} for key, value in found.items()], "HasMoreTags": False},
        {"StreamName": NAME, "Limit": 50})
    if {key: found.get(key) for key in TAGS} != TAGS:
        kinesis.add_response("add_tags_to_stream", {}, {"StreamName": NAME, "Tags": {**found, **TAGS}})


def expect_encryption(kinesis: Stubber) -> None:
    kinesis.add_response("start_stream_encryption", {},
                         {"StreamName": NAME, "EncryptionType": "KMS", "KeyId": KEY})
    # The stream is UPDATING until the key is on: waited for before any other change.
    expect_active(kinesis)


def test_the_declared_stream_is_the_topologys() -> None:
    stream = TOPOLOGY.stream
    assert (stream.name, stream.arn, stream.shards, stream.retention_hours, stream.key_id) == (NAME, ARN, 2, 24, KEY)
    assert TAG_LIST == [{"Key": "project", "Value": "lakebox"}, {"Key": "managed-by", "Value": "lakebox"}]


def test_a_missing_stream_is_created_with_its_shards_then_encrypted_and_tagged() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    missing(kinesis, "describe_stream_summary", NOT_THERE, {"StreamName": NAME}, 400)
    kinesis.add_response("create_stream", {}, {"StreamName": NAME, "ShardCount": 2,
                                               "StreamModeDetails": {"StreamMode": "PROVISIONED"}})
    expect_active(kinesis)
    # A new stream is unencrypted, with Kinesis's default retention (the declared one).
    expect_summary(kinesis, EncryptionType="NONE", KeyId=None)
    expect_encryption(kinesis)
    expect_tags(kinesis, {})

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"stream {NAME}"), ("set", f"encryption of stream {NAME}"),
                             ("set", f"tags of stream {NAME}")]
    assert stubs.unchanged == [f"retention of stream {NAME}"]


def test_a_stream_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis)
    # Tags the topology does not name are left as they are.
    expect_tags(kinesis, {**TAGS, "owner": "data"})

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"stream {NAME}", f"encryption of stream {NAME}", f"retention of stream {NAME}",
                               f"tags of stream {NAME}"]
    assert stubs.context.report.summary() == "no changes: all 4 resources already as declared"


def test_an_existing_stream_keeps_its_shard_count() -> None:
    # Resharding is an operation, not a setting: five open shards found are no reason to write anything.
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis, OpenShardCount=5)
    expect_tags(kinesis, TAGS)

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == []


def test_an_unencrypted_stream_is_encrypted_with_the_declared_key() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis, EncryptionType="NONE", KeyId=None)
    expect_encryption(kinesis)
    expect_tags(kinesis, TAGS)

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("set", f"encryption of stream {NAME}")]


def test_a_stream_encrypted_with_another_key_is_given_the_declared_one() -> None:
    other = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis, KeyId=other)
    expect_encryption(kinesis)
    expect_tags(kinesis, TAGS)

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("set", f"encryption of stream {NAME}")]


def test_a_longer_retention_is_decreased_to_the_declared_one() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis, RetentionPeriodHours=168)
    kinesis.add_response("decrease_stream_retention_period", {}, {"StreamName": NAME, "RetentionPeriodHours": 24})
    expect_tags(kinesis, TAGS)

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("set", f"retention of stream {NAME}")]


def test_a_shorter_retention_is_increased_to_the_declared_one() -> None:
    # AWS keeps records 24 hours at least; an emulator may report less.
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis, RetentionPeriodHours=12)
    kinesis.add_response("increase_stream_retention_period", {}, {"StreamName": NAME, "RetentionPeriodHours": 24})
    expect_tags(kinesis, TAGS)

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("set", f"retention of stream {NAME}")]


def test_encryption_retention_and_tags_are_all_set_when_all_differ() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    expect_summary(kinesis, EncryptionType="NONE", KeyId=None, RetentionPeriodHours=48)
    expect_encryption(kinesis)
    kinesis.add_response("decrease_stream_retention_period", {}, {"StreamName": NAME, "RetentionPeriodHours": 24})
    expect_tags(kinesis, {"project": "other"})

    streams.apply_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("set", f"encryption of stream {NAME}"), ("set", f"retention of stream {NAME}"),
                             ("set", f"tags of stream {NAME}")]


def test_teardown_deletes_the_stream_with_its_consumers_and_waits_until_it_is_gone() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    kinesis.add_response("delete_stream", {}, {"StreamName": NAME, "EnforceConsumerDeletion": True})
    # The stream_not_exists waiter's one read: gone at once.
    missing(kinesis, "describe_stream", NOT_THERE, {"StreamName": NAME}, 400)

    streams.teardown_stream(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"stream {NAME}")]
    assert stubs.unchanged == []


def test_teardown_counts_a_missing_stream_as_absent() -> None:
    stubs = Stubs()
    kinesis = stubs("kinesis")
    missing(kinesis, "delete_stream", NOT_THERE, {"StreamName": NAME, "EnforceConsumerDeletion": True}, 400)

    streams.teardown_stream(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"stream {NAME} (absent)"]
