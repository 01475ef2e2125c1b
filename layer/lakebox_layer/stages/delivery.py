"""Where validation puts a judged file: its records split between processed and quarantine as they are read, the
whole file copied to processed or to quarantine, and the error report beside whatever was quarantined."""

from __future__ import annotations

import re
from typing import Any

from lakebox_layer import ports
from lakebox_layer.contracts import Contract
from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.outputs import ReasonOutput, RecordOutput, RecordSplit
from lakebox_layer.parsing import RecordReader
from lakebox_layer.records import DataReceived, FileFormat, FileStatus, ValidationOutcome
from lakebox_layer.routing import (
    Destination,
    error_report_destination,
    processed_destination,
    quarantine_destination,
    record_errors_destination,
)
from lakebox_layer.settings import Settings
from lakebox_layer.stages.recorder import now

_CONTENT_TYPES = {FileFormat.CSV: "text/csv", FileFormat.JSON: "application/x-ndjson",
                  FileFormat.JSON_LINES: "application/x-ndjson"}
# The validated copy's tag that names its personal data; S3 takes 256 characters of a value, of these.
PII_TAG = "lakebox-pii"
_TAG_VALUE_CHARS = 256
_NOT_IN_A_TAG = re.compile(r"[^A-Za-z0-9 +\-=._:/@]")


def pii_tags(pii_columns: dict[str, str]) -> dict[str, str]:
    """The validated copy's tags: its columns of personal data as `column:class`, space-separated (characters S3
    does not take in a tag become `_`, and a long list is cut), or `none`."""
    found = " ".join(f"{_NOT_IN_A_TAG.sub('_', column)}:{kind}" for column, kind in pii_columns.items())
    return {PII_TAG: found[:_TAG_VALUE_CHARS] or "none"}


def error_report(received: DataReceived, contract: Contract, outcome: ValidationOutcome,
                 record_errors: str | None = None) -> dict[str, Any]:
    """The JSON report beside every quarantined file or set of records. PII values are already masked. In record
    mode `record_errors` names the object that says why each quarantined record was set aside."""
    report = {
        "process_id": received.process_id,
        "raw": f"s3://{received.bucket}/{received.key}",
        "version_id": received.version_id,
        "dataset": received.dataset,
        "format": received.format.value,
        "compression": received.compression,
        "contract": {"dataset": contract.dataset, "version": contract.version, "mode": contract.mode.value,
                     "threshold": contract.threshold},
        "quality": {"score": outcome.quality_score, "completeness": outcome.completeness,
                    "validity": outcome.validity, "passed": outcome.passed},
        "records": {"total": outcome.records_total, "valid": outcome.records_valid,
                    "invalid": outcome.records_invalid},
        "rules": {rule: {"count": count, "first": outcome.samples.get(rule, [])}
                  for rule, count in sorted(outcome.rule_counts.items())},
        "errors": outcome.errors,
        "reported_at": now(),
    }
    if record_errors is not None:
        report["record_errors"] = record_errors
    return report


class Delivery:
    """The copies and writes of the validation stage, each to the bucket the settings name."""

    def __init__(self, settings: Settings, objects: ports.ObjectStore) -> None:
        self.settings = settings
        self.objects = objects

    def record_split(self, received: DataReceived, reader: RecordReader) -> RecordSplit:
        """Record mode's outputs, written as the reader goes: good records to processed, bad ones (formula-like
        cells defused) to quarantine, and beside them why each was set aside. Nothing is visible until the outcome
        commits them."""
        raw = received.raw_object
        quarantined = quarantine_destination(raw, self.settings, received.format)
        good, bad = (
            RecordOutput(self.objects.writer(d.bucket, d.key, _CONTENT_TYPES[received.format]),
                         received.format, lambda: reader.header, lambda: reader.delimiter,
                         defuse_formulas=quarantine)
            for d, quarantine in ((processed_destination(raw, self.settings, received.format), False),
                                  (quarantined, True))
        )
        reasons = record_errors_destination(quarantined)
        return RecordSplit(good, bad, ReasonOutput(self.objects.writer(reasons.bucket, reasons.key,
                                                                       _CONTENT_TYPES[FileFormat.JSON_LINES])))

    def deliver(self, received: DataReceived, contract: Contract, outcome: ValidationOutcome,
                split: RecordSplit | None) -> tuple[FileStatus, str, str | None]:
        """Put the file (or its records) where the outcome says: status, destination, quarantined records."""
        raw = received.raw_object
        if outcome.passed and split is not None:
            split.good.commit()
            if not split.bad.count:
                split.bad.abort()
                split.reasons.abort()
                return FileStatus.PROCESSED, split.good.uri, None
            split.bad.commit()
            split.reasons.commit()
            report = error_report_destination(Destination.of(split.bad.uri))
            self.objects.put_json(report.bucket, report.key,
                                  error_report(received, contract, outcome, split.reasons.uri))
            return FileStatus.PROCESSED, split.good.uri, split.bad.uri
        if split is not None:
            split.abort()
        if outcome.passed:
            destination = processed_destination(raw, self.settings)
            self.objects.copy(raw, destination.bucket, destination.key)
            return FileStatus.PROCESSED, destination.uri, None
        destination = quarantine_destination(raw, self.settings)
        self._quarantine_copy(received, destination)
        report = error_report_destination(destination)
        self.objects.put_json(report.bucket, report.key, error_report(received, contract, outcome))
        return FileStatus.QUARANTINED, destination.uri, destination.uri

    def _quarantine_copy(self, received: DataReceived, destination: Destination) -> None:
        """Copy a quarantined file for people to inspect. A CSV is rewritten with formula-like cells defused, so
        opening it in a spreadsheet runs nothing (the raw file stays as it came); CSV that cannot be read as CSV is
        copied as plain text."""
        raw = received.raw_object
        if received.format is not FileFormat.CSV:
            self.objects.copy(raw, destination.bucket, destination.key)
            return
        body = self.objects.open(raw)
        reader = RecordReader(body, received.format, received.compression)
        output = RecordOutput(self.objects.writer(destination.bucket, destination.key, "text/csv"), FileFormat.CSV,
                              lambda: reader.header, lambda: reader.delimiter, defuse_formulas=True)
        try:
            for record in reader:
                output.add(record)
        except ContentRejected:
            if reader.header is not None and output.count == 0:
                output.write_header()  # a header-only file: still defused
            else:
                output.abort()
                self.objects.copy(raw, destination.bucket, destination.key, content_type="text/plain")
                return
        except Exception:
            output.abort()
            raise
        finally:
            body.close()
        output.commit()
