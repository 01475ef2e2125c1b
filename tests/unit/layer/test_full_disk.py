"""A full disk is the file's failure (too large for the function's /tmp), whatever wraps it: the system's ENOSPC and
SQLite's SQLITE_FULL; another system error is not."""

from __future__ import annotations

import sqlite3

import pytest

from lakebox_layer import failures
from lakebox_layer.exceptions import StorageError
from lakebox_layer.failures import Failure, FailureClass, classify


def test_a_full_tmp_is_the_files_failure_and_another_os_error_is_not() -> None:
    full = classify(StorageError("downloading").with_traceback(None))
    assert full.kind is not FailureClass.FILE
    wrapped_full = StorageError("downloading")
    wrapped_full.__cause__ = OSError(28, "No space left on device")
    assert classify(wrapped_full) == Failure(FailureClass.FILE, None, failures.NO_SPACE)
    assert classify(OSError(13, "Permission denied")).kind is FailureClass.CODE
    with sqlite3.connect(":memory:") as db:  # a database that may not grow past one page is full at once
        db.execute("PRAGMA max_page_count = 1")
        with pytest.raises(sqlite3.OperationalError) as full_db:
            db.execute("CREATE TABLE keys (key TEXT PRIMARY KEY)")
            db.executemany("INSERT INTO keys VALUES (?)", ((str(n) * 50,) for n in range(1000)))
    assert classify(full_db.value) == Failure(FailureClass.FILE, None, failures.NO_SPACE)
