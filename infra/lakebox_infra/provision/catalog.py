"""The Glue catalog of the curated zone: the database and one table per dataset with a contract; skipped with a
warning where the endpoint has no Glue.

Tables of datasets without a contract are created by the curation stage from their first file. The Glue crawler of
the Serverless Data Lake Architecture recipe is gone: the curation stage owns every table's columns and registers its
partitions, and a crawler over the same data would make competing tables (or retype these) on AWS. A crawler or
crawler role left by an earlier version is deleted.
"""

from __future__ import annotations

from typing import Any

from lakebox_infra import contract_files
from lakebox_infra.provision import iam
from lakebox_infra.provision.base import Context, absent, current, ensure, offered
from lakebox_layer.adapters.catalog import table_input
from lakebox_layer.columns import Column, contract_columns, data_columns, table_columns
from lakebox_layer.contracts import Contract
from lakebox_layer.datasets import table_name
from lakebox_layer.privacy import plan_protection, protect_columns, protected_in
from lakebox_layer.routing import curated_location


def _database_names(ctx: Context) -> set[str]:
    pages = ctx.client("glue").get_paginator("get_databases").paginate()
    return {database["Name"] for page in pages for database in page.get("DatabaseList", [])}


def glue_available(ctx: Context) -> set[str] | None:
    """The endpoint's database names, or None (with a warning saying what is skipped) when it cannot list them:
    then it has no Glue."""
    return offered(ctx, "Glue", lambda: _database_names(ctx),
                   "the catalog database and tables are skipped, and `lakebox query` has nothing to query")


def contract_table(ctx: Context, contract: Contract, existing: list[Column] | None = None) -> dict[str, Any] | None:
    """The TableInput of a dataset with a contract: the contract's columns and types (its personal data as curated:
    text and tokens), and every column the table gained from data (never dropped); None for a contract that declares
    no columns. The columns a table has never move (new ones go at the end, as curation adds them), and protection is
    never taken away: a column the `existing` table protects stays protected, with the class a file found in it."""
    declared = contract_columns(contract)
    if declared is None:
        return None
    have = data_columns(existing or [])
    table = protected_in(have)
    classes = {column: plan.pii_class for column, plan in table.items() if plan.pii_class}
    # Its personal data as curation stores it: text, and token columns, each with its comment.
    declared = protect_columns(declared, plan_protection(
        contract, {column: classes[column] for column in contract.protection if column in classes}, table))
    wanted = {c.name: c for c in declared}
    old = {c.name for c in have}
    columns = [wanted.get(c.name, c) for c in have] + [c for c in declared if c.name not in old]
    location = curated_location(ctx.topology.settings, contract.dataset)
    return table_input(table_name(contract.dataset), table_columns(columns), location, contract.description)


def _comparable(table: dict[str, Any]) -> dict[str, Any]:
    storage = table.get("StorageDescriptor", {})
    return {
        "Name": table["Name"],
        "Description": table.get("Description", ""),
        "TableType": table.get("TableType"),
        "PartitionKeys": [{"Name": k["Name"], "Type": k.get("Type")} for k in table.get("PartitionKeys", [])],
        "StorageDescriptor": {
            "Columns": [{"Name": c["Name"], "Type": c.get("Type"), **({"Comment": c["Comment"]} if c.get("Comment")
                                                                   else {})} for c in storage.get("Columns", [])],
            "Location": storage.get("Location"),
            "InputFormat": storage.get("InputFormat"),
            "OutputFormat": storage.get("OutputFormat"),
            "SerdeInfo": {"SerializationLibrary": storage.get("SerdeInfo", {}).get("SerializationLibrary"),
                          "Parameters": storage.get("SerdeInfo", {}).get("Parameters", {})},
        },
        "Parameters": table.get("Parameters", {}),
    }


def apply_contract_tables(ctx: Context) -> None:
    """One table per dataset with a contract, matching the contract's columns."""
    for contract in contract_files.contracts():
        _apply_contract_table(ctx, contract)


def _apply_contract_table(ctx: Context, contract: Contract) -> None:
    glue = ctx.client("glue")
    database = ctx.names.glue_database
    name = table_name(contract.dataset)
    found = current(lambda: glue.get_table(DatabaseName=database, Name=name)["Table"])
    existing = [Column.from_glue(c) for c in (found or {}).get("StorageDescriptor", {}).get("Columns", [])]
    wanted = contract_table(ctx, contract, existing)
    if wanted is None:
        return

    def write(table: dict[str, Any] | None) -> None:
        if table is None or found is None:
            glue.create_table(DatabaseName=database, TableInput=wanted)
            return
        # With the VersionId read above: a curation widening the table meanwhile makes this fail, not vanish.
        version = {"VersionId": found["VersionId"]} if found.get("VersionId") else {}
        glue.update_table(DatabaseName=database, TableInput=wanted, **version)

    ensure(ctx, f"glue table {database}.{name}", lambda: _comparable(found) if found else None, wanted, write,
           lambda table: "created" if table is None else "updated")


def apply_catalog(ctx: Context) -> None:
    """The database, the contract datasets' tables, and no crawler."""
    databases = glue_available(ctx)
    if databases is None:
        return
    database = ctx.names.glue_database
    ensure(ctx, f"glue database {database}", lambda: database if database in databases else None, database,
           lambda _: ctx.client("glue").create_database(
               DatabaseInput={"Name": database, "Description": "lakebox curated data catalog"}),
           "created")
    apply_contract_tables(ctx)
    retire_crawler(ctx)


def retire_crawler(ctx: Context) -> None:
    """Delete the crawler and its role that earlier versions created."""
    names = ctx.names
    absent(ctx, f"glue crawler {names.glue_crawler}",
           lambda: ctx.client("glue").delete_crawler(Name=names.glue_crawler))
    iam.remove_role(ctx, names.glue_role)


def teardown_catalog(ctx: Context) -> None:
    """Delete the database with its tables, where the endpoint has Glue."""
    if glue_available(ctx) is None:
        return
    glue = ctx.client("glue")
    names = ctx.names
    absent(ctx, f"glue crawler {names.glue_crawler}", lambda: glue.delete_crawler(Name=names.glue_crawler))

    def delete_tables() -> bool:
        tables = [t["Name"] for page in glue.get_paginator("get_tables").paginate(DatabaseName=names.glue_database)
                  for t in page.get("TableList", [])]
        for start in range(0, len(tables), 100):
            glue.batch_delete_table(DatabaseName=names.glue_database, TablesToDelete=tables[start:start + 100])
        return bool(tables)

    absent(ctx, f"glue tables of {names.glue_database}", delete_tables)
    absent(ctx, f"glue database {names.glue_database}", lambda: glue.delete_database(Name=names.glue_database))
