"""What the data docs are built from, in memory: the stage records of a lake's files, their error reports, the
published contracts, and the trace sources of its file pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lakebox.trace.logs import LogLine, LogsUnavailable
from lakebox.trace.story import TraceSources
from lakebox_layer.contracts import Contract, parse_contract

QUARANTINE = "s3://quarantine-bucket/quarantine"


def pid(n: int) -> str:
    return f"{n:032x}"


def file_records(n: int, key: str, *, dataset: str = "orders", status: str = "processed", score: float = 100.0,
                 total: int = 10, valid: int = 10, rules: dict[str, int] | None = None,
                 quarantined: bool = False, arrived: str | None = None, pii: dict[str, str] | None = None,
                 undeclared: list[str] | None = None,
                 protected: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The ingestion, validation and quality records of one raw file version, as the stages write them; with the
    personal data validation found (`pii`, `undeclared`), and a curation record when curation `protected` some."""
    process_id, arrived = pid(n), arrived or f"2026-01-01T00:00:{n:02d}+00:00"
    common = {"ProcessId": process_id, "RawKey": key, "Dataset": dataset, "Pipeline": "lakebox"}
    quarantine = f"{QUARANTINE}/{dataset}/{n}.csv" if quarantined or status == "quarantined" else None
    return [
        {**common, "Timestamp": f"{arrived}#1-ingestion", "Stage": "ingestion", "Status": "in_progress",
         "RecordedAt": arrived, "Format": "csv"},
        {**common, "Timestamp": f"{arrived}#2-validation", "Stage": "validation", "Status": status,
         "RecordedAt": arrived, "QualityScore": score, "RecordsTotal": total, "RecordsValid": valid,
         "Errors": [f"record 1: email: invalid email ({n})"] if rules else [], "RuleCounts": rules or {},
         "Destination": quarantine if status == "quarantined" else f"s3://processed/{dataset}/{n}.csv",
         "QuarantineDestination": quarantine, "ContractVersion": "1.1.0", "Mode": "record",
         **({"PiiColumns": pii} if pii else {}), **({"UndeclaredPii": undeclared} if undeclared else {})},
        {**common, "Timestamp": f"{arrived}#3-quality", "Stage": "quality", "RecordedAt": arrived,
         "QualityScore": score, "ValidationPassed": status == "processed"},
        *([{**common, "Timestamp": f"{arrived}#4-curation", "Stage": "curation", "RecordedAt": arrived,
            "CurationStatus": "curated", "Table": dataset, "Protected": protected}] if protected else []),
    ]


ORDERS = parse_contract({
    "dataset": "orders", "version": "1.1.0", "description": "Customer orders.",
    "fields": {"customer_email": {"required": True, "format": "email", "pii": True}, "amount": {"type": "number"}},
    "policy": {"threshold": 50, "mode": "record"},
})


def report(n: int, dataset: str = "orders") -> tuple[str, dict[str, Any]]:
    """An error report as validation writes it: PII values already masked."""
    return f"{QUARANTINE}/{dataset}/{n}.csv.error.json", {
        "rules": {"format": {"count": 1, "first": [
            {"record": 1, "field": "customer_email", "message": "invalid email", "value": "***"}]}},
        "errors": ["record 1: customer_email: invalid email"],
    }


class FakeTraceSources:
    """A trace's reads over records in hand: no S3 versions (the records remember them), every output present."""

    raw_bucket = "raw-bucket"
    database = "lakebox_db"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def versions(self, key: str) -> list[dict[str, Any]]:
        return []

    def key_records(self, key: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["RawKey"] == key]

    def process_records(self, process_id: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["ProcessId"] == process_id]

    def head(self, uri: str) -> tuple[bool | None, int | None]:
        return True, 42

    def log_lines(self, process_id: str, start: datetime) -> list[LogLine]:
        raise LogsUnavailable("not read")


class FakeReads:
    def __init__(self, records: list[dict[str, Any]], contracts: dict[str, Contract] | None = None,
                 reports: dict[str, dict[str, Any]] | None = None) -> None:
        self._records, self.contracts, self.reports = records, contracts or {}, reports or {}

    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def contract(self, dataset: str) -> Contract | None:
        return self.contracts.get(dataset)

    def error_report(self, uri: str) -> dict[str, Any] | None:
        return self.reports.get(uri)

    def trace_sources(self, records: list[dict[str, Any]]) -> TraceSources:
        return FakeTraceSources(records)


def lake() -> FakeReads:
    """Two datasets: orders (three files, one quarantined, one key overwritten, the latest with personal data found
    and protected) and default (one file)."""
    records = (file_records(1, "input/orders/a.csv", score=40, total=10, valid=4, rules={"format": 6})
               + file_records(2, "input/orders/b.csv", status="quarantined", score=20, total=5, valid=1,
                              rules={"format": 3, "required": 1})
               + file_records(3, "input/orders/a.csv", score=90, total=10, valid=9, rules={"format": 1},
                              quarantined=True, pii={"customer_email": "email", "phone": "phone"},
                              undeclared=["phone"], protected={"customer_email": "lakebox:pii=encrypt;class=email",
                                                               "phone": "lakebox:pii=encrypt;class=phone"})
               + file_records(4, "input/c.json", dataset="default", score=100, total=1, valid=1))
    return FakeReads(records, {"orders": ORDERS}, dict([report(2), report(3)]))
