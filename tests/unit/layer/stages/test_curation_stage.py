"""The curation stage on in-memory adapters and real DuckDB: a processed file becomes typed day-partitioned Parquet
under deterministic keys, its table is created or widened (never narrowed or retyped), its partitions registered,
and its outcome announced and recorded once, the record last; a file that cannot be curated gets a failed outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lakebox_layer.columns import Column, contract_columns, data_columns, table_columns
from lakebox_layer.exceptions import StorageError
from lakebox_layer.privacy import plan_protection, protect_columns
from lakebox_layer.records import FileFormat, FileStatus
from lakebox_layer.registry import DATA_CURATED
from lakebox_layer.stages.curation import CURATED, CURATION_FAILED, PARQUET_CONTENT_TYPE, Curated
from tests.fakes.aws_errors import client_error, wrapped
from tests.fakes.curation import ARRIVED_AT, ORDERS_CSV, World
from tests.fakes.stages import ORDERS, PROCESSED, SETTINGS


@pytest.fixture
def world() -> World:
    return World()


# -- a processed file becomes curated Parquet -------------------------------------------------------------------


def test_a_processed_orders_file_is_curated_by_the_day_ordered(world: World, tmp_path: Path) -> None:
    validated = world.processed("orders", "day.csv", ORDERS_CSV.encode(), contract_version="1.1.0+abc")
    outcome = world.stage.curate(validated)

    days = ["2026-01-14", "2026-01-15"]  # 01:00+02:00 on the 15th is the 14th in UTC
    keys = [f"curated/orders/dt={day}/pid1_0.parquet" for day in days]
    assert outcome is not None and outcome.status == CURATED and outcome.reason is None
    assert (outcome.table, outcome.rows, outcome.partitions) == ("orders", 3, days)
    assert outcome.objects == [f"s3://{PROCESSED}/{key}" for key in keys]
    assert world.curated() == keys
    assert all(world.objects.content_types[(PROCESSED, key)] == PARQUET_CONTENT_TYPE for key in keys)
    assert world.read(keys[0], tmp_path, "order_id, amount, _process_id, _source_key, _contract_version") == [
        (2, 20.0, "pid1", "input/orders/day.csv", "1.1.0+abc"), (3, 30.25, "pid1", "input/orders/day.csv", "1.1.0+abc")]
    # The contract's columns, its personal data (customer_email, phone) as curated: text, with tokens.
    declared = protect_columns(contract_columns(ORDERS) or [], plan_protection(ORDERS, {}))
    assert world.catalog.tables["orders"] == declared
    assert [(c.name, c.type) for c in world.schema(keys[1], tmp_path)] == [
        (c.name, c.type) for c in table_columns(declared)]
    assert world.catalog.partitions == {"orders": set(days)}
    assert world.catalog.descriptions["orders"] == ORDERS.description

    [record] = world.records()
    assert {k: record[k] for k in ("Pipeline", "RawKey", "Dataset", "CurationStatus", "Table", "CuratedRows",
                                   "Partitions", "CuratedObjects", "Reason")} == {
        "Pipeline": SETTINGS.project, "RawKey": "input/orders/day.csv", "Dataset": "orders",
        "CurationStatus": CURATED, "Table": "orders", "CuratedRows": 3, "Partitions": days,
        "CuratedObjects": outcome.objects, "Reason": None}
    assert record["Timestamp"] == f"{ARRIVED_AT}#4-curation"
    assert world.events.published == [(DATA_CURATED.source, DATA_CURATED.detail_type,
                                        json.loads(json.dumps(outcome.to_detail())))]
    assert world.log == ["ensure orders", *(f"upload {key}" for key in keys), f"partitions orders {','.join(days)}",
                         f"event {DATA_CURATED.detail_type}", "record curation"]
    assert world.no_work_left()


def test_without_a_contract_version_in_the_event_the_contract_gives_it(world: World, tmp_path: Path) -> None:
    outcome = world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode()))
    assert outcome is not None
    [(version,)] = world.read(world.curated()[0], tmp_path, "DISTINCT _contract_version")
    assert version == ORDERS.version


def test_a_second_delivery_is_a_duplicate(world: World) -> None:
    validated = world.processed("orders", "day.csv", ORDERS_CSV.encode())
    assert world.stage.curate(validated) is not None
    log, objects = list(world.log), dict(world.objects.objects)
    assert world.stage.curate(validated) is None
    assert len(world.records()) == 1 and len(world.events.published) == 1
    assert world.log == log and world.objects.objects == objects
    assert world.objects.downloads == ["validated/orders/day.csv"]


@pytest.mark.parametrize("changes", [{"status": FileStatus.QUARANTINED, "destination": "s3://q/quarantine/x.csv"},
                                     {"status": FileStatus.FAILED, "destination": None},
                                     {"destination": None}])
def test_a_file_that_is_not_processed_is_not_curated(world: World, changes: dict[str, Any]) -> None:
    assert world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode(), **changes)) is None
    assert world.log == [] and world.records() == [] and world.events.published == []
    assert world.objects.downloads == [] and world.work_dirs == []


def test_a_json_lines_file_keeps_nested_values_as_json_text(world: World, tmp_path: Path) -> None:
    lines = [{"order_id": 1, "amount": 5, "ordered_at": "2026-01-15T10:00:00Z", "items": [{"sku": "AB-123"}]}]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    outcome = world.stage.curate(world.processed("orders", "day.jsonl", body, file_format=FileFormat.JSON_LINES))
    assert outcome is not None and outcome.status == CURATED and outcome.partitions == ["2026-01-15"]
    assert world.read(world.curated()[0], tmp_path, "order_id, amount, json_extract_string(items, '$[0].sku')") == [
        (1, 5.0, "AB-123")]


# -- datasets without a contract: inferred, then widened --------------------------------------------------------


def test_a_dataset_without_a_contract_is_inferred_then_widened(world: World, tmp_path: Path) -> None:
    first = world.processed("clicks", "a.csv", b"id,label,at\n1,x,2026-01-10T08:00:00Z\n2,y,\n", process_id="p1")
    outcome = world.stage.curate(first)
    assert outcome is not None and outcome.status == CURATED
    inferred = [Column("id", "bigint"), Column("label", "string"), Column("at", "timestamp")]
    assert world.catalog.tables["clicks"] == inferred
    assert outcome.partitions == [ARRIVED_AT[:10]]  # no contract, no partition field: the arrival day

    # The second file lacks `at`, has `label` that looks like a number and two new columns.
    second = world.processed("clicks", "b.csv", b"label,id,score,ok\n5,3,1.5,true\n6,4,,false\n", process_id="p2")
    outcome = world.stage.curate(second)
    assert outcome is not None and outcome.status == CURATED, outcome
    widened = [*inferred, Column("score", "double"), Column("ok", "boolean")]
    assert world.catalog.tables["clicks"] == widened
    key = f"curated/clicks/dt={ARRIVED_AT[:10]}/p2_0.parquet"
    assert world.schema(key, tmp_path) == table_columns(widened)
    assert world.read(key, tmp_path, "id, label, \"at\", score, ok") == [(3, "5", None, 1.5, True),
                                                                          (4, "6", None, None, False)]
    assert [r["CurationStatus"] for r in world.records()] == [CURATED, CURATED]
    assert data_columns(table_columns(widened)) == widened
    assert world.no_work_left()


def test_a_value_that_does_not_take_the_table_type_fails_the_file(world: World) -> None:
    assert world.stage.curate(world.processed("clicks", "a.csv", b"id,n\n1,2\n", process_id="p1")) is not None
    uploads = world.curated()
    world.log.clear()

    outcome = world.stage.curate(world.processed("clicks", "b.csv", b"id,n,new\n2,abc,x\n", process_id="p2"))
    assert outcome is not None and outcome.status == CURATION_FAILED
    assert outcome.reason is not None and "'n'" in outcome.reason and "bigint" in outcome.reason
    assert "'abc'" in outcome.reason
    assert (outcome.table, outcome.rows, outcome.partitions, outcome.objects) == ("clicks", 0, [], [])
    assert world.curated() == uploads  # nothing uploaded for the failed file
    [record] = [r for r in world.records() if r["ProcessId"] == "p2"]
    assert (record["CurationStatus"], record["Reason"], record["CuratedRows"]) == (CURATION_FAILED, outcome.reason, 0)
    [detail] = [d for d in world.events.of_type(DATA_CURATED.detail_type) if d["process_id"] == "p2"]
    assert (detail["status"], detail["reason"]) == (CURATION_FAILED, outcome.reason)
    # The table is left as it was: the failed file's values never reached the catalog.
    assert world.log == [f"event {DATA_CURATED.detail_type}", "record curation"]
    assert world.catalog.partitions == {"clicks": {ARRIVED_AT[:10]}}
    assert world.no_work_left()


def test_a_failure_that_is_the_files_own_ends_it_failed_at_once(world: World,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """One curation does not turn into an outcome itself (here its validated copy deleted before it is read): the
    file ends failed, named by the error's code, and a service's failure is still raised for a retry."""
    def deleted(bucket: str, key: str, path: Path) -> None:
        raise wrapped(StorageError(f"downloading s3://{bucket}/{key}: NoSuchKey"), client_error("NoSuchKey", 404))

    monkeypatch.setattr(world.objects, "download_to", deleted)
    outcome = world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode(), process_id="p1"))

    assert outcome is not None and outcome.status == CURATION_FAILED
    assert outcome.reason == "curation failed on the file itself (NoSuchKey)"
    [record] = world.records()
    assert (record["CurationStatus"], record["Reason"]) == (CURATION_FAILED, outcome.reason)

    def throttled(bucket: str, key: str, path: Path) -> None:
        raise wrapped(StorageError(f"downloading s3://{bucket}/{key}: SlowDown"), client_error("SlowDown", 503))

    monkeypatch.setattr(world.objects, "download_to", throttled)
    with pytest.raises(StorageError, match="SlowDown"):
        world.stage.curate(world.processed("orders", "other.csv", ORDERS_CSV.encode(), process_id="p2"))
    assert [r["ProcessId"] for r in world.records()] == ["p1"]


@pytest.mark.parametrize(("dataset", "says"), [("Bad Name", "not a valid dataset name"),
                                               ("_x", "not a valid dataset name")])
def test_an_invalid_dataset_name_fails(world: World, dataset: str, says: str) -> None:
    outcome = world.stage.curate(world.processed(dataset, "a.csv", b"a\n1\n"))
    assert outcome is not None and outcome.status == CURATION_FAILED and outcome.table is None
    assert outcome.reason is not None and says in outcome.reason
    [record] = world.records()
    assert (record["CurationStatus"], record["Reason"], record["Table"]) == (CURATION_FAILED, outcome.reason, None)
    assert len(world.events.published) == 1
    assert world.objects.downloads == [] and world.curated() == [] and world.catalog.tables == {}


def test_an_unknown_format_fails(world: World) -> None:
    outcome = world.stage.curate(world.processed("orders", "a.bin", b"\x00", file_format=FileFormat.UNSUPPORTED))
    assert outcome is not None and outcome.status == CURATION_FAILED and outcome.table == "orders"
    assert outcome.reason is not None and "format" in outcome.reason
    assert len(world.records()) == 1 and world.curated() == []


def test_a_broken_contract_fails(world: World) -> None:
    world.contracts.broken["orders"] = "schema does not compile"
    outcome = world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode()))
    assert outcome is not None and outcome.status == CURATION_FAILED
    assert outcome.reason is not None and "invalid" in outcome.reason and "schema does not compile" in outcome.reason
    assert world.curated() == [] and len(world.records()) == 1


def test_clashing_column_names_fail_and_the_work_directory_goes(world: World) -> None:
    outcome = world.stage.curate(world.processed("clicks", "a.csv", b"id,ID\n1,2\n"))
    assert outcome is not None and outcome.status == CURATION_FAILED
    assert outcome.reason is not None and "differ only in case" in outcome.reason
    assert world.catalog.tables == {} and world.curated() == []
    assert world.no_work_left()


def test_an_unexpected_error_closes_the_connection_and_the_next_file_opens_a_new_one(world: World) -> None:
    good = world.processed("clicks", "a.csv", b"id\n1\n", process_id="p1")
    assert (outcome := world.stage.curate(good)) is not None and outcome.status == CURATED
    world.catalog.fail_next = RuntimeError("glue went away")
    with pytest.raises(RuntimeError, match="glue went away"):
        world.stage.curate(world.processed("clicks", "b.csv", b"id\n2\n", process_id="p2"))
    assert not world.work_dirs[0].exists()  # the connection was closed and its directory removed
    assert (outcome := world.stage.curate(world.processed("clicks", "c.csv", b"id\n3\n", process_id="p3")))
    assert outcome.status == CURATED and len(world.work_dirs) == 2


def test_a_batch_registers_each_day_once_and_the_next_batch_again(world: World) -> None:
    batch = [world.processed("clicks", f"{n}.csv", f"id\n{n}\n".encode(), process_id=f"p{n}") for n in range(3)]
    outcomes = world.stage.curate_all(batch)
    assert all(isinstance(o, Curated) and o.partitions == [ARRIVED_AT[:10]] for o in outcomes)
    assert [entry for entry in world.log if entry.startswith("partitions")] == [f"partitions clicks {ARRIVED_AT[:10]}"]
    world.stage.curate_all([world.processed("clicks", "9.csv", b"id\n9\n", process_id="p9")])
    assert [entry for entry in world.log if entry.startswith("partitions")] == [
        f"partitions clicks {ARRIVED_AT[:10]}"] * 2  # a new batch does not trust what the last one registered
