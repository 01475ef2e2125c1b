"""What S3 holds under one key, read by listing its versions: the operator may list every bucket but may neither read
nor head the raw, validated and quarantined files, which hold personal data as it came."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def key_versions(s3: S3Client, bucket: str, key: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The key's versions and delete markers, newest first. S3 lists a key's versions first among the keys it
    prefixes, so the listing stops at the first other key."""
    versions: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        listed = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        versions.extend(dict(v) for v in page.get("Versions", []) if v["Key"] == key)
        markers.extend(dict(m) for m in page.get("DeleteMarkers", []) if m["Key"] == key)
        if any(entry["Key"] != key for entry in listed):
            break
    return versions, markers


def current_version(s3: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    """The key's current version (Key, VersionId, ETag, Size); None when it has none or a delete marker is current.
    An unversioned bucket lists its one object as current."""
    versions, markers = key_versions(s3, bucket, key)
    if any(marker.get("IsLatest") for marker in markers):
        return None
    return next((version for version in versions if version.get("IsLatest", True)), None)
