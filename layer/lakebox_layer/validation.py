"""The recipe's rules, corrected: per-record checks, a completeness score and a file verdict.

A record is valid when it has every required field and each email or phone it carries is well formed. A file's
quality score is its mean record completeness (non-empty fields over all fields, the recipe's measure) scaled by the
share of valid records, so an invalid email or phone counts against the file instead of passing it silently.
A file passes when every record is valid and the score reaches the contract's threshold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lakebox_layer.contracts import Contract
from lakebox_layer.parsing import ParsedRecord
from lakebox_layer.records import MAX_ERRORS_KEPT, ValidationOutcome

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
# E.164-like after removing separators; the recipe's pattern rejected its own sample "+1-555-123-4567".
_PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")
_PHONE_SEPARATORS = str.maketrans("", "", " -.()")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_valid_email(value: Any) -> bool:
    return isinstance(value, str) and _EMAIL.match(value.strip()) is not None


def is_valid_phone(value: Any) -> bool:
    return isinstance(value, str) and _PHONE.match(value.strip().translate(_PHONE_SEPARATORS)) is not None


def completeness(fields: dict[str, Any]) -> float:
    """Percent of a record's fields that hold a value (the recipe's completeness measure)."""
    if not fields:
        return 0.0
    filled = sum(1 for value in fields.values() if not is_blank(value))
    return 100.0 * filled / len(fields)


def record_errors(fields: dict[str, Any], contract: Contract, *, check_required: bool) -> list[str]:
    """What is wrong with one record under a contract; empty when it is valid."""
    errors: list[str] = []
    if check_required:
        errors.extend(
            f"missing required field '{name}'"
            for name in contract.required_fields
            if name not in fields or is_blank(fields[name])
        )
    for name in contract.email_fields:
        if name in fields and not is_blank(fields[name]) and not is_valid_email(fields[name]):
            errors.append(f"invalid email in '{name}'")
    for name in contract.phone_fields:
        if name in fields and not is_blank(fields[name]) and not is_valid_phone(fields[name]):
            errors.append(f"invalid phone in '{name}'")
    return errors


class OutcomeBuilder:
    """Accumulates per-record results in O(1) memory (only the first errors are kept)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.records_total = 0
        self.records_valid = 0
        self.completeness_sum = 0.0
        self.errors: list[str] = []
        self.error_count = 0

    def _error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)

    def add(self, record: ParsedRecord, *, check_required: bool) -> None:
        self.records_total += 1
        if record.fields is None:
            self._error(record.error or f"record {record.number}: unreadable")
            return
        self.completeness_sum += completeness(record.fields)
        problems = record_errors(record.fields, self.contract, check_required=check_required)
        for problem in problems:
            self._error(f"record {record.number}: {problem}")
        if not problems:
            self.records_valid += 1

    def outcome(self) -> ValidationOutcome:
        total = self.records_total
        mean_completeness = self.completeness_sum / total if total else 0.0
        score = round(mean_completeness * (self.records_valid / total if total else 0.0), 2)
        passed = total > 0 and self.records_valid == total and score >= self.contract.quality_threshold
        errors, error_count = list(self.errors), self.error_count
        if total and not error_count and score < self.contract.quality_threshold:
            errors.append(f"quality score {score:.2f} is below the threshold {self.contract.quality_threshold:g}")
            error_count = 1
        if error_count > len(errors):
            errors.append(f"... and {error_count - len(errors)} more errors")
        return ValidationOutcome(
            passed=passed,
            quality_score=score,
            records_total=total,
            records_valid=self.records_valid,
            completeness=round(mean_completeness, 2),
            errors=errors,
            error_count=error_count,
        )


def validate_records(records: Iterable[ParsedRecord], contract: Contract, *, check_required: bool) -> ValidationOutcome:
    """Judge a file from its records; consumes the iterator once."""
    builder = OutcomeBuilder(contract)
    for record in records:
        builder.add(record, check_required=check_required)
    return builder.outcome()


def rejected(reason: str) -> ValidationOutcome:
    """The outcome of a file whose content could not be read at all."""
    return ValidationOutcome(
        passed=False, quality_score=0.0, records_total=0, records_valid=0, completeness=0.0,
        errors=[reason], error_count=1,
    )
