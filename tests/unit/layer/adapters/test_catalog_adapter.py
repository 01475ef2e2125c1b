"""Catalog's requests as Glue's API model checks them (botocore Stubber): a dataset's table created when missing,
widened with its VersionId, concurrent widenings re-read and merged so no column is lost, and day partitions
registered in batches where one that exists already is fine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_layer.adapters.catalog import MAX_UPDATE_ATTEMPTS, PARTITION_BATCH, Catalog, TableState, table_input
from lakebox_layer.columns import LINEAGE, Column, table_columns
from lakebox_layer.exceptions import CatalogError

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

DATABASE = "lakebox_catalog"
TABLE = "orders"
LOCATION = "s3://lakebox-processed/curated/orders/"
DESCRIPTION = "Customer orders."
SERDE = {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
         "Parameters": {"serialization.format": "1"}}
INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
LINEAGE_GLUE = [{"Name": "_process_id", "Type": "string"}, {"Name": "_source_key", "Type": "string"},
                {"Name": "_source_version", "Type": "string"}, {"Name": "_contract_version", "Type": "string"},
                {"Name": "_ingested_at", "Type": "timestamp"}]
A, B, C = Column("a", "bigint"), Column("b", "string"), Column("c", "double")


@pytest.fixture
def glue() -> GlueClient:
    return boto3.client("glue", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(glue: GlueClient) -> Iterator[Stubber]:
    with Stubber(glue) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def catalog(glue: GlueClient) -> Catalog:
    return Catalog(glue, DATABASE)


def found_table(stubber: Stubber, columns: list[Column], version: str | None = "3",
                description: str = DESCRIPTION) -> None:
    table: dict[str, Any] = {"Name": TABLE, "DatabaseName": DATABASE, "Description": description,
                             "StorageDescriptor": {"Columns": [c.to_glue() for c in table_columns(columns)]}}
    if version is not None:
        table["VersionId"] = version
    stubber.add_response("get_table", {"Table": table}, {"DatabaseName": DATABASE, "Name": TABLE})


def no_table(stubber: Stubber) -> None:
    stubber.add_client_error("get_table", service_error_code="EntityNotFoundException",
                             expected_params={"DatabaseName": DATABASE, "Name": TABLE})


def updated(stubber: Stubber, columns: list[Column], version: str | None = "3",
            error: str | None = None) -> None:
    params: dict[str, Any] = {"DatabaseName": DATABASE,
                              "TableInput": table_input(TABLE, table_columns(columns), LOCATION, DESCRIPTION)}
    if version is not None:
        params["VersionId"] = version
    if error is None:
        stubber.add_response("update_table", {}, params)
    else:
        stubber.add_client_error("update_table", service_error_code=error, expected_params=params)


# -- the table's shape ------------------------------------------------------------------------------------------


def test_table_input_is_parquet_partitioned_by_day_with_projection() -> None:
    assert table_input(TABLE, table_columns([A, C]), LOCATION, DESCRIPTION) == {
        "Name": TABLE,
        "Description": DESCRIPTION,
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": "a", "Type": "bigint"}, {"Name": "c", "Type": "double"}, *LINEAGE_GLUE],
            "Location": LOCATION, "InputFormat": INPUT, "OutputFormat": OUTPUT, "SerdeInfo": SERDE,
        },
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            "projection.dt.type": "date",
            "projection.dt.format": "yyyy-MM-dd",
            "projection.dt.range": "1970-01-01,NOW",
            "projection.dt.interval": "1",
            "projection.dt.interval.unit": "DAYS",
            "storage.location.template": "s3://lakebox-processed/curated/orders/dt=${dt}/",
        },
    }


# -- reading ----------------------------------------------------------------------------------------------------


def test_a_table_is_read_with_its_columns_version_and_description(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A, Column("b", "STRING")], version="7", description="d")
    assert catalog.table(TABLE) == TableState([A, B, *LINEAGE], "7", "d")


def test_a_missing_table_is_none(catalog: Catalog, stubber: Stubber) -> None:
    no_table(stubber)
    assert catalog.table(TABLE) is None


def test_a_refused_read_is_a_catalog_error(catalog: Catalog, stubber: Stubber) -> None:
    stubber.add_client_error("get_table", service_error_code="AccessDeniedException")
    with pytest.raises(CatalogError, match="AccessDeniedException"):
        catalog.table(TABLE)


# -- creating and widening --------------------------------------------------------------------------------------


def test_a_missing_table_is_created_with_the_data_and_lineage_columns(catalog: Catalog, stubber: Stubber) -> None:
    no_table(stubber)
    expected = table_input(TABLE, table_columns([A, B]), LOCATION, DESCRIPTION)
    assert expected["StorageDescriptor"]["Columns"] == [{"Name": "a", "Type": "bigint"},
                                                        {"Name": "b", "Type": "string"}, *LINEAGE_GLUE]
    stubber.add_response("create_table", {}, {"DatabaseName": DATABASE, "TableInput": expected})
    assert catalog.ensure_columns(TABLE, [A, B, LINEAGE[0]], LOCATION, DESCRIPTION) == [A, B]


def test_a_table_with_every_column_is_left_alone(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A, B, C])
    # The file's types do not matter: the table's stay, and the file's values are cast to them.
    assert catalog.ensure_columns(TABLE, [Column("c", "string"), Column("a", "double")], LOCATION) == [A, B, C]


def test_new_columns_are_added_with_the_read_version(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A, B], version="3")
    updated(stubber, [A, B, C], version="3")
    assert catalog.ensure_columns(TABLE, [Column("b", "bigint"), C], LOCATION, "not this one") == [A, B, C]


def test_a_table_without_a_version_is_updated_without_one(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A], version=None)
    updated(stubber, [A, C], version=None)
    assert catalog.ensure_columns(TABLE, [C], LOCATION) == [A, C]


def test_a_table_the_caller_just_read_is_not_read_again(catalog: Catalog, stubber: Stubber) -> None:
    updated(stubber, [A, C], version="3")  # no get_table first: the stubber fails on any unexpected call
    known = TableState([A, *LINEAGE], "3", DESCRIPTION)
    assert catalog.ensure_columns(TABLE, [C], LOCATION, known=known) == [A, C]


def test_a_known_table_that_changed_meanwhile_is_re_read(catalog: Catalog, stubber: Stubber) -> None:
    updated(stubber, [A, C], version="3", error="ConcurrentModificationException")
    found_table(stubber, [A, B], version="4")
    updated(stubber, [A, B, C], version="4")
    known = TableState([A, *LINEAGE], "3", DESCRIPTION)
    assert catalog.ensure_columns(TABLE, [C], LOCATION, known=known) == [A, B, C]


def test_a_concurrent_widening_is_re_read_and_merged(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A], version="3")
    updated(stubber, [A, C], version="3", error="ConcurrentModificationException")
    found_table(stubber, [A, B], version="4")  # another file added b meanwhile
    updated(stubber, [A, B, C], version="4")
    assert catalog.ensure_columns(TABLE, [C], LOCATION) == [A, B, C]


def test_a_concurrent_widening_that_added_our_columns_needs_no_update(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A], version="3")
    updated(stubber, [A, C], version="3", error="ConcurrentModificationException")
    found_table(stubber, [A, Column("c", "string")], version="4")
    assert catalog.ensure_columns(TABLE, [C], LOCATION) == [A, Column("c", "string")]


def test_a_table_created_meanwhile_is_re_read_and_widened(catalog: Catalog, stubber: Stubber) -> None:
    no_table(stubber)
    stubber.add_client_error("create_table", service_error_code="AlreadyExistsException", expected_params={
        "DatabaseName": DATABASE, "TableInput": table_input(TABLE, table_columns([C]), LOCATION, DESCRIPTION)})
    found_table(stubber, [A, B], version="1")
    updated(stubber, [A, B, C], version="1")
    assert catalog.ensure_columns(TABLE, [C], LOCATION, DESCRIPTION) == [A, B, C]


def test_a_table_that_keeps_changing_is_given_up(catalog: Catalog, stubber: Stubber) -> None:
    for attempt in range(MAX_UPDATE_ATTEMPTS):
        found_table(stubber, [A], version=str(attempt))
        updated(stubber, [A, C], version=str(attempt), error="ConcurrentModificationException")
    with pytest.raises(CatalogError, match=f"gave up after {MAX_UPDATE_ATTEMPTS}"):
        catalog.ensure_columns(TABLE, [C], LOCATION)


def test_a_refused_create_is_a_catalog_error(catalog: Catalog, stubber: Stubber) -> None:
    no_table(stubber)
    stubber.add_client_error("create_table", service_error_code="AccessDeniedException")
    with pytest.raises(CatalogError, match=r"creating table lakebox_catalog\.orders: AccessDeniedException"):
        catalog.ensure_columns(TABLE, [A], LOCATION)


def test_a_refused_update_is_a_catalog_error(catalog: Catalog, stubber: Stubber) -> None:
    found_table(stubber, [A])
    updated(stubber, [A, C], error="InvalidInputException")
    with pytest.raises(CatalogError, match=r"widening table lakebox_catalog\.orders: InvalidInputException"):
        catalog.ensure_columns(TABLE, [C], LOCATION)


# -- partitions -------------------------------------------------------------------------------------------------


def partition(day: str, columns: list[Column]) -> dict[str, Any]:
    return {"Values": [day], "StorageDescriptor": {
        "Columns": [c.to_glue() for c in table_columns(columns)], "Location": f"{LOCATION}dt={day}/",
        "InputFormat": INPUT, "OutputFormat": OUTPUT, "SerdeInfo": SERDE}}


def batch(stubber: Stubber, days: list[str], errors: list[dict[str, Any]] | None = None) -> None:
    stubber.add_response("batch_create_partition", {"Errors": errors or []}, {
        "DatabaseName": DATABASE, "TableName": TABLE, "PartitionInputList": [partition(d, [A, B]) for d in days]})


def failure(day: str, code: str) -> dict[str, Any]:
    return {"PartitionValues": [day], "ErrorDetail": {"ErrorCode": code, "ErrorMessage": f"{code} for {day}"}}


def test_partitions_are_registered_at_their_day_folders(catalog: Catalog, stubber: Stubber) -> None:
    batch(stubber, ["2026-01-14", "2026-01-15"])
    catalog.add_partitions(TABLE, ["2026-01-14", "2026-01-15"], LOCATION, [A, B])


def test_a_partition_that_exists_already_is_fine(catalog: Catalog, stubber: Stubber) -> None:
    batch(stubber, ["2026-01-14", "2026-01-15"], [failure("2026-01-14", "AlreadyExistsException")])
    catalog.add_partitions(TABLE, ["2026-01-14", "2026-01-15"], LOCATION, [A, B])


def test_a_partition_refused_for_another_reason_is_a_catalog_error(catalog: Catalog, stubber: Stubber) -> None:
    batch(stubber, ["2026-01-14", "2026-01-15"], [failure("2026-01-14", "AlreadyExistsException"),
                                                  failure("2026-01-15", "ResourceNumberLimitExceededException")])
    with pytest.raises(CatalogError) as refused:
        catalog.add_partitions(TABLE, ["2026-01-14", "2026-01-15"], LOCATION, [A, B])
    assert "2026-01-15" in str(refused.value) and "ResourceNumberLimitExceededException" in str(refused.value)


def test_a_refused_batch_is_a_catalog_error(catalog: Catalog, stubber: Stubber) -> None:
    stubber.add_client_error("batch_create_partition", service_error_code="EntityNotFoundException")
    with pytest.raises(CatalogError, match="EntityNotFoundException"):
        catalog.add_partitions(TABLE, ["2026-01-14"], LOCATION, [A, B])


def test_many_days_are_registered_in_batches(catalog: Catalog, stubber: Stubber) -> None:
    days = [(date(2025, 1, 1) + timedelta(days=n)).isoformat() for n in range(2 * PARTITION_BATCH + 5)]
    assert PARTITION_BATCH == 100
    batch(stubber, days[:100])
    batch(stubber, days[100:200], [failure(days[150], "AlreadyExistsException")])
    batch(stubber, days[200:])
    catalog.add_partitions(TABLE, days, LOCATION, [A, B])


def test_no_days_make_no_call(catalog: Catalog, stubber: Stubber) -> None:
    catalog.add_partitions(TABLE, [], LOCATION, [A, B])
