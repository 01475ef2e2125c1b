"""JSON Schema validation of records with fastjsonschema (pure Python, compiled to code once per schema).

Schemas are trusted contract content, but a `$ref` to a remote URI is still refused: validation never reaches the
network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import fastjsonschema

from lakebox_layer.exceptions import ContractInvalid

Validator = Callable[[Any], Any]


@dataclass(frozen=True)
class SchemaViolation:
    """One way a record breaks its schema: the keyword, the field path and fastjsonschema's message."""

    keyword: str
    path: str
    message: str


def _no_remote_refs(uri: str) -> Any:
    raise ContractInvalid(f"schema $ref to {uri} refused: contracts must be self-contained")


@lru_cache(maxsize=64)
def _compile(canonical: str) -> Validator:
    try:
        return fastjsonschema.compile(
            json.loads(canonical),
            handlers={"http": _no_remote_refs, "https": _no_remote_refs, "file": _no_remote_refs},
            fast_fail=False,
        )
    except fastjsonschema.JsonSchemaDefinitionException as error:
        raise ContractInvalid(f"schema does not compile: {error}") from error


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for `schema`, compiled once per distinct schema."""
    return _compile(json.dumps(schema, sort_keys=True))


def _path(error: fastjsonschema.JsonSchemaValueException) -> str:
    # fastjsonschema names the value "data.a.b" or "data[0]"; the record itself is the root.
    name = str(error.name or "data")
    return name.removeprefix("data").lstrip(".") or "$"


def _explain(error: fastjsonschema.JsonSchemaValueException) -> list[SchemaViolation]:
    path = _path(error)
    if error.rule == "required" and isinstance(error.value, dict) and isinstance(error.definition, dict):
        # One violation per missing field, named, rather than "must contain [every required field]".
        prefix = "" if path == "$" else f"{path}."
        return [SchemaViolation("required", f"{prefix}{name}", "missing required field")
                for name in error.definition.get("required", []) if name not in error.value]
    return [SchemaViolation(str(error.rule), path, str(error.message))]


def violations(validator: Validator, record: Any) -> list[SchemaViolation]:
    """Every way `record` breaks the schema; empty when it conforms."""
    try:
        validator(record)
    except fastjsonschema.JsonSchemaValuesException as errors:
        return [v for e in errors.errors for v in _explain(e)]
    except fastjsonschema.JsonSchemaValueException as error:
        return _explain(error)
    return []


def check_document(schema: dict[str, Any], document: Any, what: str) -> None:
    """Raise :class:`ContractInvalid` naming every way `document` breaks `schema`."""
    found = violations(compile_schema(schema), document)
    if found:
        detail = "; ".join(f"{v.path}: {v.message}" for v in found[:10])
        raise ContractInvalid(f"{what} is invalid: {detail}")
