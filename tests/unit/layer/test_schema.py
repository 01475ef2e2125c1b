"""JSON Schema checks of one record: every violation named by keyword and path, no network, compiled once."""

from __future__ import annotations

from typing import Any

import pytest

from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.schema import SchemaViolation, check_document, compile_schema, violations

ORDER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["order_id", "amount", "currency"],
    "properties": {
        "order_id": {"type": "integer", "minimum": 1},
        "amount": {"type": "number"},
        "currency": {"enum": ["EUR", "USD"]},
        "customer": {"type": "object", "required": ["name", "email"]},
        "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
    },
}


def found(record: Any, schema: dict[str, Any] = ORDER_SCHEMA) -> list[SchemaViolation]:
    return violations(compile_schema(schema), record)


def test_a_conforming_record_has_no_violations() -> None:
    record = {"order_id": 1, "amount": 9.5, "currency": "EUR", "customer": {"name": "Ann", "email": "a@b.io"},
              "items": [{"sku": "AB-1"}], "extra": "allowed"}
    assert found(record) == []


def test_each_missing_required_field_is_its_own_violation() -> None:
    assert found({"amount": 1}) == [
        SchemaViolation("required", "order_id", "missing required field"),
        SchemaViolation("required", "currency", "missing required field"),
    ]


def test_nested_required_fields_carry_their_path() -> None:
    record = {"order_id": 1, "amount": 1, "currency": "EUR", "customer": {"name": "Ann"},
              "items": [{"sku": "a"}, {"qty": 2}]}
    assert found(record) == [
        SchemaViolation("required", "customer.email", "missing required field"),
        SchemaViolation("required", "items[1].sku", "missing required field"),
    ]


def test_every_broken_keyword_is_reported_not_only_the_first() -> None:
    record = {"order_id": 0, "amount": "12", "currency": "GBP"}
    by_path = {v.path: v for v in found(record)}
    assert set(by_path) == {"order_id", "amount", "currency"}
    assert by_path["order_id"].keyword == "minimum"
    assert by_path["amount"].keyword == "type"
    assert by_path["currency"].keyword == "enum"
    assert "amount" in by_path["amount"].message
    assert "number" in by_path["amount"].message


@pytest.mark.parametrize("record", [[{"order_id": 1}], "text", 42, None])
def test_a_record_that_is_not_an_object_is_one_violation_at_the_root(record: Any) -> None:
    [violation] = found(record)
    assert violation.keyword == "type"
    assert violation.path == "$"


def test_an_empty_schema_accepts_anything() -> None:
    assert found({"anything": [1, 2]}, {}) == []


def test_compiled_once_per_distinct_schema_whatever_the_key_order() -> None:
    reordered = dict(reversed(list(ORDER_SCHEMA.items())))
    assert compile_schema(ORDER_SCHEMA) is compile_schema(reordered)
    assert compile_schema(ORDER_SCHEMA) is not compile_schema({"type": "object"})


@pytest.mark.parametrize("uri", ["https://example.com/order.json", "http://example.com/a", "file:///tmp/a.json"])
def test_a_remote_ref_is_refused_without_reaching_the_network(uri: str) -> None:
    # The unit suite blocks sockets: a fetch attempt would fail differently from this refusal.
    with pytest.raises(ContractInvalid, match="self-contained"):
        compile_schema({"type": "object", "properties": {"a": {"$ref": uri}}})


def test_a_schema_that_does_not_compile_is_a_broken_contract() -> None:
    with pytest.raises(ContractInvalid, match="does not compile"):
        compile_schema({"type": "no-such-type"})


def test_check_document_names_what_is_checked_and_each_problem() -> None:
    with pytest.raises(ContractInvalid) as caught:
        check_document(ORDER_SCHEMA, {"order_id": "x"}, "order 7")
    message = str(caught.value)
    assert message.startswith("order 7 is invalid: ")
    for part in ("order_id", "amount: missing required field", "currency: missing required field"):
        assert part in message


def test_check_document_accepts_a_conforming_document() -> None:
    check_document(ORDER_SCHEMA, {"order_id": 3, "amount": 1, "currency": "USD"}, "order 3")
