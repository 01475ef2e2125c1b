"""A contract compiled into checks for one file's records: the hot path of validation.

Every check takes a value that is present and not blank and returns a message or None. CSV values are strings, so
types, formats and ranges parse them; JSON values are checked as they are (an integer must be a JSON integer).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lakebox_layer.contracts import Contract, FieldRules
from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.records import FileFormat
from lakebox_layer.schema import compile_schema, violations

Check = Callable[[Any], str | None]

EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# E.164-like after removing separators; the pattern of the Serverless Data Lake Architecture recipe (the design this
# project implements) rejected its own sample "+1-555-123-4567".
PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")
_PHONE_SEPARATORS = str.maketrans("", "", " -.()")
_INTEGER = re.compile(r"^[+-]?\d+$")
# Decimal notation only: float() would also take "1_000", "nan" and "infinity", which no CSV reader means.
_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TRUTH = {"true", "false", "1", "0", "yes", "no", "t", "f", "y", "n"}


@dataclass(frozen=True)
class Violation:
    """One broken rule of one record: the rule, the field path, a message without the value, and the value."""

    rule: str
    field: str
    message: str
    value: Any = None


def is_blank(value: Any) -> bool:
    return value is None or (value.__class__ is str and (not value or value.isspace()))


def is_valid_email(value: Any) -> bool:
    return isinstance(value, str) and EMAIL.match(value.strip()) is not None


def is_valid_phone(value: Any) -> bool:
    return isinstance(value, str) and PHONE.match(value.strip().translate(_PHONE_SEPARATORS)) is not None


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return False
    return True


def _is_datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return False
    return True


def _number(value: Any, text_values: bool) -> float | None:
    """The value as a finite number, or None. JSON numbers count as they are (booleans do not); text is parsed
    only where values are text (CSV)."""
    if value.__class__ is bool:
        return None
    if isinstance(value, int | float) or (text_values and isinstance(value, str) and _DECIMAL.match(value.strip())):
        number = float(value)
    else:
        return None
    return number if math.isfinite(number) else None


def _type_check(kind: str, text_values: bool) -> Check:
    def integer(value: Any) -> str | None:
        if value.__class__ is int or (text_values and value.__class__ is str and _INTEGER.match(value.strip())):
            return None
        return "not an integer"

    def number(value: Any) -> str | None:
        return None if _number(value, text_values) is not None else "not a number"

    def boolean(value: Any) -> str | None:
        if value.__class__ is bool or (text_values and value.__class__ is str and value.strip().lower() in _TRUTH):
            return None
        return "not a boolean"

    def string(value: Any) -> str | None:
        return None if value.__class__ is str else "not a string"

    checks: dict[str, Check] = {
        "integer": integer,
        "number": number,
        "boolean": boolean,
        "string": string,
        "date": lambda v: None if _is_date(v) else "not a date (YYYY-MM-DD)",
        "datetime": lambda v: None if _is_datetime(v) else "not an ISO 8601 date-time",
    }
    return checks[kind]


_FORMATS: dict[str, Check] = {
    "email": lambda v: None if is_valid_email(v) else "invalid email",
    "phone": lambda v: None if is_valid_phone(v) else "invalid phone",
    "date": lambda v: None if _is_date(v) else "not a date (YYYY-MM-DD)",
    "datetime": lambda v: None if _is_datetime(v) else "not an ISO 8601 date-time",
}


def _pattern_check(rules: FieldRules) -> Check:
    assert rules.pattern is not None
    try:
        pattern = re.compile(rules.pattern)
    except re.error as error:
        raise ContractInvalid(f"field {rules.name!r}: pattern does not compile: {error}") from error
    return lambda v: None if pattern.search(v if v.__class__ is str else str(v)) else "does not match the pattern"


def _typed(value: Any) -> tuple[str, Any]:
    """A value with its JSON type, so that `true` and `1`, or `1` and `"1"`, never compare equal."""
    if value is None or isinstance(value, bool | str):
        return type(value).__name__, value
    if isinstance(value, int | float):
        return "number", value
    return "json", json.dumps(value, sort_keys=True, default=str)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _enum_check(rules: FieldRules, text_values: bool) -> Check:
    assert rules.enum is not None
    message = f"not one of: {', '.join(map(_as_text, rules.enum[:10]))}"
    if text_values:
        # CSV cells are text: an enum member matches as it would be written (1 as "1", true as "true").
        texts = {_as_text(e) for e in rules.enum}
        return lambda v: None if v in texts else message
    members = {_typed(e) for e in rules.enum}
    return lambda v: None if _typed(v) in members else message


def _range_check(rules: FieldRules, text_values: bool) -> Check:
    low, high = rules.minimum, rules.maximum

    def in_range(value: Any) -> str | None:
        number = _number(value, text_values)
        if number is None:
            return "not a number"
        if low is not None and number < low:
            return f"below the minimum {low:g}"
        if high is not None and number > high:
            return f"above the maximum {high:g}"
        return None

    return in_range


def compile_field(rules: FieldRules, text_values: bool) -> list[tuple[str, Check]]:
    """The (rule name, check) pairs of one field, cheapest first."""
    checks: list[tuple[str, Check]] = []
    if rules.type is not None:
        checks.append(("type", _type_check(rules.type, text_values)))
    if rules.enum is not None:
        checks.append(("enum", _enum_check(rules, text_values)))
    if rules.minimum is not None or rules.maximum is not None:
        checks.append(("range", _range_check(rules, text_values)))
    if rules.format is not None:
        checks.append(("format", _FORMATS[rules.format]))
    if rules.pattern is not None:
        checks.append(("pattern", _pattern_check(rules)))
    return checks


class RecordJudge:
    """Applies a contract to the records of one file. Holds the per-file state of `unique` rules."""

    def __init__(self, contract: Contract, file_format: FileFormat) -> None:
        text_values = file_format is FileFormat.CSV
        self.required = [f.name for f in contract.fields if f.required]
        self.checks = [(f.name, rule, check) for f in contract.fields for rule, check in compile_field(f, text_values)]
        self.unique = {f.name: set() for f in contract.fields if f.unique}  # type: dict[str, set[int]]
        # JSON Schema describes JSON values; CSV cells are text, so CSV gets the field rules only.
        self.schema = compile_schema(contract.schema) if contract.schema and not text_values else None

    def _check_unique(self, fields: dict[str, Any], found: list[Violation]) -> None:
        for name, seen in self.unique.items():
            value = fields.get(name)
            if is_blank(value):
                continue
            key = hash(_typed(value))
            if key in seen:
                found.append(Violation("unique", name, "duplicate value within the file", value))
            else:
                seen.add(key)

    def judge(self, fields: dict[str, Any]) -> list[Violation]:
        """Every rule the record breaks; empty when it is valid."""
        found: list[Violation] = []
        for name in self.required:
            if is_blank(fields.get(name)):
                found.append(Violation("required", name, "missing required field"))
        for name, rule, check in self.checks:
            value = fields.get(name)
            if value is None or (value.__class__ is str and (not value or value.isspace())):
                continue
            message = check(value)
            if message is not None:
                found.append(Violation(rule, name, message, value))
        if self.unique:
            self._check_unique(fields, found)
        if self.schema is not None:
            found.extend(Violation(f"schema:{v.keyword}", v.path, v.message) for v in violations(self.schema, fields))
        return found
