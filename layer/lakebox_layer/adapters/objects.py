"""S3: reading raw objects and writing processed and quarantined copies."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code, missing
from lakebox_layer.exceptions import RawObjectMissing, StorageError
from lakebox_layer.records import RawObject

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, GetObjectOutputTypeDef


DOWNLOAD_PIECE_BYTES = 1024 * 1024
# What S3 answers a conditional write whose key exists; some clients see only the HTTP status.
_KEY_EXISTS = frozenset({"PreconditionFailed", "412"})
# Up to this size a copy is one CopyObject call (S3 takes up to 5 GiB in one); past it, a managed multipart copy.
COPY_IN_ONE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ObjectHead:
    """What S3 tells of a raw object beside its bytes: its size, ETag, upload time and version."""

    size: int
    etag: str
    last_modified: datetime
    version_id: str | None


@dataclass(frozen=True)
class ObjectPeek:
    """A raw object's head and its first bytes, from one GET."""

    head: ObjectHead
    start: bytes


def _total_size(response: GetObjectOutputTypeDef) -> int:
    """The whole object's size: a ranged answer's `Content-Range` ends with it; a whole one's length is it."""
    content_range = response.get("ContentRange") or ""
    total = content_range.rpartition("/")[2]
    return int(total) if total.isdigit() else response["ContentLength"]


def _source(raw: RawObject) -> dict[str, str]:
    source = {"Bucket": raw.bucket, "Key": raw.key}
    if raw.version_id:
        source["VersionId"] = raw.version_id
    return source


@contextmanager
def _mapped(what: str, raw: RawObject | None = None) -> Iterator[None]:
    """S3 errors as lakebox errors: a raw object that is gone is :class:`RawObjectMissing`, anything else
    :class:`StorageError` naming the operation and the code."""
    try:
        yield
    except ClientError as error:
        if raw is not None and missing(error):
            raise RawObjectMissing(f"s3://{raw.bucket}/{raw.key} no longer exists") from error
        raise StorageError(f"{what}: {error_code(error)}") from error


