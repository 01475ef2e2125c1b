"""Dataset contracts: data, one document per dataset, read by the functions at run time.

A contract document (`contracts/<dataset>.json`, published by bootstrap into the metadata table) holds:

- `schema`: an optional JSON Schema (draft 2020-12) for one record, applied to JSON and JSON Lines records;
- `fields`: lakebox rules per field, applied to every format: `required`, `type` (string, integer, number,
  boolean, date, datetime), `format` (email, phone, date, datetime), `pattern` (a regular expression), `enum`,
  `minimum` / `maximum`, `unique` (within a file) and `pii`: `true` or `{"protect": "encrypt" | "token" | "mask" |
  "drop"}` (`true` is `encrypt`): how the curated zone stores the field's values, which reports and logs never show;
- `policy`: the quality `threshold` (0-100) and the `mode`: `file` routes the whole file, `record` sends good
  records to processed and bad ones to quarantine; `undeclared_pii`, what happens to a column the contract does not
  mark but whose values are personal data: `protect` (the default: curated as `encrypt` would), `quarantine` (the
  file, with the column and its class as the reason) or `allow`; `pii_threshold`, the share (0.5-1) of a column's
  sampled values that makes it personal data (default 0.8); `pii_free_text` (AWS only): also ask Comprehend about
  free-text columns;
- `curation`: optionally `partition_by`, a `date` or `datetime` field whose day partitions the curated Parquet
  (`dt=YYYY-MM-DD`); without it a file's rows are partitioned by the day the file arrived.

A dataset without a contract gets structural checks only (the file must parse; CSV rows must match the header).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.schema import check_document, compile_schema

FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")
FIELD_FORMATS = ("email", "phone", "date", "datetime")
STRUCTURAL_VERSION = "structural"


class Mode(StrEnum):
    FILE = "file"
    RECORD = "record"


class UndeclaredPii(StrEnum):
    """What happens to a column of personal data the contract does not mark."""

    PROTECT = "protect"
    QUARANTINE = "quarantine"
    ALLOW = "allow"


# How a protected field is stored in the curated zone (see lakebox_layer.protection for what each writes).
PROTECT_MODES = ("encrypt", "token", "mask", "drop")
DEFAULT_PROTECT = "encrypt"
DEFAULT_PII_THRESHOLD = 0.8


@dataclass(frozen=True)
class FieldRules:
    """The lakebox rules of one field."""

    name: str
    required: bool = False
    type: str | None = None
    format: str | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    unique: bool = False
    # How the curated zone stores the field's values when it holds personal data; None when it does not.
    protect: str | None = None

    @property
    def pii(self) -> bool:
        return self.protect is not None


@dataclass(frozen=True)
class Contract:
    """One dataset's contract, as the validation stage applies it."""

    dataset: str
    version: str
    fields: tuple[FieldRules, ...] = ()
    schema: dict[str, Any] | None = None
    threshold: float = 0.0
    mode: Mode = Mode.FILE
    description: str = ""
    partition_by: str | None = None
    undeclared_pii: UndeclaredPii = UndeclaredPii.PROTECT
    pii_threshold: float = DEFAULT_PII_THRESHOLD
    pii_free_text: bool = False
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def pii_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.pii)

    @property
    def protection(self) -> dict[str, str]:
        """How each field the contract marks as personal data is curated, by field."""
        return {f.name: f.protect for f in self.fields if f.protect is not None}


def structural_contract(dataset: str) -> Contract:
    """What a dataset without a contract gets: the file must parse, nothing more."""
    return Contract(dataset=dataset, version=STRUCTURAL_VERSION)


