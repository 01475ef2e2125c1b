"""ObjectStore and ObjectWriter against a small fake S3 client that records every call (no network)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lakebox_layer.adapters.objects import COPY_IN_ONE_BYTES, PART_BYTES, ObjectStore, ObjectWriter
from lakebox_layer.exceptions import RawObjectMissing, StorageError
from lakebox_layer.records import RawObject

S3_MINIMUM_PART = 5 * 1024 * 1024  # every part but the last must be at least this big on S3


def missing(operation: str, code: str = "NoSuchKey") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "gone"}}, operation)


@dataclass
class FakeS3:
    """Objects appear in `objects` only on put_object or complete_multipart_upload, as on S3."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    content_types: dict[tuple[str, str], str] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_with: ClientError | None = None

    def _record(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        if self.fail_with is not None:
            raise self.fail_with

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self._record("put_object", Bucket=Bucket, Key=Key, Body=Body, ContentType=ContentType)
        self.objects[(Bucket, Key)] = Body
        self.content_types[(Bucket, Key)] = ContentType
        return {"ETag": '"e"'}

    def create_multipart_upload(self, *, Bucket: str, Key: str, ContentType: str) -> dict[str, Any]:
        self._record("create_multipart_upload", Bucket=Bucket, Key=Key, ContentType=ContentType)
        upload_id = f"upload-{len(self.uploads) + 1}"
        self.uploads[upload_id] = {"key": (Bucket, Key), "parts": {}, "content_type": ContentType}
        return {"UploadId": upload_id}

    def upload_part(self, *, Bucket: str, Key: str, UploadId: str, PartNumber: int,
                    Body: bytes) -> dict[str, Any]:
        self._record("upload_part", Bucket=Bucket, Key=Key, UploadId=UploadId, PartNumber=PartNumber, Body=Body)
        self.uploads[UploadId]["parts"][PartNumber] = Body
        return {"ETag": f'"etag-{PartNumber}"'}

    def complete_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str,
                                  MultipartUpload: dict[str, Any]) -> dict[str, Any]:
        self._record("complete_multipart_upload", Bucket=Bucket, Key=Key, UploadId=UploadId,
                     MultipartUpload=MultipartUpload)
        upload = self.uploads.pop(UploadId)
        numbers = [part["PartNumber"] for part in MultipartUpload["Parts"]]
        assert numbers == sorted(numbers) == list(range(1, len(numbers) + 1))
        assert [part["ETag"] for part in MultipartUpload["Parts"]] == [f'"etag-{n}"' for n in numbers]
        self.objects[(Bucket, Key)] = b"".join(upload["parts"][n] for n in numbers)
        self.content_types[(Bucket, Key)] = upload["content_type"]
        return {}

    def abort_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str) -> dict[str, Any]:
        self._record("abort_multipart_upload", Bucket=Bucket, Key=Key, UploadId=UploadId)
        del self.uploads[UploadId]
        return {}

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        # Like MiniStack for a GET naming a version: the whole object, whatever the Range.
        self._record("get_object", **kwargs)
        return {"Body": io.BytesIO(b"0123456789ab"), "ContentLength": 12, "ETag": '"abc"',
                "LastModified": datetime(2026, 1, 15, tzinfo=UTC), "VersionId": "v9"}

    def copy(self, source: dict[str, str], bucket: str, key: str, ExtraArgs: dict[str, str] | None = None) -> None:
        self._record("copy", source=source, bucket=bucket, key=key, extra=ExtraArgs)

    def copy_object(self, **kwargs: Any) -> dict[str, Any]:
        self._record("copy_object", **kwargs)
        return {}


def part_sizes(s3: FakeS3) -> list[int]:
    return [len(kwargs["Body"]) for name, kwargs in s3.calls if name == "upload_part"]


# -- ObjectWriter -------------------------------------------------------------------------------------------------


def test_a_small_object_is_one_put_at_commit() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "validated/t/a.csv", "text/csv", part_bytes=100)  # type: ignore[arg-type]
    writer.write(b"id,name\n")
    writer.write(b"1,Ann\n")
    assert s3.calls == []  # nothing visible, nothing sent
    writer.commit()
    assert s3.names() == ["put_object"]
    assert s3.objects == {("b", "validated/t/a.csv"): b"id,name\n1,Ann\n"}
    assert s3.content_types[("b", "validated/t/a.csv")] == "text/csv"
    assert writer.bytes_written == 14
    assert writer.uri == "s3://b/validated/t/a.csv"


