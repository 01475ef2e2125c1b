"""The Glue catalog: the database and one table per contract dataset, created when missing, updated where the
contract changed, columns learned from data kept; the retired crawler and its role removed; skipped with a warning
where the endpoint has no Glue."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.stub import Stubber

from lakebox_infra import PROJECT_ROOT, contract_files
from lakebox_infra.provision import catalog
from lakebox_layer.columns import LINEAGE, Column, contract_columns
from lakebox_layer.contracts import Contract, parse_contract
from lakebox_layer.privacy import plan_protection, protect_columns
from tests.fakes.provision import NAMES, Stubs, missing

DATABASE = NAMES.glue_database
CRAWLER = NAMES.glue_crawler
ROLE = NAMES.glue_role
ORDERS = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "orders.json").read_text()))


@pytest.fixture(autouse=True)
def only_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bootstrap reads contracts/*.json; these tests declare one contract, the orders one."""
    monkeypatch.setattr(contract_files, "contracts", lambda: [ORDERS])


def wanted(contract: Contract = ORDERS, existing: list[Column] | None = None) -> dict[str, Any]:
    table = catalog.contract_table(Stubs().context, contract, existing)
    assert table is not None
    return table


def found(table_input: dict[str, Any], version: str = "3") -> dict[str, Any]:
    """A table as get_table returns it."""
    return {"Table": {**copy.deepcopy(table_input), "DatabaseName": DATABASE, "VersionId": version}}


def expect_databases(glue: Stubber, exists: bool) -> None:
    """GetDatabases, the listing that says Glue is there and whether the database is."""
    listed = [{"Name": "another_catalog"}, *([{"Name": DATABASE}] if exists else [])]
    glue.add_response("get_databases", {"DatabaseList": listed}, {})


def expect_crawler_retired(stubs: Stubs) -> None:
    missing(stubs("glue"), "delete_crawler", "EntityNotFoundException", {"Name": CRAWLER}, 400)
    missing(stubs("iam"), "list_role_policies", "NoSuchEntity", {"RoleName": ROLE})


def test_the_orders_table_has_the_contracts_columns_typed_then_lineage_partitioned_by_day() -> None:
    table = wanted()
    columns = table["StorageDescriptor"]["Columns"]
    declared = contract_columns(ORDERS)
    assert declared is not None
    # Its personal data as curated: text with a comment saying how it is protected, and a token column.
    assert columns == [c.to_glue() for c in (*protect_columns(declared, plan_protection(ORDERS, {})), *LINEAGE)]
    assert columns[1:5] == [
        {"Name": "customer_email", "Type": "string", "Comment": "lakebox:pii=encrypt;class=email"},
        {"Name": "customer_email_token", "Type": "string", "Comment": "lakebox:pii-token-of=customer_email"},
        {"Name": "phone", "Type": "string", "Comment": "lakebox:pii=encrypt;class=phone"},
        {"Name": "phone_token", "Type": "string", "Comment": "lakebox:pii-token-of=phone"}]
    assert {"Name": "order_id", "Type": "bigint"} in columns
    assert {"Name": "ordered_at", "Type": "timestamp"} in columns
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == f"s3://{NAMES.processed_bucket}/curated/orders/"
    assert "ParquetHiveSerDe" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert table["Parameters"]["projection.enabled"] == "true"
    assert table["Parameters"]["storage.location.template"] == (
        f"s3://{NAMES.processed_bucket}/curated/orders/dt=${{dt}}/")


def test_a_missing_database_and_table_are_created_and_the_crawler_retired() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_databases(glue, exists=False)
    glue.add_response("create_database", {}, {"DatabaseInput": {
        "Name": DATABASE, "Description": "lakebox curated data catalog"}})
    missing(glue, "get_table", "EntityNotFoundException", {"DatabaseName": DATABASE, "Name": "orders"}, 400)
    glue.add_response("create_table", {}, {"DatabaseName": DATABASE, "TableInput": wanted()})
    expect_crawler_retired(stubs)

    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"glue database {DATABASE}"), ("created", f"glue table {DATABASE}.orders")]
    assert f"glue crawler {CRAWLER} (absent)" in stubs.unchanged


