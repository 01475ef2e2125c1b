"""S3: reading raw objects and writing processed and quarantined copies."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.exceptions import RawObjectMissing
from lakebox_layer.records import RawObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

_MISSING = {"NoSuchKey", "404", "NoSuchVersion", "NotFound"}


@dataclass(frozen=True)
class ObjectHead:
    size: int
    etag: str
    last_modified: datetime
    version_id: str | None


def _source(raw: RawObject) -> dict[str, str]:
    source = {"Bucket": raw.bucket, "Key": raw.key}
    if raw.version_id:
        source["VersionId"] = raw.version_id
    return source


class ObjectStore:
    """The pipeline's S3 operations, each naming its bucket explicitly."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    def head(self, raw: RawObject) -> ObjectHead:
        try:
            response = self._s3.head_object(**_source(raw))  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                raise RawObjectMissing(f"s3://{raw.bucket}/{raw.key} no longer exists") from error
            raise
        return ObjectHead(
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            last_modified=response["LastModified"],
            version_id=response.get("VersionId"),
        )

    def _get(self, raw: RawObject, **extra: Any) -> Any:
        try:
            return self._s3.get_object(**_source(raw), **extra)  # type: ignore[arg-type]
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                raise RawObjectMissing(f"s3://{raw.bucket}/{raw.key} no longer exists") from error
            raise

    def read_head(self, raw: RawObject, size: int) -> bytes:
        """The first `size` bytes of the object (a ranged GET, so a large file is not downloaded)."""
        if raw.size == 0:
            return b""
        return self._get(raw, Range=f"bytes=0-{size - 1}")["Body"].read()  # type: ignore[no-any-return]

    def open(self, raw: RawObject) -> Any:
        """The object's body as a stream; callers read it in chunks."""
        return self._get(raw)["Body"]

    def copy(self, raw: RawObject, bucket: str, key: str) -> None:
        """Server-side copy (multipart for large objects), so no byte passes through the function."""
        source: CopySourceTypeDef = _source(raw)  # type: ignore[assignment]
        try:
            self._s3.copy(source, bucket, key)
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                raise RawObjectMissing(f"s3://{raw.bucket}/{raw.key} no longer exists") from error
            raise

    def put_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