class ObjectStore:
    """The pipeline's S3 operations, each naming its bucket explicitly."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3

    def _get(self, raw: RawObject, **extra: Any) -> GetObjectOutputTypeDef:
        with _mapped(f"reading s3://{raw.bucket}/{raw.key}", raw):
            return self._s3.get_object(**_source(raw), **extra)  # type: ignore[arg-type]

    def peek(self, raw: RawObject, size: int) -> ObjectPeek:
        """The object's head and its first `size` bytes in one ranged GET (no HEAD before it). The read stops at
        `size` and closes the stream whatever the server sends (MiniStack ignores `Range` on a GET that names a
        `VersionId`); an empty object is read without a range, which S3 would refuse."""
        response = self._get(raw, Range=f"bytes=0-{size - 1}") if raw.size else self._get(raw)
        body = response["Body"]
        try:
            with _mapped(f"reading s3://{raw.bucket}/{raw.key}", raw):
                start = body.read(size)
        finally:
            body.close()
        head = ObjectHead(size=_total_size(response), etag=response["ETag"].strip('"'),
                          last_modified=response["LastModified"], version_id=response.get("VersionId"))
        return ObjectPeek(head, start)

    def open(self, raw: RawObject) -> StreamingBody:
        """The object's body as a stream; callers read it in chunks."""
        return self._get(raw)["Body"]

    def copy(self, raw: RawObject, bucket: str, key: str, content_type: str | None = None) -> None:
        """Server-side copy, so no byte passes through the function: one CopyObject up to COPY_IN_ONE_BYTES (the
        size the event gave), a managed multipart copy (a HEAD, then parts in parallel) past it; with a content
        type the copy gets it in place of the raw object's."""
        source: CopySourceTypeDef = _source(raw)  # type: ignore[assignment]
        extra = {"ContentType": content_type, "MetadataDirective": "REPLACE"} if content_type else {}
        with _mapped(f"copying s3://{raw.bucket}/{raw.key} to s3://{bucket}/{key}", raw):
            if raw.size <= COPY_IN_ONE_BYTES:
                self._s3.copy_object(CopySource=source, Bucket=bucket, Key=key, **extra)  # type: ignore[arg-type]
            else:
                self._s3.copy(source, bucket, key, ExtraArgs=extra or None)

    def writer(self, bucket: str, key: str, content_type: str) -> ObjectWriter:
        """A streaming writer of a new object (see :class:`ObjectWriter`)."""
        return ObjectWriter(self._s3, bucket, key, content_type)

    def download_to(self, bucket: str, key: str, path: Path) -> None:
        """Stream an object to a local file in pieces of DOWNLOAD_PIECE_BYTES: one GET (a managed transfer would
        HEAD first), never more than a piece in memory."""
        with _mapped(f"downloading s3://{bucket}/{key}"):
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                with path.open("wb") as local:
                    for piece in body.iter_chunks(DOWNLOAD_PIECE_BYTES):
                        local.write(piece)
            finally:
                body.close()

    def upload_from(self, path: Path, bucket: str, key: str, content_type: str) -> None:
        """Put a local file: one PutObject streamed from the file up to PART_BYTES, past it a multipart upload of
        parts read one at a time (a managed transfer reads parts ahead and sends two at once: 30 MiB more at the
        peak of a large curation); the same key again overwrites it, and a failed upload is aborted."""
        with _mapped(f"uploading s3://{bucket}/{key}"):
            if path.stat().st_size <= PART_BYTES:
                with path.open("rb") as body:
                    self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
                return
            writer = ObjectWriter(self._s3, bucket, key, content_type, part_bytes=PART_BYTES)
            try:
                with path.open("rb") as local:
                    while piece := local.read(PART_BYTES):
                        writer.write(piece)
                writer.commit()
            except BaseException:
                with suppress(StorageError):  # the upload's own failure is the one to report
                    writer.abort()
                raise

    def put_once(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        """Write the object only if its key is free (`If-None-Match: *`): True when written, False when the key
        exists already (an earlier attempt wrote it). In a versioned bucket a second write of the same key, even of
        the same bytes, would be a new version with its own notification. A concurrent conditional write of the
        same key (409) is a :class:`StorageError`."""
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
        except ClientError as error:
            if error_code(error) in _KEY_EXISTS:
                return False
            raise StorageError(f"writing s3://{bucket}/{key} once: {error_code(error)}") from error
        return True

    def put_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        """Write a small JSON document (an error report) in one PUT."""
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode()
        with _mapped(f"writing s3://{bucket}/{key}"):
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    def tag(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        """Give an object these tags (its whole set)."""
        with _mapped(f"tagging s3://{bucket}/{key}"):
            self._s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={
                "TagSet": [{"Key": name, "Value": value} for name, value in tags.items()]})


PART_BYTES = 8 * 1024 * 1024


class ObjectWriter:
    """An S3 object written as it is produced: parts of PART_BYTES go up as a multipart upload, a small object as
    one PUT. Nothing is visible until :meth:`commit`; :meth:`abort` leaves no trace. At most one part's bytes are
    held."""

    def __init__(self, s3: S3Client, bucket: str, key: str, content_type: str, part_bytes: int = PART_BYTES) -> None:
        self._s3 = s3
        self.bucket = bucket
        self.key = key
        self._content_type = content_type
        self._part_bytes = part_bytes
        self._buffer = io.BytesIO()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self.bytes_written = 0

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def write(self, data: bytes) -> None:
        self.bytes_written += len(data)
        if not self._buffer.tell() and len(data) >= self._part_bytes:
            self._upload_part(data)  # a whole part already: sent as it is, not copied into the buffer first
            return
        self._buffer.write(data)
        if self._buffer.tell() >= self._part_bytes:
            self._upload_part()

    def _body(self) -> bytes:
        """The buffered bytes, and a new buffer: `getvalue` of a buffer no longer written to hands over its bytes
        without a copy (a bytearray's `bytes()` would hold the part twice)."""
        body = self._buffer.getvalue()
        self._buffer = io.BytesIO()
        return body

    def _upload_part(self, body: bytes | None = None) -> None:
        with _mapped(f"uploading a part of {self.uri}"):
            self._send_part(self._body() if body is None else body)

    def _send_part(self, body: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self._content_type)["UploadId"]
        number = len(self._parts) + 1
        response = self._s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                                        PartNumber=number, Body=body)
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def commit(self) -> None:
        if self._upload_id is None:
            with _mapped(f"writing {self.uri}"):
                self._s3.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(),
                                    ContentType=self._content_type)
        else:
            if self._buffer.tell():
                self._upload_part()
            with _mapped(f"completing {self.uri}"):
                self._s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts})  # type: ignore[typeddict-item]
        self._buffer = io.BytesIO()

    def abort(self) -> None:
        if self._upload_id is not None:
            with _mapped(f"aborting the upload of {self.uri}"):
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._upload_id = None
        self._buffer = io.BytesIO()


class PresignedUploads:
    """Presigned S3 PUT URLs for files producers send through the ingestion API, from the S3 client for an endpoint
    (None: the default one), which signs with SigV4 (see `AwsClients.presigning_s3`)."""

    def __init__(self, s3_at: Callable[[str | None], S3Client]) -> None:
        self._s3_at = s3_at

    def put_url(self, bucket: str, key: str, size: int, expires_s: int, endpoint_url: str | None = None) -> str:
        """A URL that PUTs exactly `size` bytes to the key, valid `expires_s` seconds (S3 refuses another length:
        the Content-Length is signed), at `endpoint_url` when given."""
        with _mapped(f"presigning a PUT of s3://{bucket}/{key}"):
            return self._s3_at(endpoint_url).generate_presigned_url(
                "put_object", Params={"Bucket": bucket, "Key": key, "ContentLength": size}, ExpiresIn=expires_s)
