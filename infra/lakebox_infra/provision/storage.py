"""The buckets: encryption, public access block, TLS-only policy, versioning, lifecycle rules, tags, and the raw
bucket's notification; emptied and deleted on teardown."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from lakebox_infra.provision.base import Context, absent, current, ensure
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list

ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                       "RestrictPublicBuckets": True}


def warn_without_tls(ctx: Context) -> None:
    """Say once per run that an endpoint reached over plain HTTP gets no TLS-only policy."""
    if not ctx.capabilities.tls:
        ctx.report.warn(
            f"{ctx.capabilities.emulator} is reached over plain HTTP: the buckets' TLS-only policy is not set "
            "(it would refuse every request); on AWS it is"
        )


def apply_bucket(ctx: Context, bucket: str) -> None:
    """Create the bucket if missing, then set each of its settings that differs from the topology."""
    s3 = ctx.client("s3")
    if current(lambda: s3.head_bucket(Bucket=bucket)) is None:
        args: dict[str, Any] = {"Bucket": bucket}
        if ctx.names.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": ctx.names.region}
        s3.create_bucket(**args)
        s3.get_waiter("bucket_exists").wait(Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        ctx.report.changed("created", f"bucket {bucket}")
    else:
        ctx.report.same(f"bucket {bucket}")
    ensure(ctx, f"encryption of {bucket}",
           lambda: s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
               "ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"],
           "AES256",
           lambda _: s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=ENCRYPTION))
    ensure(ctx, f"public access block of {bucket}",
           lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
           PUBLIC_ACCESS_BLOCK,
           lambda _: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK))
    if ctx.capabilities.tls:
        tls_only = ctx.topology.tls_only_policy(bucket)
        ensure(ctx, f"TLS-only policy of {bucket}", lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"], tls_only,
               lambda _: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(tls_only)))
    if bucket in ctx.topology.versioned_buckets:
        ensure(ctx, f"versioning of {bucket}", lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status"),
               "Enabled",
               lambda _: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}))
    apply_lifecycle(ctx, bucket)
    ensure_tags(ctx, "buckets", f"bucket {bucket}",
                lambda: from_list(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]),
                lambda tags: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": to_list(tags)}))


def _rule_shape(rule: dict[str, Any]) -> dict[str, Any]:
    """A lifecycle rule as compared: what lakebox declares, in one shape whatever a service adds or leaves out."""
    found = rule.get("Filter") or {}
    return {"ID": rule.get("ID"), "Status": rule.get("Status"), "Prefix": found.get("Prefix", rule.get("Prefix", "")),
            **{action: rule[action] for action in ("Expiration", "NoncurrentVersionExpiration",
                                                   "AbortIncompleteMultipartUpload") if action in rule}}


def apply_lifecycle(ctx: Context, bucket: str) -> None:
    """The bucket's lifecycle rules, written where they differ (a rule someone else added is replaced too: the
    configuration is one document)."""
    s3 = ctx.client("s3")
    wanted = ctx.topology.lifecycle(bucket)
    ensure(ctx, f"lifecycle rules of {bucket}",
           lambda: sorted((_rule_shape(r) for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]),
                          key=lambda r: str(r["ID"])),
           sorted((_rule_shape(r) for r in wanted), key=lambda r: str(r["ID"])),
           lambda _: s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                                           LifecycleConfiguration={"Rules": wanted}))


def apply_notification(ctx: Context) -> None:
    """The raw bucket notifies the ingestion queue of new input files, and nothing else of anything."""
    s3 = ctx.client("s3")
    bucket = ctx.names.raw_bucket
    wanted = ctx.topology.raw_notification

    def read() -> dict[str, Any]:
        found = s3.get_bucket_notification_configuration(Bucket=bucket)
        queues = [{"Id": c.get("Id"), "QueueArn": c.get("QueueArn"), "Events": c.get("Events"),
                   "Filter": c.get("Filter")} for c in found.get("QueueConfigurations", [])]
        return {"queues": queues, "functions": bool(found.get("LambdaFunctionConfigurations"))}

    ensure(ctx, f"notification of {bucket}", read, {"queues": wanted["QueueConfigurations"], "functions": False},
           lambda _: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=wanted))


def teardown_buckets(ctx: Context) -> None:
    """Empty (every version) and delete each bucket."""
    for bucket in ctx.topology.buckets:
        absent(ctx, f"bucket {bucket}", partial(_delete_bucket, ctx, bucket))


def _delete_bucket(ctx: Context, bucket: str) -> None:
    s3 = ctx.client("s3")
    s3.head_bucket(Bucket=bucket)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                  for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        doomed = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if doomed:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)
