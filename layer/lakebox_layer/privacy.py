"""Which columns of a processed file the curated zone protects, and how: pure logic, no AWS.

A column is protected when the dataset's contract marks it `pii` (its `protect` mode), when validation found
personal data in it that the contract does not mark and the contract's `policy.undeclared_pii` is `protect` (as
`encrypt`; a dataset without a contract follows `protect`), or when the dataset's table already protects it (a
column protected once stays protected in every later file, whatever that file's sample showed).

The curated columns of a protected column are those :func:`lakebox_layer.protection.curated_columns` names, all
text, each with a comment the Glue table keeps (`lakebox:pii=encrypt;class=email`, `lakebox:pii-token-of=email`):
that is how the table says which columns are protected, and how a later file finds them. Outside production, a
column `encrypt` protects holds masked values instead of ciphertext (same columns, same comment).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakebox_layer.adapters.keys import DataKey
from lakebox_layer.columns import Column
from lakebox_layer.contracts import Contract, UndeclaredPii
from lakebox_layer.protection import ProtectMode, curated_columns, token_column

# The metadata table keeps each data key's wrapped copy under its reference, for a steward's reveal.
DATA_KEY_PREFIX = "datakey#"
DATA_KEY_SORT = "data key"
# What bootstrap records of the lake in the metadata table, for readers other than its functions: whether its
# protected columns hold ciphertext (production) or masks, which `lakebox query --reveal` says before trying.
LAKE_SETTINGS_KEY = {"ProcessId": "lake#settings", "Timestamp": "current"}
PII_COMMENT = "lakebox:pii="
TOKEN_COMMENT = "lakebox:pii-token-of="  # noqa: S105 - a comment's prefix, not a secret
_CLASS = ";class="
# A declared field's format that names its class of personal data when validation's sample did not.
_PII_FORMATS = ("email", "phone")


@dataclass(frozen=True)
class ColumnPlan:
    """One protected column: how it is curated, and the class of personal data validation found in it (None for a
    column the contract marks in which none was found)."""

    column: str
    mode: ProtectMode
    pii_class: str | None = None

    @property
    def comment(self) -> str:
        return f"{PII_COMMENT}{self.mode.value}" + (f"{_CLASS}{self.pii_class}" if self.pii_class else "")

    @property
    def curated(self) -> tuple[str, ...]:
        return curated_columns(self.column, self.mode)


def _from_comment(column: Column) -> ColumnPlan | None:
    """The plan a table's column comment records, or None for a column it does not protect."""
    comment = column.comment or ""
    if not comment.startswith(PII_COMMENT):
        return None
    mode, _, pii_class = comment[len(PII_COMMENT):].partition(_CLASS)
    try:
        return ColumnPlan(column.name, ProtectMode(mode), pii_class or None)
    except ValueError:
        return None


def protected_in(columns: list[Column]) -> dict[str, ColumnPlan]:
    """The columns a table protects already, by their comments."""
    plans = [_from_comment(column) for column in columns]
    return {plan.column: plan for plan in plans if plan is not None}


def plan_protection(contract: Contract, found: Mapping[str, str],
                    table: Mapping[str, ColumnPlan] | None = None) -> dict[str, ColumnPlan]:
    """The protected columns of a file: the contract's, then the undeclared personal data validation `found`
    (column -> class) that the policy protects, then what the `table` protects already; in that order of say. A
    declared column's class is what validation found in it, else its format when that is `email` or `phone`."""
    formats = {rules.name: rules.format for rules in contract.fields if rules.format in _PII_FORMATS}
    plans = {column: ColumnPlan(column, ProtectMode(mode), found.get(column) or formats.get(column))
             for column, mode in contract.protection.items()}
    if contract.undeclared_pii is UndeclaredPii.PROTECT:
        plans.update({column: ColumnPlan(column, ProtectMode.ENCRYPT, kind)
                      for column, kind in found.items() if column not in plans})
    plans.update({column: plan for column, plan in (table or {}).items() if column not in plans})
    return plans


def protect_columns(columns: list[Column], plans: Mapping[str, ColumnPlan]) -> list[Column]:
    """A table's columns with each protected one replaced by its curated columns, all text, with their comments."""
    protected: list[Column] = []
    for column in columns:
        plan = plans.get(column.name)
        if plan is None:
            if not any(column.name == token_column(p.column) for p in plans.values()):
                protected.append(column)
            continue
        protected.extend(Column(name, "string", plan.comment if name == plan.column else
                                f"{TOKEN_COMMENT}{plan.column}") for name in plan.curated)
    return protected


def lake_settings_item(environment: str) -> dict[str, Any]:
    """The metadata table's item of the lake's own settings."""
    return {**LAKE_SETTINGS_KEY, "Environment": environment}


def data_key_item(key: DataKey, process_id: str) -> dict[str, Any]:
    """The metadata table's item of a data key: its wrapped copy (never the plain one) and its encryption context,
    under its reference, so a value's ciphertext leads to the key that opens it."""
    return {"ProcessId": f"{DATA_KEY_PREFIX}{key.ref}", "Timestamp": DATA_KEY_SORT,
            "Wrapped": base64.b64encode(key.wrapped).decode(), "Context": dict(key.context), "CuratedBy": process_id}


def keys_metadata(keys: Mapping[str, DataKey], plans: Mapping[str, ColumnPlan]) -> dict[str, str]:
    """What a curated Parquet file says of its protection in its key-value metadata: each protected column's plan,
    and each data key's reference, wrapped copy and context (never the plain key)."""
    return {
        "lakebox.protection": json.dumps({column: plan.comment for column, plan in plans.items()}, sort_keys=True),
        "lakebox.keys": json.dumps({column: {"ref": key.ref, "wrapped": base64.b64encode(key.wrapped).decode(),
                                             "context": key.context} for column, key in keys.items()},
                                   sort_keys=True),
    }
