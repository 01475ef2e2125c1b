"""The columns of a curated table: what a contract declares, how a table widens, which names a table refuses, and
the contract's `curation.partition_by`. Pure logic, no DuckDB and no AWS."""

from __future__ import annotations

from typing import Any

import pytest

from lakebox_infra.contract_files import contracts
from lakebox_layer.columns import (
    CONTRACT_TYPES,
    GLUE_TYPES,
    LINEAGE,
    LINEAGE_NAMES,
    PARTITION_KEY,
    Column,
    check_names,
    contract_columns,
    data_columns,
    table_columns,
    widen,
)
from lakebox_layer.contracts import FIELD_TYPES, parse_contract, structural_contract
from lakebox_layer.exceptions import ContractInvalid, CurationRejected

SHIPPED = {contract.dataset: contract for contract in contracts()}


def document(**extra: Any) -> dict[str, Any]:
    return {"dataset": "sales", "version": "1.0.0", **extra}


# -- columns from a contract ----------------------------------------------------------------------------------------


def test_orders_contract_columns_are_its_fields_in_order_then_schema_only_properties() -> None:
    assert contract_columns(SHIPPED["orders"]) == [
        Column("order_id", "bigint"),
        Column("customer_email", "string"),
        Column("phone", "string"),
        Column("amount", "double"),
        Column("currency", "string"),
        Column("ordered_at", "timestamp"),
        Column("sku", "string"),
        Column("channel", "string"),
        Column("region", "string"),
        Column("note", "string"),
        Column("items", "string"),  # an array in the schema only: stored as JSON text
    ]
    assert SHIPPED["orders"].partition_by == "ordered_at"


def test_default_contract_columns_are_its_fields_then_the_schema_required_names_as_text() -> None:
    assert contract_columns(SHIPPED["default"]) == [
        Column("email", "string"), Column("phone", "string"),
        Column("id", "string"), Column("timestamp", "string"), Column("data", "string"),
    ]
    assert SHIPPED["default"].partition_by is None


def test_a_dataset_without_a_contract_has_no_declared_columns() -> None:
    assert contract_columns(structural_contract("clicks")) is None


@pytest.mark.parametrize(("field_type", "glue_type"), [
    ("integer", "bigint"), ("number", "double"), ("boolean", "boolean"), ("date", "date"),
    ("datetime", "timestamp"), ("string", "string"),
])
def test_every_contract_type_maps_to_a_glue_type(field_type: str, glue_type: str) -> None:
    contract = parse_contract(document(fields={"f": {"type": field_type}}))
    assert contract_columns(contract) == [Column("f", glue_type)]


def test_the_type_mapping_covers_every_contract_type_with_a_glue_type() -> None:
    assert set(CONTRACT_TYPES) == set(FIELD_TYPES)
    assert set(CONTRACT_TYPES.values()) <= set(GLUE_TYPES)


def test_a_field_without_a_type_is_text() -> None:
    assert contract_columns(parse_contract(document(fields={"note": {"pii": True}}))) == [Column("note", "string")]


def test_schema_property_types_map_and_the_fields_type_wins() -> None:
    contract = parse_contract(document(
        fields={"n": {"type": "string"}},
        schema={"type": "object", "required": ["r", "n"], "properties": {
            "n": {"type": "integer"}, "i": {"type": "integer"}, "x": {"type": "number"}, "b": {"type": "boolean"},
            "s": {"type": "string"}, "o": {"type": "object"}, "free": {},
        }},
    ))
    assert contract_columns(contract) == [
        Column("n", "string"), Column("i", "bigint"), Column("x", "double"), Column("b", "boolean"),
        Column("s", "string"), Column("o", "string"), Column("free", "string"), Column("r", "string"),
    ]


def test_lineage_names_and_the_partition_key_are_not_data_columns() -> None:
    contract = parse_contract(document(fields={"a": {"type": "integer"}, "_process_id": {}, "_ingested_at": {},
                                               "dt": {"type": "date"}}))
    assert contract_columns(contract) == [Column("a", "bigint")]


# -- table columns and widening -------------------------------------------------------------------------------------


def test_table_columns_end_with_the_lineage_columns() -> None:
    data = [Column("a", "bigint")]
    assert table_columns(data) == [Column("a", "bigint"), *LINEAGE]
    assert [c.name for c in LINEAGE] == ["_process_id", "_source_key", "_source_version", "_contract_version",
                                         "_ingested_at"]
    assert Column("_ingested_at", "timestamp") in LINEAGE
    assert data_columns(table_columns(data)) == data


