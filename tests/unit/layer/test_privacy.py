"""Which columns curation protects and how: the contract's pii fields by their mode, undeclared personal data as the
policy says, what the table protects already; the curated columns each becomes, with the comments a table keeps;
what a data key leaves in the metadata table and in a Parquet file (its wrapped copy, never the plain key)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lakebox_layer.adapters.keys import DataKey, data_key_context
from lakebox_layer.columns import Column
from lakebox_layer.contracts import parse_contract
from lakebox_layer.privacy import (
    LAKE_SETTINGS_KEY,
    ColumnPlan,
    data_key_item,
    keys_metadata,
    lake_settings_item,
    plan_protection,
    protect_columns,
    protected_in,
)
from lakebox_layer.protection import ProtectMode

ENCRYPT, TOKEN, MASK, DROP = ProtectMode.ENCRYPT, ProtectMode.TOKEN, ProtectMode.MASK, ProtectMode.DROP


def contract(policy: dict[str, Any] | None = None, **fields: Any) -> Any:
    return parse_contract({"dataset": "crm", "version": "1", "fields": fields or {"id": {"type": "integer"}},
                           **({"policy": policy} if policy else {})})


def test_declared_fields_are_planned_by_their_mode_with_the_class_found_or_their_format() -> None:
    crm = contract(email={"format": "email", "pii": True}, phone={"format": "phone", "pii": {"protect": "mask"}},
                   ssn={"pii": {"protect": "drop"}}, card={"pii": {"protect": "token"}}, tier={})

    plans = plan_protection(crm, {"card": "payment_card"})

    assert plans == {"email": ColumnPlan("email", ENCRYPT, "email"), "phone": ColumnPlan("phone", MASK, "phone"),
                     "ssn": ColumnPlan("ssn", DROP), "card": ColumnPlan("card", TOKEN, "payment_card")}


@pytest.mark.parametrize(("policy", "planned"), [
    ({}, {"contact": ColumnPlan("contact", ENCRYPT, "email")}),
    ({"undeclared_pii": "protect"}, {"contact": ColumnPlan("contact", ENCRYPT, "email")}),
    ({"undeclared_pii": "allow"}, {}),
    ({"undeclared_pii": "quarantine"}, {}),  # such a file never reaches curation
])
def test_undeclared_personal_data_is_encrypted_only_under_protect(policy: dict[str, Any],
                                                                  planned: dict[str, ColumnPlan]) -> None:
    assert plan_protection(contract(policy), {"contact": "email"}) == planned


def test_what_the_table_protects_stays_protected_and_the_contract_has_the_first_say() -> None:
    crm = contract(email={"pii": {"protect": "token"}})
    table = protected_in([Column("email", "string", "lakebox:pii=encrypt;class=email"),
                          Column("legacy", "string", "lakebox:pii=mask;class=phone"),
                          Column("legacy_token", "string", "lakebox:pii-token-of=legacy"),
                          Column("note", "string", "a human's comment"), Column("odd", "string", "lakebox:pii=what")])

    plans = plan_protection(crm, {}, table)

    assert plans == {"email": ColumnPlan("email", TOKEN), "legacy": ColumnPlan("legacy", MASK, "phone")}


def test_protected_columns_become_their_curated_text_columns_with_comments_in_place() -> None:
    plans = {"email": ColumnPlan("email", ENCRYPT, "email"), "card": ColumnPlan("card", TOKEN),
             "phone": ColumnPlan("phone", MASK), "ssn": ColumnPlan("ssn", DROP)}
    columns = [Column("id", "bigint"), Column("email", "string"), Column("card", "bigint"), Column("phone", "string"),
               Column("ssn", "string"), Column("email_token", "string"), Column("at", "timestamp")]

    assert protect_columns(columns, plans) == [
        Column("id", "bigint"),
        Column("email", "string", "lakebox:pii=encrypt;class=email"),
        Column("email_token", "string", "lakebox:pii-token-of=email"),
        Column("card_token", "string", "lakebox:pii-token-of=card"),
        Column("phone", "string", "lakebox:pii=mask"),
        Column("at", "timestamp"),
    ]
    assert protect_columns(columns, {}) == columns


def test_a_data_key_leaves_only_its_wrapped_copy_and_context_behind() -> None:
    plain, wrapped = b"p" * 32, b"wrapped-by-kms"
    key = DataKey(plain, wrapped, "0123456789abcdef", data_key_context("crm", "email"))

    item = data_key_item(key, "pid1")
    metadata = keys_metadata({"email": key}, {"email": ColumnPlan("email", ENCRYPT, "email")})

    assert item == {"ProcessId": "datakey#0123456789abcdef", "Timestamp": "data key",
                    "Wrapped": base64.b64encode(wrapped).decode(),
                    "Context": {"lakebox:dataset": "crm", "lakebox:column": "email"}, "CuratedBy": "pid1"}
    assert json.loads(metadata["lakebox.protection"]) == {"email": "lakebox:pii=encrypt;class=email"}
    assert json.loads(metadata["lakebox.keys"])["email"]["ref"] == "0123456789abcdef"
    shown = json.dumps([item, metadata])
    assert base64.b64encode(plain).decode() not in shown and "pppp" not in shown
    assert "p" * 32 not in repr(key)


def test_the_lake_settings_item_names_the_environment() -> None:
    assert lake_settings_item("production") == {**LAKE_SETTINGS_KEY, "Environment": "production"}
