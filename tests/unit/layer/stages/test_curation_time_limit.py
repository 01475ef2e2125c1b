"""Curation within the function's limits: a file whose chunks do not all fit in the invocation's time, or that the
function's /tmp cannot hold, ends failed with the reason (never retried into the dead-letter queue); a batch's file
of most records goes first, its outcomes in the batch's order."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

from lakebox_layer.exceptions import StorageError
from lakebox_layer.parquet import ParquetEngine
from lakebox_layer.stages.curation import CURATED, CURATION_FAILED, Curated
from lakebox_layer.time_limit import TimeLimit
from tests.fakes.curation import ORDERS_CSV, World


def test_a_file_whose_chunks_do_not_fit_in_the_time_ends_failed_with_the_reason() -> None:
    world = World()
    world.stage.engine = lambda work: ParquetEngine(work, memory="256MB", threads=1, chunk_bytes=80)
    rows = "".join(ORDERS_CSV.splitlines(keepends=True)[1:] * 20)
    validated = world.processed("orders", "big.csv", (ORDERS_CSV + rows).encode())
    now = time.monotonic()

    [outcome] = world.stage.curate_all([validated], TimeLimit(ends_at=now - 1, limit_s=300, started_at=now))

    assert isinstance(outcome, Curated) and outcome.status == CURATION_FAILED
    assert outcome.reason == ("curation stopped after 1 chunks: the file does not fit in the function's 300 s time "
                              "limit (see the largest file each stage handles in docs/performance.md)")
    assert world.curated() == [] and world.catalog.partitions == {}
    [record] = world.records()
    assert (record["CurationStatus"], record["Reason"]) == (CURATION_FAILED, outcome.reason)
    assert not any(work.exists() for work in world.objects.download_dirs)


def test_the_file_of_most_records_goes_first_and_outcomes_keep_the_batchs_order(tmp_path: Path) -> None:
    world = World()
    few = world.processed("orders", "few.csv", ORDERS_CSV.encode(), process_id="pid-few", records_total=3)
    many = world.processed("orders", "many.csv", ORDERS_CSV.encode(), process_id="pid-many", records_total=300)

    outcomes = world.stage.curate_all([few, many])

    assert [o.process_id for o in outcomes if isinstance(o, Curated) and o.status == CURATED] == ["pid-few",
                                                                                                  "pid-many"]
    assert [record["ProcessId"] for record in world.records()] == ["pid-many", "pid-few"]


def test_a_file_the_functions_tmp_cannot_hold_ends_failed_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()

    def full(bucket: str, key: str, path: Path) -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise StorageError(f"downloading s3://{bucket}/{key}") from error

    monkeypatch.setattr(world.objects, "download_to", full)
    outcome = world.stage.curate(world.processed("orders", "huge.csv", ORDERS_CSV.encode()))

    assert outcome is not None and outcome.status == CURATION_FAILED
    assert outcome.reason == ("curation failed on the file itself (ENOSPC: the function's /tmp, its ephemeral "
                              "storage, cannot hold what the file needs there)")
    [record] = world.records()
    assert record["Reason"] == outcome.reason