def test_an_empty_object_is_committed_as_an_empty_put() -> None:
    s3 = FakeS3()
    ObjectWriter(s3, "b", "k", "application/x-ndjson").commit()  # type: ignore[arg-type]
    assert s3.objects == {("b", "k"): b""}


def test_a_large_object_goes_up_in_parts_and_appears_only_at_commit() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "text/csv", part_bytes=10)  # type: ignore[arg-type]
    data = [b"abcd", b"efgh", b"ijkl", b"mnopqrstuvwxyz", b"0", b"12"]
    for piece in data:
        writer.write(piece)
    assert s3.names()[0] == "create_multipart_upload"
    assert s3.names().count("create_multipart_upload") == 1
    assert s3.objects == {}  # parts uploaded, but no object yet
    writer.commit()
    assert "put_object" not in s3.names()
    assert s3.names()[-1] == "complete_multipart_upload"
    # A part goes up once the buffer reaches part_bytes; the rest goes up as the last part at commit.
    assert part_sizes(s3) == [12, 14, 3]
    assert all(size >= 10 for size in part_sizes(s3)[:-1])
    assert s3.objects == {("b", "k"): b"".join(data)}
    assert s3.content_types[("b", "k")] == "text/csv"
    assert writer.bytes_written == len(b"".join(data))
    assert s3.uploads == {}


def test_writes_that_end_on_a_part_boundary_upload_no_empty_part() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "text/csv", part_bytes=4)  # type: ignore[arg-type]
    for piece in (b"abcd", b"efgh"):
        writer.write(piece)
    writer.commit()
    assert part_sizes(s3) == [4, 4]
    [(_, complete)] = [call for call in s3.calls if call[0] == "complete_multipart_upload"]
    assert [p["PartNumber"] for p in complete["MultipartUpload"]["Parts"]] == [1, 2]
    assert s3.objects == {("b", "k"): b"abcdefgh"}


def test_abort_before_any_part_sends_nothing() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "text/csv", part_bytes=100)  # type: ignore[arg-type]
    writer.write(b"some records")
    writer.abort()
    assert s3.calls == []
    assert s3.objects == {}


def test_abort_after_parts_aborts_the_upload_and_leaves_no_object() -> None:
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "text/csv", part_bytes=4)  # type: ignore[arg-type]
    writer.write(b"abcdef")
    writer.write(b"gh")
    writer.abort()
    assert s3.names() == ["create_multipart_upload", "upload_part", "abort_multipart_upload"]
    assert s3.calls[-1][1] == {"Bucket": "b", "Key": "k", "UploadId": "upload-1"}
    assert s3.objects == {}
    assert s3.uploads == {}  # no incomplete upload left behind


def test_the_default_part_size_is_one_s3_accepts() -> None:
    assert PART_BYTES >= S3_MINIMUM_PART
    s3 = FakeS3()
    writer = ObjectWriter(s3, "b", "k", "text/csv")  # type: ignore[arg-type]
    writer.write(b"x" * (PART_BYTES - 1))
    assert s3.calls == []
    writer.write(b"x")
    assert part_sizes(s3) == [PART_BYTES]


# -- ObjectStore --------------------------------------------------------------------------------------------------

RAW = RawObject("raw-b", "input/a.csv", "abc", 12, "v9")


def test_writer_targets_the_given_bucket_key_and_content_type() -> None:
    s3 = FakeS3()
    writer = ObjectStore(s3).writer("processed-b", "validated/t/a.jsonl", "application/x-ndjson")  # type: ignore[arg-type]
    writer.write(b'{"a": 1}\n')
    writer.commit()
    assert s3.objects == {("processed-b", "validated/t/a.jsonl"): b'{"a": 1}\n'}
    assert s3.content_types[("processed-b", "validated/t/a.jsonl")] == "application/x-ndjson"