def test_widen_keeps_the_existing_columns_in_order_and_type_and_adds_new_ones_at_the_end() -> None:
    existing = [Column("id", "bigint"), Column("name", "string"), Column("at", "timestamp")]
    found = [Column("extra", "double"), Column("at", "string"), Column("id", "string"), Column("more", "date")]
    assert widen(existing, found) == [*existing, Column("extra", "double"), Column("more", "date")]


def test_widen_never_drops_a_column_the_file_lacks() -> None:
    existing = [Column("id", "bigint"), Column("name", "string")]
    assert widen(existing, [Column("name", "bigint")]) == existing
    assert widen(existing, []) == existing


def test_widen_marks_a_column_protected_once_a_file_protects_it_and_never_unmarks_it() -> None:
    existing = [Column("email", "string"), Column("id", "bigint", "kept")]
    protected = [Column("email", "string", "lakebox:pii=encrypt;class=email"),
                 Column("email_token", "string", "lakebox:pii-token-of=email"), Column("id", "bigint", "other")]

    widened = widen(existing, protected)

    assert widened == [Column("email", "string", "lakebox:pii=encrypt;class=email"), Column("id", "bigint", "kept"),
                       Column("email_token", "string", "lakebox:pii-token-of=email")]
    assert widen(widened, [Column("email", "string"), Column("id", "bigint")]) == widened


def test_widen_of_nothing_is_the_file_columns_without_lineage() -> None:
    found = [Column("b", "string"), Column("_source_key", "string"), Column("a", "bigint")]
    assert widen([], found) == [Column("b", "string"), Column("a", "bigint")]
    assert not LINEAGE_NAMES & {c.name for c in widen([Column("x", "string")], [*LINEAGE, Column("y", "date")])}


def test_glue_columns_round_trip_and_types_are_read_lower_case() -> None:
    assert Column("a", "bigint").to_glue() == {"Name": "a", "Type": "bigint"}
    assert Column.from_glue({"Name": "a", "Type": "BIGINT"}) == Column("a", "bigint")
    assert Column.from_glue({"Name": "a"}) == Column("a", "string")


# -- column names -----------------------------------------------------------------------------------------------


def test_ordinary_names_pass() -> None:
    check_names(["id", "Name", "ordered_at", "dt_created", "a b"])
    check_names([])


@pytest.mark.parametrize(("names", "says"), [
    (["id", ""], "empty name"),
    (["id", "   "], "empty name"),
    (["dt"], "partition key"),
    (["DT"], "partition key"),
    (["Amount", "amount"], "'Amount' and 'amount' differ only in case"),
    (["id", "ID"], "differ only in case"),
])
def test_names_a_table_cannot_have_are_refused(names: list[str], says: str) -> None:
    with pytest.raises(CurationRejected) as refused:
        check_names(names)
    assert says in refused.value.reason
    assert PARTITION_KEY == "dt"


# -- the contract's curation section --------------------------------------------------------------------------------


@pytest.mark.parametrize("field_type", ["datetime", "date"])
def test_partition_by_may_name_a_date_or_datetime_field(field_type: str) -> None:
    contract = parse_contract(document(fields={"at": {"type": field_type}}, curation={"partition_by": "at"}))
    assert contract.partition_by == "at"


def test_without_a_curation_section_there_is_no_partition_field() -> None:
    assert parse_contract(document(fields={"at": {"type": "date"}})).partition_by is None


@pytest.mark.parametrize(("fields", "partition_by"), [
    ({"at": {"type": "datetime"}}, "unknown"),
    ({"at": {"type": "string"}}, "at"),
    ({"at": {}}, "at"),
    ({"at": {"type": "integer"}}, "at"),
])
def test_partition_by_must_name_a_declared_date_or_datetime_field(fields: dict[str, Any], partition_by: str) -> None:
    with pytest.raises(ContractInvalid, match="partition_by"):
        parse_contract(document(fields=fields, curation={"partition_by": partition_by}))


@pytest.mark.parametrize("curation", [{"partition_by": ""}, {"partition_by": 3}, {"other": "x"}])
def test_a_malformed_curation_section_is_refused(curation: dict[str, Any]) -> None:
    with pytest.raises(ContractInvalid):
        parse_contract(document(fields={"at": {"type": "date"}}, curation=curation))
