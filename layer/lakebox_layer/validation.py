"""Judging a file from its records: per-record verdicts, per-rule counts, the quality score and the decision.

Quality score = completeness x validity / 100, where
- completeness is the mean, over readable records, of the share of a record's fields that hold a value (the measure
  of the Serverless Data Lake Architecture recipe this project implements), in percent;
- validity is the share of records that break no rule, in percent.
In `file` mode a file passes when every record is valid and the score reaches the contract's threshold; in
`record` mode when at least one record is valid and the score reaches the threshold (the bad records go to
quarantine beside it). Below the threshold the whole file is quarantined in either mode.

The first records' top-level values are also classified (:mod:`lakebox_layer.classification`): a column of personal
data has its values masked in the report like a field the contract marks `pii`, and one the contract does not mark
follows the contract's `policy.undeclared_pii` (:func:`apply_undeclared_pii`). For a contract with
`policy.pii_free_text`, the free-text columns the patterns left unclassified are asked about too
(:mod:`lakebox_layer.free_text`), and what is found there is personal data like the rest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from lakebox_layer.classification import SAMPLE_RECORDS, ColumnSampler
from lakebox_layer.contracts import Contract, Mode, UndeclaredPii
from lakebox_layer.free_text import FreeTextSample, FreeTextSampler
from lakebox_layer.parsing import ParsedRecord
from lakebox_layer.records import MAX_ERRORS_KEPT, FileFormat, ValidationOutcome
from lakebox_layer.rules import RecordJudge, Violation

SAMPLES_PER_RULE = 10
# Values of one `unique` field remembered in memory; past them, in a temporary database on local disk.
UNIQUE_IN_MEMORY = 50_000
MASK = "***"
_SHOWN_VALUE_CHARS = 80

RecordRoute = Callable[[ParsedRecord, list[Violation]], None]
# Asks about a file's free-text sample: column -> class of the columns of personal data in it.
FreeTextAsk = Callable[[FreeTextSample], Mapping[str, str]]


def shown_value(value: Any, pii: bool) -> Any:
    """A value as a report may show it: masked for PII fields, shortened otherwise."""
    if value is None:
        return None
    if pii:
        return MASK
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[:_SHOWN_VALUE_CHARS] + "..."


class Tally:
    """Accumulates verdicts in memory that does not grow with the file (only the first errors are kept). Free text is
    sampled only for a contract that asks (`policy.pii_free_text`) and given `free_text` to ask with."""

    def __init__(self, contract: Contract, free_text: FreeTextAsk | None = None) -> None:
        self.contract = contract
        self.pii = contract.pii_fields
        self.records_total = 0
        self.records_valid = 0
        self.readable = 0
        self.completeness_sum = 0.0
        self.rule_counts: dict[str, int] = {}
        self.samples: dict[str, list[dict[str, Any]]] = {}
        self.errors: list[str] = []
        self.error_count = 0
        self.sampler = ColumnSampler()
        self.free_text = free_text if contract.pii_free_text else None
        self.free_text_sampler = FreeTextSampler(self.pii, SAMPLE_RECORDS) if self.free_text is not None else None

    def add(self, record: ParsedRecord, found: list[Violation]) -> None:
        self.records_total += 1
        fields = record.fields
        if fields is not None:
            if not self.sampler.full:
                self.sampler.add(fields)
                if self.free_text_sampler is not None:
                    self.free_text_sampler.add(fields)
            self.readable += 1
            if fields:
                blank = sum(1 for v in fields.values() if v is None or (v.__class__ is str and (not v or v.isspace())))
                self.completeness_sum += 100.0 * (len(fields) - blank) / len(fields)
        if not found:
            self.records_valid += 1
            return
        for violation in found:
            self._count(record.number, violation)

    def _count(self, number: int, violation: Violation) -> None:
        rule = violation.rule
        self.rule_counts[rule] = self.rule_counts.get(rule, 0) + 1
        self.error_count += 1
        samples = self.samples.setdefault(rule, [])
        if len(samples) < SAMPLES_PER_RULE:
            samples.append({
                "record": number,
                "field": violation.field,
                "message": violation.message,
                "value": shown_value(violation.value, violation.field in self.pii),
            })
        if len(self.errors) < MAX_ERRORS_KEPT:
            where = "" if violation.field in ("", "$") else f"{violation.field}: "
            self.errors.append(f"record {number}: {where}{violation.message}")

    def outcome(self) -> ValidationOutcome:
        total = self.records_total
        completeness = self.completeness_sum / self.readable if self.readable else 0.0
        validity = 100.0 * self.records_valid / total if total else 0.0
        score = round(completeness * validity / 100.0, 2)
        threshold = self.contract.threshold
        if self.contract.mode is Mode.RECORD:
            passed = self.records_valid > 0 and score >= threshold
        else:
            passed = total > 0 and self.records_valid == total and score >= threshold
        pii = self._personal_data()
        errors, error_count = list(self.errors), self.error_count
        if total and score < threshold:
            errors.append(f"quality score {score:.2f} is below the threshold {threshold:g}")
            error_count += 1
        if error_count > len(errors):
            errors.append(f"... and {error_count - len(errors)} more errors")
        return ValidationOutcome(
            passed=passed,
            quality_score=score,
            records_total=total,
            records_valid=self.records_valid,
            completeness=round(completeness, 2),
            validity=round(validity, 2),
            errors=errors,
            error_count=error_count,
            rule_counts=dict(self.rule_counts),
            # A value kept before its column was found to be personal data is masked now, as a marked field's is.
            samples={rule: [{**sample, "value": MASK if sample["field"] in pii and sample["value"] is not None
                             else sample["value"]} for sample in samples] for rule, samples in self.samples.items()},
            contract_version=self.contract.version,
            mode=self.contract.mode.value,
            pii_columns=pii,
            undeclared_pii=[column for column in pii if column not in self.pii],
        )

    def _personal_data(self) -> dict[str, str]:
        """Column -> class: what the patterns found, then what free text holds in the columns they left."""
        pii = {column: found.value for column, found in self.sampler.classify(self.contract.pii_threshold).items()}
        if self.free_text is not None and self.free_text_sampler is not None:
            found = self.free_text(self.free_text_sampler.sample(exclude=pii))
            pii.update((column, kind) for column, kind in found.items() if column not in pii)
        return pii


class SeenValues(set[int]):
    """The hashed values of one `unique` field seen so far in a file, in memory that does not grow with the file: the
    first `limit` in this set, the rest in a private temporary SQLite database on local disk (deleted on close).

    Only membership (`in`) and `add` span both, which is what the rules use: they ask `in`, then `add` a value that
    was not there. Past the limit, a test inserts the value at once (one statement, not a look-up and an insert)
    and `add` of that value confirms it; any other call first takes the tentative insert back.
    """

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self._limit = UNIQUE_IN_MEMORY if limit is None else limit
        self._db: sqlite3.Connection | None = None
        self._tentative: int | None = None

    def _database(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect("", isolation_level=None)  # "": a private temporary database on disk
            for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -2048"):
                self._db.execute(f"PRAGMA {pragma}")
            self._db.execute("CREATE TABLE seen (value INTEGER PRIMARY KEY)")
            self._db.execute("BEGIN")  # never committed: the database goes with the connection
        return self._db

    def _settle(self) -> None:
        if self._tentative is not None and self._db is not None:
            self._db.execute("DELETE FROM seen WHERE value = ?", (self._tentative,))
        self._tentative = None

    def __contains__(self, value: object) -> bool:
        self._settle()
        if super().__contains__(value):
            return True
        if self._db is None or not isinstance(value, int):
            return False
        inserted = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (value,)).rowcount == 1
        if inserted:
            self._tentative = value
        return not inserted

    def add(self, value: int) -> None:
        if self._tentative is not None and value == self._tentative:
            self._tentative = None
            return
        self._settle()
        if len(self) < self._limit:
            super().add(value)
        elif not super().__contains__(value):
            self._database().execute("INSERT OR IGNORE INTO seen VALUES (?)", (value,))

    def close(self) -> None:
        self._tentative = None
        if self._db is not None:
            self._db.close()
            self._db = None


def parse_violation(record: ParsedRecord) -> Violation:
    return Violation("parse", "$", record.error or "unreadable record")


def validate_records(records: Iterable[ParsedRecord], contract: Contract, file_format: FileFormat,
                     route: RecordRoute | None = None, free_text: FreeTextAsk | None = None) -> ValidationOutcome:
    """Judge a file from its records, consuming them once; `route` sees each record with its violations, and
    `free_text` is asked about the free-text columns when the contract wants it (`policy.pii_free_text`)."""
    judge = RecordJudge(contract, file_format)
    seen = {name: SeenValues() for name in judge.unique}
    judge.unique = dict[str, set[int]](seen)  # `unique` rules remember values in bounded memory
    tally = Tally(contract, free_text)
    try:
        for record in records:
            found = judge.judge(record.fields) if record.fields is not None else [parse_violation(record)]
            tally.add(record, found)
            if route is not None:
                route(record, found)
    finally:
        for values in seen.values():
            values.close()
    return tally.outcome()


def apply_undeclared_pii(outcome: ValidationOutcome, contract: Contract) -> ValidationOutcome:
    """The outcome once the contract's `policy.undeclared_pii` has judged the personal data it does not mark: with
    `quarantine`, a file that holds some fails with each such column and its class as the reason; `protect` and
    `allow` change nothing here (curation protects what `protect` asks for)."""
    if not outcome.undeclared_pii or contract.undeclared_pii is not UndeclaredPii.QUARANTINE:
        return outcome
    reasons = [f"column {column!r} holds personal data ({outcome.pii_columns[column]}) the contract does not "
               "declare: quarantined by policy.undeclared_pii" for column in outcome.undeclared_pii]
    return replace(outcome, passed=False, errors=[*reasons, *outcome.errors],
                   error_count=outcome.error_count + len(reasons),
                   rule_counts={**outcome.rule_counts, "undeclared_pii": len(reasons)},
                   samples={**outcome.samples, "undeclared_pii": [
                       {"record": None, "field": column, "message": reason, "value": None}
                       for column, reason in zip(outcome.undeclared_pii, reasons, strict=True)]})


def rejected(reason: str, contract: Contract | None = None) -> ValidationOutcome:
    """The outcome of a file whose content could not be read at all."""
    return ValidationOutcome(
        passed=False, quality_score=0.0, records_total=0, records_valid=0, completeness=0.0, validity=0.0,
        errors=[reason], error_count=1, rule_counts={"content": 1},
        samples={"content": [{"record": None, "field": "$", "message": reason, "value": None}]},
        contract_version=contract.version if contract else None,
        mode=contract.mode.value if contract else None,
    )