def test_put_json_writes_a_json_document() -> None:
    s3 = FakeS3()
    ObjectStore(s3).put_json("q", "quarantine/t/a.csv.error.json", {"b": 1, "a": datetime(2026, 1, 1)})  # type: ignore[arg-type]
    body = s3.objects[("q", "quarantine/t/a.csv.error.json")]
    assert json.loads(body) == {"a": "2026-01-01 00:00:00", "b": 1}
    assert s3.content_types[("q", "quarantine/t/a.csv.error.json")] == "application/json"


def test_peek_and_reads_name_the_object_version() -> None:
    s3 = FakeS3()
    store = ObjectStore(s3)  # type: ignore[arg-type]
    peek = store.peek(RAW, 5)
    assert (peek.head.size, peek.head.etag, peek.head.version_id) == (12, "abc", "v9")
    assert peek.head.last_modified == datetime(2026, 1, 15, tzinfo=UTC)
    assert peek.start == b"01234"  # this fake, like MiniStack with a version, ignores Range
    assert store.open(RAW).read() == b"0123456789ab"
    store.copy(RAW, "processed-b", "validated/default/a.csv")
    source = {"Bucket": "raw-b", "Key": "input/a.csv", "VersionId": "v9"}
    assert s3.calls == [
        ("get_object", {**source, "Range": "bytes=0-4"}),  # one GET: no HEAD before it
        ("get_object", source),
        ("copy_object", {"CopySource": source, "Bucket": "processed-b", "Key": "validated/default/a.csv"}),
    ]


def test_a_large_copy_is_a_managed_multipart_copy_with_the_content_type() -> None:
    s3 = FakeS3()
    big = RawObject("raw-b", "input/a.csv", "abc", COPY_IN_ONE_BYTES + 1, "v9")
    ObjectStore(s3).copy(big, "processed-b", "validated/default/a.csv", "text/csv")  # type: ignore[arg-type]
    assert s3.calls == [("copy", {"source": {"Bucket": "raw-b", "Key": "input/a.csv", "VersionId": "v9"},
                                  "bucket": "processed-b", "key": "validated/default/a.csv",
                                  "extra": {"ContentType": "text/csv", "MetadataDirective": "REPLACE"}})]


def test_peek_at_an_empty_object_asks_for_no_range() -> None:
    s3 = FakeS3()
    ObjectStore(s3).peek(RawObject("raw-b", "input/a.csv", "e", 0), 10)  # type: ignore[arg-type]
    assert s3.calls == [("get_object", {"Bucket": "raw-b", "Key": "input/a.csv"})]  # S3 refuses a range on nothing


@pytest.mark.parametrize("code", ["NoSuchKey", "404", "NoSuchVersion", "NotFound"])
@pytest.mark.parametrize("operation", ["peek", "open", "copy"])
def test_a_deleted_raw_object_is_raw_object_missing(code: str, operation: str) -> None:
    s3 = FakeS3(fail_with=missing(operation, code))
    store = ObjectStore(s3)  # type: ignore[arg-type]
    with pytest.raises(RawObjectMissing, match=r"input/a\.csv"):
        if operation == "copy":
            store.copy(RAW, "processed-b", "k")
        elif operation == "peek":
            store.peek(RAW, 10)
        else:
            getattr(store, operation)(RAW)


def test_other_s3_errors_are_storage_errors_naming_the_code() -> None:
    store = ObjectStore(FakeS3(fail_with=missing("GetObject", "AccessDenied")))  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="AccessDenied") as raised:
        store.peek(RAW, 10)
    assert isinstance(raised.value.__cause__, ClientError)


