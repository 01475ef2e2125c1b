"""Which failures a stage ends the file with at once: only the file's own, named by their code."""

from __future__ import annotations

from lakebox_layer.exceptions import StorageError
from lakebox_layer.failures import FailureClass, file_failure
from tests.fakes.aws_errors import client_error as s3
from tests.fakes.aws_errors import wrapped


def test_a_stage_ends_the_file_only_on_the_files_own_failure() -> None:
    own = file_failure(wrapped(StorageError("downloading: NoSuchKey"), s3("NoSuchKey", 404)))
    assert own is not None and (own.kind, own.code) == (FailureClass.FILE, "NoSuchKey")
    assert file_failure(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")) is not None
    assert file_failure(wrapped(StorageError("downloading: SlowDown"), s3("SlowDown", 503))) is None
    assert file_failure(s3("AccessDenied", 403)) is None
    assert file_failure(RuntimeError("a bug")) is None
