"""Buckets: created with encryption, public access block, TLS-only policy, versioning and tags; each setting written
only where it differs; the raw bucket's notification."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from lakebox_infra.provision import storage
from tests.fakes.provision import NAMES, PLAIN_HTTP, TAG_LIST, TOPOLOGY, Stubs, missing

RAW = NAMES.raw_bucket
PROCESSED = NAMES.processed_bucket
AES256 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def bucket(bucket: str) -> dict[str, Any]:
    return {"Bucket": bucket}


def expect_settings_as_declared(s3: Stubber, name: str, *, tls: bool = True) -> None:
    s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": AES256}, bucket(name))
    s3.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": BLOCK}, bucket(name))
    if tls:
        # Read back re-serialised, as S3 does: compared as documents, not as text.
        policy = json.dumps(TOPOLOGY.tls_only_policy(name), sort_keys=True, indent=1)
        s3.add_response("get_bucket_policy", {"Policy": policy}, bucket(name))
    if name == RAW:
        s3.add_response("get_bucket_versioning", {"Status": "Enabled"}, bucket(name))
    s3.add_response("get_bucket_lifecycle_configuration", {"Rules": TOPOLOGY.lifecycle(name)}, bucket(name))
    s3.add_response("get_bucket_tagging", {"TagSet": TAG_LIST}, bucket(name))


def test_a_missing_bucket_is_created_with_every_setting() -> None:
    stubs = Stubs()
    s3 = stubs("s3")
    missing(s3, "head_bucket", "404", bucket(RAW))
    s3.add_response("create_bucket", {}, bucket(RAW))
    s3.add_response("head_bucket", {"ResponseMetadata": {"HTTPStatusCode": 200}}, bucket(RAW))  # the waiter
    missing(s3, "get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError", bucket(RAW))
    s3.add_response("put_bucket_encryption", {}, {"Bucket": RAW, "ServerSideEncryptionConfiguration": AES256})
    missing(s3, "get_public_access_block", "NoSuchPublicAccessBlockConfiguration", bucket(RAW))
    s3.add_response("put_public_access_block", {}, {"Bucket": RAW, "PublicAccessBlockConfiguration": BLOCK})
    missing(s3, "get_bucket_policy", "NoSuchBucketPolicy", bucket(RAW))
    s3.add_response("put_bucket_policy", {}, {"Bucket": RAW, "Policy": json.dumps(TOPOLOGY.tls_only_policy(RAW))})
    s3.add_response("get_bucket_versioning", {}, bucket(RAW))
    s3.add_response("put_bucket_versioning", {}, {"Bucket": RAW, "VersioningConfiguration": {"Status": "Enabled"}})
    missing(s3, "get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration", bucket(RAW))
    s3.add_response("put_bucket_lifecycle_configuration", {},
                    {"Bucket": RAW, "LifecycleConfiguration": {"Rules": TOPOLOGY.lifecycle(RAW)}})
    missing(s3, "get_bucket_tagging", "NoSuchTagSet", bucket(RAW))
    s3.add_response("put_bucket_tagging", {}, {"Bucket": RAW, "Tagging": {"TagSet": TAG_LIST}})

    storage.apply_bucket(stubs.context, RAW)

    stubs.done()
    assert stubs.changes == [
        ("created", f"bucket {RAW}"), ("set", f"encryption of {RAW}"), ("set", f"public access block of {RAW}"),
        ("set", f"TLS-only policy of {RAW}"), ("set", f"versioning of {RAW}"), ("set", f"lifecycle rules of {RAW}"),
        ("set", f"tags of bucket {RAW}"),
    ]


def test_a_bucket_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    s3 = stubs("s3")
    s3.add_response("head_bucket", {}, bucket(RAW))
    expect_settings_as_declared(s3, RAW)

    storage.apply_bucket(stubs.context, RAW)

    stubs.done()
    assert stubs.changes == []
    assert len(stubs.unchanged) == 7


def test_settings_that_differ_are_written_and_foreign_tags_kept() -> None:
    stubs = Stubs()
    s3 = stubs("s3")
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
    s3.add_response("head_bucket", {}, bucket(RAW))
    s3.add_response("get_bucket_encryption", {"ServerSideEncryptionConfiguration": kms}, bucket(RAW))
    s3.add_response("put_bucket_encryption", {}, {"Bucket": RAW, "ServerSideEncryptionConfiguration": AES256})
    s3.add_response("get_public_access_block",
                    {"PublicAccessBlockConfiguration": {**BLOCK, "BlockPublicPolicy": False}}, bucket(RAW))
    s3.add_response("put_public_access_block", {}, {"Bucket": RAW, "PublicAccessBlockConfiguration": BLOCK})
    s3.add_response("get_bucket_policy", {"Policy": json.dumps(TOPOLOGY.tls_only_policy(PROCESSED))}, bucket(RAW))
    s3.add_response("put_bucket_policy", {}, {"Bucket": RAW, "Policy": json.dumps(TOPOLOGY.tls_only_policy(RAW))})
    s3.add_response("get_bucket_versioning", {"Status": "Suspended"}, bucket(RAW))
    s3.add_response("put_bucket_versioning", {}, {"Bucket": RAW, "VersioningConfiguration": {"Status": "Enabled"}})
    # Read back as S3 gives it (a rule's prefix may come as the rule's own), and a retention changed since.
    found = [{**rule, "Filter": {}, "Prefix": ""} for rule in TOPOLOGY.lifecycle(RAW)]
    found[1]["NoncurrentVersionExpiration"] = {"NoncurrentDays": 3}
    s3.add_response("get_bucket_lifecycle_configuration", {"Rules": found}, bucket(RAW))
    s3.add_response("put_bucket_lifecycle_configuration", {},
                    {"Bucket": RAW, "LifecycleConfiguration": {"Rules": TOPOLOGY.lifecycle(RAW)}})
    s3.add_response("get_bucket_tagging", {"TagSet": [{"Key": "owner", "Value": "data"},
                                                      {"Key": "managed-by", "Value": "hand"}]}, bucket(RAW))
    s3.add_response("put_bucket_tagging", {}, {"Bucket": RAW, "Tagging": {"TagSet": [
        {"Key": "owner", "Value": "data"}, *TAG_LIST[1:], TAG_LIST[0]]}})

    storage.apply_bucket(stubs.context, RAW)

    stubs.done()
    assert [action for action, _ in stubs.changes] == ["set"] * 6
    assert stubs.unchanged == [f"bucket {RAW}"]


def test_over_plain_http_the_tls_only_policy_is_skipped_with_a_warning() -> None:
    stubs = Stubs(PLAIN_HTTP)
    s3 = stubs("s3")
    s3.add_response("head_bucket", {}, bucket(PROCESSED))
    expect_settings_as_declared(s3, PROCESSED, tls=False)

    storage.warn_without_tls(stubs.context)
    storage.apply_bucket(stubs.context, PROCESSED)

    stubs.done()
    assert stubs.changes == []
    [warning] = stubs.context.report.warnings
    assert "TLS-only policy is not set" in warning


def test_with_tls_there_is_no_warning() -> None:
    stubs = Stubs()
    storage.warn_without_tls(stubs.context)
    assert stubs.context.report.warnings == []


def test_the_raw_notification_is_set_when_it_differs_and_left_when_equal() -> None:
    stubs = Stubs()
    s3 = stubs("s3")
    wanted = TOPOLOGY.raw_notification
    s3.add_response("get_bucket_notification_configuration", wanted, bucket(RAW))
    other = {"QueueConfigurations": [{**wanted["QueueConfigurations"][0], "Events": ["s3:ObjectRemoved:*"]}]}
    s3.add_response("get_bucket_notification_configuration", other, bucket(RAW))
    s3.add_response("put_bucket_notification_configuration", {},
                    {"Bucket": RAW, "NotificationConfiguration": wanted})

    storage.apply_notification(stubs.context)
    storage.apply_notification(stubs.context)

    stubs.done()
    assert stubs.unchanged == [f"notification of {RAW}"]
    assert stubs.changes == [("set", f"notification of {RAW}")]


def test_teardown_empties_each_bucket_and_counts_missing_ones_as_absent() -> None:
    stubs = Stubs()
    s3 = stubs("s3")
    s3.add_response("head_bucket", {}, bucket(RAW))
    s3.add_response("list_object_versions", {"Versions": [{"Key": "input/a.json", "VersionId": "v1"}],
                                             "DeleteMarkers": [{"Key": "input/b.json", "VersionId": "v2"}]},
                    bucket(RAW))
    s3.add_response("delete_objects", {}, {"Bucket": RAW, "Delete": {"Objects": [
        {"Key": "input/a.json", "VersionId": "v1"}, {"Key": "input/b.json", "VersionId": "v2"}], "Quiet": True}})
    s3.add_response("list_objects_v2", {}, bucket(RAW))
    s3.add_response("delete_bucket", {}, bucket(RAW))
    for name in TOPOLOGY.buckets[1:]:
        missing(s3, "head_bucket", "404", bucket(name))

    storage.teardown_buckets(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"bucket {RAW}")]
    assert stubs.unchanged == [f"bucket {name} (absent)" for name in TOPOLOGY.buckets[1:]]


def test_lifecycle_rules_expire_overwritten_raw_versions_quarantine_and_query_results() -> None:
    """Raw files are never lost: only a version overwritten by a newer one expires; the current one stays."""
    def actions(bucket_name: str) -> dict[str, Any]:
        return {rule["ID"]: {k: v for k, v in rule.items() if k not in ("ID", "Status", "Filter")}
                for rule in TOPOLOGY.lifecycle(bucket_name)}

    settings = TOPOLOGY.settings
    assert actions(RAW) == {
        "abort-incomplete-uploads": {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
        "expire-overwritten-raw-versions": {"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}}
    assert actions(NAMES.quarantine_bucket)["expire-quarantined-files"] == {"Expiration": {"Days": 30}}
    [results] = [r for r in TOPOLOGY.lifecycle(PROCESSED) if r["ID"] == "expire-query-results"]
    assert (results["Filter"], results["Expiration"]) == ({"Prefix": "athena-results/"}, {"Days": 7})
    assert (settings.raw_noncurrent_days, settings.quarantine_days) == (30, 30)
    assert not [rule for rule in TOPOLOGY.lifecycle(RAW) if "Expiration" in rule]