class EndlessBody(io.RawIOBase):
    """A response body of `size` bytes produced as read, counting what was taken from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.taken)
        buffer[:count] = b"x" * count
        self.taken += count
        return count


def test_peek_stops_at_its_bytes_and_closes_the_stream_when_the_server_ignores_range() -> None:
    size = 100 * 1024 * 1024
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    body = EndlessBody(size)
    raw = RawObject("raw-b", "input/big.csv", "e", size, "v1")
    with Stubber(s3) as stub:
        # The whole object comes back, as MiniStack sends it for a GET naming a VersionId and a Range.
        stub.add_response("get_object", {"Body": StreamingBody(body, size),  # type: ignore[arg-type]
                                         "ContentLength": size, "ETag": '"e"', "VersionId": "v1",
                                         "LastModified": datetime(2026, 1, 15, tzinfo=UTC)},
                          {"Bucket": "raw-b", "Key": "input/big.csv", "VersionId": "v1", "Range": "bytes=0-65535"})
        peek = ObjectStore(s3).peek(raw, 65536)
    assert peek.start == b"x" * 65536 and peek.head.size == size
    assert body.taken == 65536, "no byte past the sniff window is read"
    assert body.closed, "the connection is released, not left holding 100 MB"


def test_download_is_one_get_streamed_to_the_file_in_pieces(tmp_path: Path) -> None:
    size = 3 * 1024 * 1024 + 5
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    body = EndlessBody(size)
    with Stubber(s3) as stub:  # only this response is stubbed: a HEAD first would fail the test
        stub.add_response("get_object", {"Body": StreamingBody(body, size), "ContentLength": size},  # type: ignore[arg-type]
                          {"Bucket": "processed-b", "Key": "validated/t/a.csv"})
        ObjectStore(s3).download_to("processed-b", "validated/t/a.csv", tmp_path / "a.csv")
        stub.assert_no_pending_responses()
    assert (tmp_path / "a.csv").read_bytes() == b"x" * size
    assert body.closed


def test_a_small_file_goes_up_in_one_put_and_a_large_one_in_parts_read_one_at_a_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lakebox_layer.adapters.objects.PART_BYTES", 10)
    s3 = FakeS3()
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    small.write_bytes(b"0123456789")
    large.write_bytes(b"0123456789abcdefghijklmnopqrstu")
    store = ObjectStore(s3)  # type: ignore[arg-type]
    store.upload_from(small, "b", "curated/t/dt=2026-01-01/p_0.parquet", "application/vnd.apache.parquet")
    store.upload_from(large, "b", "curated/t/dt=2026-01-02/p_0.parquet", "application/vnd.apache.parquet")
    assert s3.names() == ["put_object", "create_multipart_upload", "upload_part", "upload_part", "upload_part",
                          "upload_part", "complete_multipart_upload"]
    assert part_sizes(s3) == [10, 10, 10, 1], "one part of PART_BYTES at a time, the rest last"
    assert s3.objects[("b", "curated/t/dt=2026-01-02/p_0.parquet")] == large.read_bytes()
    assert s3.content_types[("b", "curated/t/dt=2026-01-01/p_0.parquet")] == "application/vnd.apache.parquet"
    assert s3.content_types[("b", "curated/t/dt=2026-01-02/p_0.parquet")] == "application/vnd.apache.parquet"


@pytest.fixture
def large_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file of three parts, with parts of 10 bytes."""
    monkeypatch.setattr("lakebox_layer.adapters.objects.PART_BYTES", 10)
    large = tmp_path / "large.parquet"
    large.write_bytes(b"x" * 25)
    return large


def test_a_large_file_whose_upload_fails_is_aborted_and_the_error_mapped(large_file: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = FakeS3()

    def failing_part(**kwargs: Any) -> dict[str, Any]:
        s3.calls.append(("upload_part", kwargs))
        raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "UploadPart")

    monkeypatch.setattr(s3, "upload_part", failing_part)
    store = ObjectStore(s3)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match=r"curated/t/p_0\.parquet"):
        store.upload_from(large_file, "b", "curated/t/p_0.parquet", "application/vnd.apache.parquet")
    assert s3.names() == ["create_multipart_upload", "upload_part", "abort_multipart_upload"]
    assert s3.uploads == {} and s3.objects == {}


def test_a_failed_abort_does_not_hide_the_uploads_own_failure(large_file: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = FakeS3()

    def failing(code: str, operation: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": code, "Message": "no"}}, operation)
        return call

    monkeypatch.setattr(s3, "upload_part", failing("SlowDown", "UploadPart"))
    monkeypatch.setattr(s3, "abort_multipart_upload", failing("InternalError", "AbortMultipartUpload"))
    with pytest.raises(StorageError, match="SlowDown"):
        ObjectStore(s3).upload_from(large_file, "b", "k.parquet", "application/vnd.apache.parquet")  # type: ignore[arg-type]
