"""Contracts and records the validation tests share."""

from __future__ import annotations

import json
from typing import Any

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.contracts import Contract, parse_contract
from lakebox_layer.parsing import ParsedRecord
from lakebox_layer.records import FileFormat

CSV = FileFormat.CSV
JSON = FileFormat.JSON
JSONL = FileFormat.JSON_LINES

# The recipe's rules, as the shipped contract of the `default` dataset: JSON records need id, timestamp and data;
# email and phone, where present, must be well formed; threshold 70, file mode.
DEFAULT = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "default.json").read_text()))
ORDERS = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "orders.json").read_text()))


def contract(threshold: float = 0, mode: str = "file", **fields: dict[str, Any]) -> Contract:
    return parse_contract({"dataset": "t", "version": "1", "fields": fields,
                           "policy": {"threshold": threshold, "mode": mode}})


def full_record(n: int, **changes: Any) -> dict[str, Any]:
    record = {
        "id": n,
        "timestamp": "2026-01-15T10:30:00Z",
        "data": {"amount": n},
        "email": f"user{n}@example.com",
        "phone": "+1-555-123-4567",
    }
    record.update(changes)
    return record


def numbered(*records: dict[str, Any] | None) -> list[ParsedRecord]:
    return [
        ParsedRecord(n, fields, None if fields is not None else "unreadable line")
        for n, fields in enumerate(records, start=1)
    ]


def order(n: float, **changes: Any) -> dict[str, Any]:
    record = {"order_id": n, "customer_email": f"c{n}@example.com", "phone": "+1-555-123-4567", "amount": 10.5,
              "currency": "EUR", "ordered_at": "2026-01-15T10:30:00", "sku": "AB-123"}
    record.update(changes)
    return record
