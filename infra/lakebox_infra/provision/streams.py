"""The ingest stream: created with its shards, encrypted at rest, its retention and tags as declared; deleted by
teardown. A stream's shard count is left as found once it exists: resharding is an operation, not a setting."""

from __future__ import annotations

from functools import partial
from typing import Any

from lakebox_infra.provision.base import Context, absent, ensure
from lakebox_infra.provision.tags import ensure_tags

# A stream is ACTIVE a moment after it is created (at once on MiniStack, about 30 s on AWS).
WAIT: dict[str, float] = {"Delay": 1, "MaxAttempts": 180}


def _summary(ctx: Context) -> dict[str, Any]:
    kinesis = ctx.client("kinesis")
    return dict(kinesis.describe_stream_summary(StreamName=ctx.topology.stream.name)["StreamDescriptionSummary"])


def apply_stream(ctx: Context) -> None:
    """Create the stream when missing and wait until it is active; then its encryption, retention and tags."""
    kinesis = ctx.client("kinesis")
    stream = ctx.topology.stream

    # The stream as described once: by the read when it exists, after the create when it did not.
    found: dict[str, Any] = {}

    def read() -> dict[str, Any]:
        found.update(_summary(ctx))
        return {"StreamARN": found["StreamARN"]}

    def create(_: object) -> None:
        kinesis.create_stream(StreamName=stream.name, ShardCount=stream.shards,
                              StreamModeDetails={"StreamMode": "PROVISIONED"})
        kinesis.get_waiter("stream_exists").wait(StreamName=stream.name, WaiterConfig=WAIT)
        found.update(_summary(ctx))

    ensure(ctx, f"stream {stream.name}", read, {"StreamARN": stream.arn}, create, "created")

    def encrypt(_: object) -> None:
        kinesis.start_stream_encryption(StreamName=stream.name, EncryptionType="KMS", KeyId=stream.key_id)
        # The stream is UPDATING until encryption is on, and takes no other change meanwhile.
        kinesis.get_waiter("stream_exists").wait(StreamName=stream.name, WaiterConfig=WAIT)

    ensure(ctx, f"encryption of stream {stream.name}",
           lambda: {"EncryptionType": found.get("EncryptionType"), "KeyId": found.get("KeyId")},
           {"EncryptionType": "KMS", "KeyId": stream.key_id}, encrypt)

    def retain(_: object) -> None:
        hours = int(found.get("RetentionPeriodHours", stream.retention_hours))
        if hours < stream.retention_hours:
            kinesis.increase_stream_retention_period(StreamName=stream.name,
                                                     RetentionPeriodHours=stream.retention_hours)
        else:
            kinesis.decrease_stream_retention_period(StreamName=stream.name,
                                                     RetentionPeriodHours=stream.retention_hours)

    ensure(ctx, f"retention of stream {stream.name}", lambda: found.get("RetentionPeriodHours"),
           stream.retention_hours, retain)
    ensure_tags(ctx, "streams", f"stream {stream.name}",
                lambda: {tag["Key"]: tag["Value"]
                         for tag in kinesis.list_tags_for_stream(StreamName=stream.name, Limit=50).get("Tags", [])},
                lambda tags: kinesis.add_tags_to_stream(StreamName=stream.name, Tags=tags))


def teardown_stream(ctx: Context) -> None:
    """Delete the stream (with its records) and wait until it is gone."""
    absent(ctx, f"stream {ctx.topology.stream.name}", partial(_delete, ctx))


def _delete(ctx: Context) -> None:
    kinesis = ctx.client("kinesis")
    name = ctx.topology.stream.name
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig=WAIT)
