"""`lakebox ingest`'s uploads: several at once, in the order given, each named by what S3 stored (its ETag and
version, as the bucket lists them): a small file in one PUT, a large one in parts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lakebox.ingest import uploads
from lakebox.lake.listing import current_version
from tests.unit.cli.moto_lake import MotoLake


def test_files_are_uploaded_at_once_in_order_each_named_as_stored(moto_lake: Callable[..., MotoLake],
                                                                   tmp_path: Path) -> None:
    lake = moto_lake(topic=False)
    s3, bucket = lake.client("s3"), lake.target.names.raw_bucket
    files = []
    for n in range(12):
        path = tmp_path / f"part-{n:02}.csv"
        path.write_text(f"id,n\n{n},{n * n}\n")
        files.append((path, path.name))
    large = tmp_path / "large.csv"
    large.write_bytes(b"id,n\n" + b"1,2\n" * (uploads.SINGLE_PUT_BYTES // 4 + 1))
    files.insert(5, (large, large.name))

    done = uploads.upload(lake.target, files, "sales")

    assert [u.path for u in done] == [path for path, _ in files]
    for upload in done:
        stored = current_version(s3, bucket, upload.raw.key)
        assert stored is not None
        assert upload.raw.key == f"input/sales/{upload.path.name}"
        assert (upload.raw.etag, upload.raw.version_id, upload.raw.size) == (
            stored["ETag"].strip('"'), stored["VersionId"], upload.path.stat().st_size)
    assert "-" in done[5].raw.etag  # the large file went in parts
    assert all("-" not in u.raw.etag for i, u in enumerate(done) if i != 5)
