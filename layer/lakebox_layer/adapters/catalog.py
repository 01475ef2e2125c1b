"""Glue: one table per dataset over its curated Parquet, widened under optimistic concurrency, and its partitions.

The table's shape is built here (:func:`table_input`) for both its writers: bootstrap, which creates the tables of
datasets with a contract, and the curation stage, which creates the others and adds columns. Partition projection
lets Athena on AWS find partitions without partition calls; the partitions are registered anyway
(`batch_create_partition`) so engines that read the catalog's partitions (Spark, Trino, Redshift Spectrum) see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code, missing
from lakebox_layer.columns import PARTITION_KEY, Column, data_columns, table_columns, widen
from lakebox_layer.exceptions import CatalogError

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
# Concurrent widenings of one table: each retry re-reads the table, so no column is lost.
MAX_UPDATE_ATTEMPTS = 10
PARTITION_BATCH = 100  # batch_create_partition's limit


def _storage(columns: list[Column], location: str) -> dict[str, Any]:
    return {
        "Columns": [c.to_glue() for c in columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
    }


def table_input(name: str, columns: list[Column], location: str, description: str = "") -> dict[str, Any]:
    """create_table / update_table's TableInput: Parquet, partitioned by `dt` (a day, as text), with partition
    projection over days so Athena plans from the folder layout."""
    return {
        "Name": name,
        "Description": description,
        "TableType": "EXTERNAL_TABLE",
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": _storage(columns, location),
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            f"projection.{PARTITION_KEY}.type": "date",
            f"projection.{PARTITION_KEY}.format": "yyyy-MM-dd",
            f"projection.{PARTITION_KEY}.range": "1970-01-01,NOW",
            f"projection.{PARTITION_KEY}.interval": "1",
            f"projection.{PARTITION_KEY}.interval.unit": "DAYS",
            "storage.location.template": f"{location}{PARTITION_KEY}=${{{PARTITION_KEY}}}/",
        },
    }


@dataclass(frozen=True)
class TableState:
    """A table as Glue holds it: its columns (lineage included), version and description."""

    columns: list[Column]
    version_id: str | None
    description: str


class Catalog:
    """The pipeline's Glue database."""

    def __init__(self, glue: GlueClient, database: str) -> None:
        self._glue = glue
        self.database = database

    def table(self, name: str) -> TableState | None:
        """The table, or None when it does not exist."""
        try:
            found = self._glue.get_table(DatabaseName=self.database, Name=name)["Table"]
        except ClientError as error:
            if missing(error):
                return None
            raise CatalogError(f"reading table {self.database}.{name}: {error_code(error)}") from error
        columns = [Column.from_glue(dict(c)) for c in found.get("StorageDescriptor", {}).get("Columns", [])]
        return TableState(columns, found.get("VersionId"), found.get("Description", ""))

    def ensure_columns(self, name: str, found: list[Column], location: str, description: str = "",
                       known: TableState | None = None) -> list[Column]:
        """Make the table hold every column in `found` and return its data columns, types as the table has them.
        A missing table is created; new columns are added with the table's VersionId, and a concurrent change
        (another file widening the same table) is re-read and merged, so no column is lost. `known` is the table
        as the caller just read it, used for the first attempt instead of reading it again."""
        for attempt in range(MAX_UPDATE_ATTEMPTS):
            state = known if attempt == 0 and known is not None else self.table(name)
            if state is None:
                wanted = widen([], found)
                try:
                    self._glue.create_table(DatabaseName=self.database,
                                            TableInput=table_input(name, table_columns(wanted), location,
                                                                   description))  # type: ignore[arg-type]
                except ClientError as error:
                    if error_code(error) == "AlreadyExistsException":
                        continue  # created meanwhile by another file: merge into it
                    raise CatalogError(f"creating table {self.database}.{name}: {error_code(error)}") from error
                return wanted
            existing = data_columns(state.columns)
            wanted = widen(existing, found)
            if wanted == existing:
                return existing
            update: dict[str, Any] = {"DatabaseName": self.database,
                                      "TableInput": table_input(name, table_columns(wanted), location,
                                                                state.description)}
            if state.version_id is not None:
                update["VersionId"] = state.version_id
            try:
                self._glue.update_table(**update)
            except ClientError as error:
                if error_code(error) == "ConcurrentModificationException":
                    continue
                raise CatalogError(f"widening table {self.database}.{name}: {error_code(error)}") from error
            return wanted
        raise CatalogError(f"table {self.database}.{name} kept changing: gave up after {MAX_UPDATE_ATTEMPTS} tries")

    def add_partitions(self, name: str, days: list[str], location: str, columns: list[Column]) -> None:
        """Register day partitions; one that exists already is fine."""
        storage = _storage(table_columns(columns), location)
        for start in range(0, len(days), PARTITION_BATCH):
            batch = days[start:start + PARTITION_BATCH]
            partitions: list[Any] = [{"Values": [day], "StorageDescriptor": {
                **storage, "Location": f"{location}{PARTITION_KEY}={day}/"}} for day in batch]
            try:
                response = self._glue.batch_create_partition(DatabaseName=self.database, TableName=name,
                                                             PartitionInputList=partitions)
            except ClientError as error:
                raise CatalogError(f"adding partitions to {self.database}.{name}: {error_code(error)}") from error
            failed = [e for e in response.get("Errors", [])
                      if e.get("ErrorDetail", {}).get("ErrorCode") != "AlreadyExistsException"]
            if failed:
                detail = failed[0].get("ErrorDetail", {})
                raise CatalogError(f"adding partition {failed[0].get('PartitionValues')} to {self.database}.{name}: "
                                   f"{detail.get('ErrorCode')} {detail.get('ErrorMessage', '')}".strip())