def test_a_table_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_databases(glue, exists=True)
    glue.add_response("get_table", found(wanted()), {"DatabaseName": DATABASE, "Name": "orders"})
    expect_crawler_retired(stubs)

    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert f"glue table {DATABASE}.orders" in stubs.unchanged


def test_a_changed_contract_updates_the_table_with_its_version_keeping_columns_learned_from_data_in_place(
        monkeypatch: pytest.MonkeyPatch) -> None:
    document = {**ORDERS.document, "fields": {**ORDERS.document["fields"], "coupon": {"type": "string"}}}
    changed = parse_contract(document)
    learned = Column("gift_wrap", "boolean")
    before = wanted()
    before["StorageDescriptor"]["Columns"].append(learned.to_glue())
    stubs = Stubs()
    glue = stubs("glue")
    expect_databases(glue, exists=True)
    glue.add_response("get_table", found(before, version="7"), {"DatabaseName": DATABASE, "Name": "orders"})
    after = wanted(changed, [Column.from_glue(c) for c in before["StorageDescriptor"]["Columns"]])
    glue.add_response("update_table", {}, {"DatabaseName": DATABASE, "TableInput": after, "VersionId": "7"})
    expect_crawler_retired(stubs)

    monkeypatch.setattr(contract_files, "contracts", lambda: [changed])
    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated", f"glue table {DATABASE}.orders")]
    names = [c["Name"] for c in after["StorageDescriptor"]["Columns"]]
    # Columns never move: the contract's new one goes after those the table has.
    assert names.index("gift_wrap") < names.index("coupon") < names.index("_process_id")


def test_protection_that_files_added_is_kept_and_a_second_apply_changes_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Curation marked a declared column the contract leaves in the clear protected (a file held personal data
    there), and found the class of a column the contract protects without naming one: bootstrap keeps both."""
    document = {**ORDERS.document, "fields": {**ORDERS.document["fields"], "contact": {},
                                              "backup_email": {"pii": True}}}
    contract = parse_contract(document)
    columns = [Column.from_glue(c) for c in wanted(contract)["StorageDescriptor"]["Columns"]]
    assert {c.name: c.comment for c in columns}["backup_email"] == "lakebox:pii=encrypt"
    marked = [Column(c.name, c.type, "lakebox:pii=encrypt;class=email") if c.name in ("contact", "backup_email")
              else c for c in columns]
    marked.insert(len(marked) - len(LINEAGE), Column("contact_token", "string", "lakebox:pii-token-of=contact"))
    after = wanted(contract, marked)
    assert after["StorageDescriptor"]["Columns"] == [c.to_glue() for c in marked]

    stubs = Stubs()
    glue = stubs("glue")
    expect_databases(glue, exists=True)
    glue.add_response("get_table", found(after), {"DatabaseName": DATABASE, "Name": "orders"})
    expect_crawler_retired(stubs)
    monkeypatch.setattr(contract_files, "contracts", lambda: [contract])
    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == []


def test_a_contract_without_columns_gets_no_table_from_bootstrap() -> None:
    bare = parse_contract({"dataset": "loose", "version": "1"})
    assert catalog.contract_table(Stubs().context, bare) is None


def test_without_glue_the_catalog_is_skipped_with_a_warning() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    for _ in range(2):
        glue.add_client_error("get_databases", service_error_code="NotImplemented", http_status_code=501,
                              expected_params={})

    catalog.apply_catalog(stubs.context)
    catalog.teardown_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert len(stubs.context.report.warnings) == 2
    assert "AWS does not offer Glue (NotImplemented)" in stubs.context.report.warnings[0]


def test_teardown_deletes_the_tables_then_the_database() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_databases(glue, exists=True)
    missing(glue, "delete_crawler", "EntityNotFoundException", {"Name": CRAWLER}, 400)
    glue.add_response("get_tables", {"TableList": [{"Name": "orders"}, {"Name": "sales"}]},
                      {"DatabaseName": DATABASE})
    glue.add_response("batch_delete_table", {}, {"DatabaseName": DATABASE, "TablesToDelete": ["orders", "sales"]})
    glue.add_response("delete_database", {}, {"Name": DATABASE})

    catalog.teardown_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"glue tables of {DATABASE}"), ("deleted", f"glue database {DATABASE}")]
