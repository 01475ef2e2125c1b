"""parse_contract: contract documents in, Contracts out; a malformed document is refused with the reason."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.contracts import (
    STRUCTURAL_VERSION,
    Contract,
    FieldRules,
    Mode,
    UndeclaredPii,
    content_version,
    parse_contract,
    structural_contract,
)
from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.records import FileFormat
from lakebox_layer.rules import RecordJudge

ORDERS = json.loads((PROJECT_ROOT / "contracts" / "orders.json").read_text())
DEFAULT = json.loads((PROJECT_ROOT / "contracts" / "default.json").read_text())


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "dataset": "crm",
        "version": "2.1.0",
        "description": "customers",
        "schema": {"type": "object", "required": ["id"]},
        "fields": {
            "id": {"required": True, "type": "integer", "unique": True},
            "email": {"format": "email", "pii": True},
            "tier": {"enum": ["gold", "silver"]},
            "age": {"type": "integer", "minimum": 0, "maximum": 130},
            "code": {"pattern": "^[A-Z]{3}$"},
        },
        "policy": {"threshold": 80, "mode": "record"},
    }
    base.update(changes)
    return base


def refusal(doc: Any) -> str:
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(doc)
    return str(caught.value)


# -- valid documents ----------------------------------------------------------------------------------------------


def test_a_full_document_becomes_a_contract() -> None:
    contract = parse_contract(document())
    assert contract.dataset == "crm"
    assert contract.description == "customers"
    assert contract.threshold == 80.0
    assert isinstance(contract.threshold, float)
    assert contract.mode is Mode.RECORD
    assert contract.schema == {"type": "object", "required": ["id"]}
    assert contract.pii_fields == {"email"}
    assert contract.version != STRUCTURAL_VERSION
    fields = {f.name: f for f in contract.fields}
    assert [f.name for f in contract.fields] == ["id", "email", "tier", "age", "code"]  # document order
    assert fields["id"] == FieldRules("id", required=True, type="integer", unique=True)
    assert fields["email"] == FieldRules("email", format="email", protect="encrypt")
    assert fields["tier"].enum == ("gold", "silver")
    assert (fields["age"].minimum, fields["age"].maximum) == (0, 130)
    assert fields["code"].pattern == "^[A-Z]{3}$"
    assert contract.document == document()


@pytest.mark.parametrize(("pii", "protect"), [
    (True, "encrypt"), (False, None), ({"protect": "encrypt"}, "encrypt"), ({"protect": "token"}, "token"),
    ({"protect": "mask"}, "mask"), ({"protect": "drop"}, "drop"),
])
def test_a_fields_pii_says_how_its_curated_values_are_protected(pii: Any, protect: str | None) -> None:
    contract = parse_contract(document(fields={"email": {"pii": pii}, "amount": {"type": "number"}}))

    assert contract.protection == ({"email": protect} if protect else {})
    assert contract.pii_fields == ({"email"} if protect else frozenset())


def test_the_policy_names_what_happens_to_undeclared_personal_data() -> None:
    contract = parse_contract(document(policy={"undeclared_pii": "quarantine", "pii_threshold": 0.6,
                                               "pii_free_text": True}))

    assert (contract.undeclared_pii, contract.pii_threshold, contract.pii_free_text) == (
        UndeclaredPii.QUARANTINE, 0.6, True)


def test_the_minimal_document_has_defaults() -> None:
    contract = parse_contract({"dataset": "logs", "version": "1"})
    assert contract.fields == ()
    assert contract.schema is None
    assert contract.threshold == 0.0
    assert contract.mode is Mode.FILE
    assert contract.pii_fields == frozenset()
    assert (contract.undeclared_pii, contract.pii_threshold, contract.pii_free_text) == (
        UndeclaredPii.PROTECT, 0.8, False)


@pytest.mark.parametrize("dataset", ["a", "orders", "orders_2026", "sales-eu-west", "default"])
def test_dataset_names_that_are_accepted(dataset: str) -> None:
    assert parse_contract({"dataset": dataset, "version": "1"}).dataset == dataset


def test_version_is_the_declared_version_plus_a_content_digest() -> None:
    contract = parse_contract(document())
    assert re.fullmatch(r"2\.1\.0\+[0-9a-f]{8}", contract.version), contract.version
    assert contract.version == content_version(document())


def test_version_ignores_key_order_but_not_content() -> None:
    reordered = json.loads(json.dumps(document(), sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    assert parse_contract(reordered).version == parse_contract(document()).version
    # An edit without a version bump still changes the version.
    edited = document()
    edited["fields"]["age"]["maximum"] = 120
    assert parse_contract(edited).version != parse_contract(document()).version
    assert parse_contract(edited).version.startswith("2.1.0+")


def test_parsing_does_not_change_the_document() -> None:
    doc = document()
    snapshot = copy.deepcopy(doc)
    parse_contract(doc)
    assert doc == snapshot


def test_shipped_contracts_parse() -> None:
    orders = parse_contract(ORDERS)
    assert orders.mode is Mode.RECORD
    assert orders.threshold == 50.0
    assert {f.name for f in orders.fields if f.required} == {"order_id", "customer_email", "amount", "currency",
                                                            "ordered_at"}
    default = parse_contract(DEFAULT)
    assert default.mode is Mode.FILE
    assert default.threshold == 70.0


def test_structural_contract() -> None:
    contract = structural_contract("sales")
    assert contract == Contract(dataset="sales", version=STRUCTURAL_VERSION)
    assert contract.version == "structural"
    assert contract.version == STRUCTURAL_VERSION
    assert contract.fields == ()
    assert contract.schema is None
    assert contract.threshold == 0.0
    assert contract.mode is Mode.FILE


# -- malformed documents ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason_part"),
    [
        ({"dataset": None}, "dataset"),
        ({"dataset": ""}, "dataset"),
        ({"dataset": "-leading-dash"}, "dataset"),
        ({"dataset": "has space"}, "dataset"),
        ({"dataset": "a/b"}, "dataset"),
        ({"dataset": "Orders"}, "not a valid dataset name"),
        ({"dataset": "sales.eu"}, "not a valid dataset name"),
        ({"dataset": "9lives"}, "not a valid dataset name"),
        ({"version": None}, "version"),
        ({"version": ""}, "version"),
        ({"version": 1}, "version"),
        ({"description": 5}, "description"),
        ({"schema": "not an object"}, "schema"),
        ({"fields": []}, "fields"),
        ({"fields": {"a": "required"}}, "fields.a"),
        ({"fields": {"a": {"required": "yes"}}}, "fields.a.required"),
        ({"fields": {"a": {"type": "int"}}}, "fields.a.type"),
        ({"fields": {"a": {"type": "object"}}}, "fields.a.type"),
        ({"fields": {"a": {"format": "uuid"}}}, "fields.a.format"),
        ({"fields": {"a": {"pattern": 5}}}, "fields.a.pattern"),
        ({"fields": {"a": {"enum": []}}}, "fields.a.enum"),
        ({"fields": {"a": {"enum": "gold"}}}, "fields.a.enum"),
        ({"fields": {"a": {"minimum": "0"}}}, "fields.a.minimum"),
        ({"fields": {"a": {"maximum": True}}}, "fields.a.maximum"),
        ({"fields": {"a": {"unique": 1}}}, "fields.a.unique"),
        ({"fields": {"a": {"pii": "no"}}}, "fields.a.pii"),
        ({"fields": {"a": {"pii": {"protect": "hide"}}}}, "fields.a.pii"),
        ({"fields": {"a": {"pii": {}}}}, "fields.a.pii"),
        ({"fields": {"a": {"pii": {"protect": "mask", "class": "email"}}}}, "fields.a.pii"),
        ({"policy": {"undeclared_pii": "ignore"}}, "policy.undeclared_pii"),
        ({"policy": {"pii_threshold": 0.3}}, "policy.pii_threshold"),
        ({"policy": {"pii_threshold": 80}}, "policy.pii_threshold"),
        ({"policy": {"pii_free_text": "yes"}}, "policy.pii_free_text"),
        ({"fields": {"a": {"nullable": True}}}, "fields.a"),
        ({"policy": {"threshold": 101}}, "policy.threshold"),
        ({"policy": {"threshold": -1}}, "policy.threshold"),
        ({"policy": {"threshold": "70"}}, "policy.threshold"),
        ({"policy": {"mode": "rows"}}, "policy.mode"),
        ({"policy": {"retries": 3}}, "policy"),
        ({"owner": "team-a"}, "owner"),
    ],
)
def test_malformed_documents_are_refused_naming_what_is_wrong(changes: dict[str, Any], reason_part: str) -> None:
    doc = document(**changes)
    for key, value in changes.items():
        if value is None:
            del doc[key]
    reason = refusal(doc)
    assert reason_part in reason, reason


def test_every_problem_of_a_document_is_named() -> None:
    reason = refusal(document(fields={"a": {"type": "int"}}, policy={"mode": "rows", "threshold": 200}))
    assert "contract 'crm' is invalid" in reason
    for part in ("fields.a.type", "policy.mode", "policy.threshold"):
        assert part in reason


def test_a_document_without_a_dataset_is_named_by_a_placeholder() -> None:
    assert "contract '?' is invalid" in refusal({"version": "1"})


@pytest.mark.parametrize("doc", [["crm"], "crm"], ids=["list", "string"])
def test_a_document_that_is_not_an_object_is_refused(doc: Any) -> None:
    # A document read back from the metadata table may be anything; parse_contract must say it is malformed.
    with pytest.raises(ContractInvalid):
        parse_contract(doc)


@pytest.mark.parametrize(("minimum", "maximum"), [(5, 1), (0.5, 0.25), (-1, -2)])
def test_minimum_above_maximum_is_refused(minimum: float, maximum: float) -> None:
    reason = refusal(document(fields={"n": {"minimum": minimum, "maximum": maximum}}))
    assert "field 'n'" in reason
    assert "minimum" in reason
    assert "maximum" in reason


def test_minimum_equal_to_maximum_is_accepted() -> None:
    [rules] = parse_contract(document(fields={"n": {"minimum": 3, "maximum": 3}})).fields
    assert (rules.minimum, rules.maximum) == (3, 3)


@pytest.mark.parametrize("pattern", ["([a-z", "*x"])
def test_a_pattern_that_does_not_compile_is_refused(pattern: str) -> None:
    # Refused when the contract is parsed (bootstrap publishes only parsed contracts), not first when a file of the
    # dataset is validated.
    reason = refusal(document(fields={"code": {"pattern": pattern}}))
    assert "code" in reason
    assert "pattern" in reason


def test_an_enum_with_a_list_member_is_refused_or_applied() -> None:
    # The document schema lets enum members be any JSON value. A contract parse_contract accepts must be one the
    # rules can apply: either refuse it here, or judge records with it.
    try:
        contract = parse_contract(document(fields={"tags": {"enum": [["a", "b"]]}}))
    except ContractInvalid:
        return
    judge = RecordJudge(contract, FileFormat.JSON)
    assert judge.judge({"tags": ["a", "b"]}) == []
    assert [v.rule for v in judge.judge({"tags": ["c"]})] == ["enum"]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "not-a-type"},
        {"properties": {"a": {"$ref": "#/$defs/missing"}}},
        {"type": "object", "required": "id"},
    ],
    ids=["unknown-type", "dangling-ref", "required-not-a-list"],
)
def test_a_schema_that_does_not_compile_is_refused(schema: dict[str, Any]) -> None:
    assert "schema" in refusal(document(schema=schema))


@pytest.mark.parametrize("uri", ["https://example.com/record.json", "http://example.com/s#/a", "file:///etc/s.json"])
def test_a_schema_with_a_remote_ref_is_refused(uri: str) -> None:
    reason = refusal(document(schema={"type": "object", "properties": {"a": {"$ref": uri}}}))
    assert "self-contained" in reason
    assert uri.split("#")[0] in reason


def test_a_schema_with_a_local_ref_is_accepted() -> None:
    schema = {"$defs": {"sku": {"type": "string"}}, "type": "object", "properties": {"sku": {"$ref": "#/$defs/sku"}}}
    assert parse_contract(document(schema=schema)).schema == schema
