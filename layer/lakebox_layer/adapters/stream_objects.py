"""S3: the stream batcher's create-once writes.

The raw bucket is versioned: writing a key again, even with the same bytes, makes a new version, a new notification
and a new process id, so its records would be processed twice. The batcher therefore writes each object only if its
key does not exist yet (`If-None-Match: *`, honoured by S3 since 2024-11 and by MiniStack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# What S3 answers a conditional write whose key exists; some clients see only the HTTP status.
_EXISTS = frozenset({"PreconditionFailed", "412"})


class CreateOnceStore:
    """PutObject only where nothing is."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    def put_once(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        """Write the object if its key is free: True when written, False when the key exists already (an earlier
        attempt wrote it). One PutObject: a body past 5 GiB would need a multipart upload, which the batcher's
        bounds never come near. A concurrent conditional write of the same key (409) is a :class:`StorageError`."""
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
        except ClientError as error:
            if error_code(error) in _EXISTS:
                return False
            raise StorageError(f"writing s3://{bucket}/{key} once: {error_code(error)}") from error
        return True
