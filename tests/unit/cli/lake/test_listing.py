"""What S3 holds under a key, read by listing (the operator may list every bucket, not head personal data): the
current version, none when a delete marker is current, the listing stopped at the first other key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.stub import Stubber

from lakebox.lake.listing import current_version, key_versions
from tests.fakes.trace import version

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def client() -> S3Client:
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_the_current_version_is_the_one_listed_as_latest_and_other_keys_are_not_read() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        stub.add_response("list_object_versions", {
            "Versions": [version("in/a.csv", "old", "v1", latest=False), version("in/a.csv", "new", "v2", size=9),
                         version("in/a.csv.bak", "x", "v3")],
            "IsTruncated": True, "NextKeyMarker": "in/a.csv.bak", "NextVersionIdMarker": "v3"},
            {"Bucket": "raw", "Prefix": "in/a.csv"})
        current = current_version(s3, "raw", "in/a.csv")
        stub.assert_no_pending_responses()

    assert current is not None and (current["VersionId"], current["Size"]) == ("v2", 9)


def test_a_key_whose_current_version_is_a_delete_marker_has_none() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        stub.add_response("list_object_versions", {
            "Versions": [version("k", "e", "v1", latest=False)],
            "DeleteMarkers": [{"Key": "k", "VersionId": "d", "IsLatest": True}]}, {"Bucket": "b", "Prefix": "k"})
        versions, markers = key_versions(s3, "b", "k")
    with Stubber(s3) as stub:
        stub.add_response("list_object_versions", {
            "Versions": [version("k", "e", "v1", latest=False)],
            "DeleteMarkers": [{"Key": "k", "VersionId": "d", "IsLatest": True}]}, {"Bucket": "b", "Prefix": "k"})
        assert current_version(s3, "b", "k") is None

    assert [v["VersionId"] for v in versions] == ["v1"] and [m["VersionId"] for m in markers] == ["d"]


def test_an_unversioned_bucket_lists_its_object_as_current() -> None:
    s3 = client()
    with Stubber(s3) as stub:
        stub.add_response("list_object_versions", {"Versions": [
            {"Key": "k", "VersionId": "null", "ETag": '"e"', "Size": 3, "IsLatest": True}]},
            {"Bucket": "b", "Prefix": "k"})
        current = current_version(s3, "b", "k")

    assert current is not None and current["VersionId"] == "null"