# The shape of a contract document, checked before a contract is published or used.
CONTRACT_DOCUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dataset", "version"],
    "additionalProperties": False,
    "properties": {
        "dataset": {"type": "string", "minLength": 1},
        "version": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "schema": {"type": "object"},
        "fields": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "required": {"type": "boolean"},
                    "type": {"enum": list(FIELD_TYPES)},
                    "format": {"enum": list(FIELD_FORMATS)},
                    "pattern": {"type": "string"},
                    "enum": {"type": "array", "minItems": 1,
                             "items": {"type": ["string", "number", "boolean", "null"]}},
                    "minimum": {"type": "number"},
                    "maximum": {"type": "number"},
                    "unique": {"type": "boolean"},
                    "pii": {"oneOf": [
                        {"type": "boolean"},
                        {"type": "object", "additionalProperties": False, "required": ["protect"],
                         "properties": {"protect": {"enum": list(PROTECT_MODES)}}},
                    ]},
                },
            },
        },
        "policy": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "threshold": {"type": "number", "minimum": 0, "maximum": 100},
                "mode": {"enum": [m.value for m in Mode]},
                "undeclared_pii": {"enum": [u.value for u in UndeclaredPii]},
                "pii_threshold": {"type": "number", "minimum": 0.5, "maximum": 1},
                "pii_free_text": {"type": "boolean"},
            },
        },
        "curation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"partition_by": {"type": "string", "minLength": 1}},
        },
    },
}


def content_version(document: dict[str, Any]) -> str:
    """The declared version plus a digest of the content, so an edit without a version bump is still visible."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return f"{document['version']}+{hashlib.sha256(canonical).hexdigest()[:8]}"


def parse_contract(document: dict[str, Any]) -> Contract:
    """A contract from its document; a malformed document raises :class:`ContractInvalid` saying what is wrong."""
    if not isinstance(document, dict):
        raise ContractInvalid(f"a contract must be a JSON object, not {type(document).__name__}")
    check_document(CONTRACT_DOCUMENT_SCHEMA, document, f"contract {document.get('dataset', '?')!r}")
    problem = dataset_name_problem(document["dataset"])
    if problem is not None:
        raise ContractInvalid(problem)  # a contract for a name no file can carry would never apply
    schema = document.get("schema")
    if schema is not None:
        compile_schema(schema)  # a schema that does not compile is a broken contract, found at publish time
    fields = tuple(
        FieldRules(
            name=name,
            required=bool(rules.get("required", False)),
            type=rules.get("type"),
            format=rules.get("format"),
            pattern=rules.get("pattern"),
            enum=tuple(rules["enum"]) if "enum" in rules else None,
            minimum=rules.get("minimum"),
            maximum=rules.get("maximum"),
            unique=bool(rules.get("unique", False)),
            protect=_protect_mode(rules.get("pii", False)),
        )
        for name, rules in document.get("fields", {}).items()
    )
    for rules in fields:
        if rules.minimum is not None and rules.maximum is not None and rules.minimum > rules.maximum:
            raise ContractInvalid(f"field {rules.name!r}: minimum {rules.minimum} is above maximum {rules.maximum}")
        if rules.pattern is not None:
            try:
                re.compile(rules.pattern)
            except re.error as error:
                raise ContractInvalid(f"field {rules.name!r}: pattern does not compile: {error}") from error
    partition_by = document.get("curation", {}).get("partition_by")
    if partition_by is not None:
        declared = {rules.name: rules.type for rules in fields}
        if declared.get(partition_by) not in ("date", "datetime"):
            raise ContractInvalid(
                f"curation.partition_by {partition_by!r} must name a field of type date or datetime")
    policy = document.get("policy", {})
    return Contract(
        dataset=document["dataset"],
        version=content_version(document),
        fields=fields,
        schema=schema,
        threshold=float(policy.get("threshold", 0.0)),
        mode=Mode(policy.get("mode", Mode.FILE.value)),
        description=document.get("description", ""),
        partition_by=partition_by,
        undeclared_pii=UndeclaredPii(policy.get("undeclared_pii", UndeclaredPii.PROTECT.value)),
        pii_threshold=float(policy.get("pii_threshold", DEFAULT_PII_THRESHOLD)),
        pii_free_text=bool(policy.get("pii_free_text", False)),
        document=document,
    )


def _protect_mode(pii: bool | dict[str, str]) -> str | None:
    """A field's `pii` as the protection of its curated values: `true` is encrypt, `false` none."""
    if isinstance(pii, dict):
        return str(pii["protect"])
    return DEFAULT_PROTECT if pii else None
