"""Seeded order data for the benchmarks: a 10-column CSV or JSON Lines file of a given size, about 2% of the
records invalid in one of four ways (bad email, amount out of range, missing required id, bad currency), written as
a stream, and the 5-rule contract that judges it."""

from __future__ import annotations

import csv
import io
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SEED = 20240917
MIB = 1024 * 1024
INVALID_SHARE = 0.02
BATCH_ROWS = 256

COLUMNS = ("id", "email", "amount", "currency", "order_date", "customer", "country", "quantity", "channel", "note")
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF")
AMOUNT_MIN, AMOUNT_MAX = 0, 10_000

# Exactly five rules on the ten columns: required, format, range, enum, type.
CONTRACT_DOCUMENT: dict[str, Any] = {
    "dataset": "benchmark",
    "version": "1.0.0",
    "description": "Benchmark orders: five rules on ten columns.",
    "fields": {
        "id": {"required": True},
        "email": {"format": "email"},
        "amount": {"minimum": AMOUNT_MIN, "maximum": AMOUNT_MAX},
        "currency": {"enum": list(CURRENCIES)},
        "order_date": {"type": "date"},
    },
    "policy": {"threshold": 0, "mode": "file"},
}
# The rule each kind of invalid record breaks (the name validate_records counts it under).
INVALID_KINDS = {"bad_email": "format", "out_of_range": "range", "missing_required": "required", "bad_enum": "enum"}

FIRST_NAMES = ("Anna", "Ben", "Chloé", "David", "Elif", "François", "Grace", "Hiro", "Ines", "José", "Kai", "Lena",
               "Mateo", "Noor", "Olga", "Priya", "Quentin", "Rosa", "Søren", "Tomás", "Uma", "Victor", "Wei", "Zoë")
LAST_NAMES = ("Smith", "Müller", "Garcia", "Rossi", "Nguyen", "Kowalski", "O'Brien", "Dubois", "Tanaka", "Silva",
              "Jensen", "Novak", "Haddad", "Kim", "Fischer", "Moreau", "Patel", "Larsen", "Ivanova", "Brown")
DOMAINS = ("example.com", "mail.example.org", "shop.example.net", "corp.example.co.uk", "example.de")
COUNTRIES = ("DE", "FR", "GB", "US", "ES", "IT", "NL", "SE", "PL", "JP")
CHANNELS = ("web", "store", "phone", "partner")
NOTES = ("", "", "", "", "gift wrap", "deliver after 5pm, ring twice", 'customer said "urgent"', "fragile",
         "leave with neighbour", "call before delivery; no weekends")
START_DATE = date(2023, 1, 1)
ASCII = str.maketrans("çéèëíóöøüáñ", "ceeeiooouan")


def log(message: str) -> None:
    print(f"[validation-bench] {message}", file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------------------------


def make_record(rng: random.Random, number: int) -> tuple[dict[str, Any], str | None]:
    """One order as JSON values (CSV writes them as text), and the kind of error it carries, if any."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().translate(ASCII).replace("'", "")
    domain = rng.choice(DOMAINS)
    record: dict[str, Any] = {
        "id": number,
        "email": f"{local}{rng.randrange(100)}@{domain}",
        "amount": round(rng.uniform(1, 5_000), 2),
        "currency": rng.choice(CURRENCIES),
        "order_date": (START_DATE + timedelta(days=rng.randrange(730))).isoformat(),
        "customer": f"{first} {last}",
        "country": rng.choice(COUNTRIES),
        "quantity": rng.randint(1, 20),
        "channel": rng.choice(CHANNELS),
        "note": rng.choice(NOTES),
    }
    kind = None
    if rng.random() < INVALID_SHARE:
        kind = rng.choice(tuple(INVALID_KINDS))
        if kind == "bad_email":
            record["email"] = rng.choice((f"{local}.{domain}", f"{local}@{domain.split('.')[0]}",
                                          f"{local}@@{domain}", f"{local} @{domain}", f"{local}@"))
        elif kind == "out_of_range":
            record["amount"] = rng.choice((-round(rng.uniform(0.01, 500), 2), round(rng.uniform(10_001, 99_999), 2)))
        elif kind == "missing_required":
            record["id"] = None
        else:
            record["currency"] = rng.choice(("usd", "EURO", "US$", "BTC", "eur"))
    return record, kind


def csv_row(record: dict[str, Any]) -> list[str]:
    return ["" if record[c] is None else (f"{record[c]:.2f}" if c == "amount" else str(record[c])) for c in COLUMNS]


def json_line(record: dict[str, Any]) -> str:
    if record["id"] is None:  # a missing field in JSON is absent
        record = {k: v for k, v in record.items() if k != "id"}
    return json.dumps(record, ensure_ascii=False)


def generate(path: Path, file_format: str, target_bytes: int, seed: int) -> dict[str, Any]:
    """Write records until the file reaches `target_bytes`, a batch at a time (never the whole file in memory)."""
    rng = random.Random(seed)  # noqa: S311 - test data, seeded on purpose
    counts = dict.fromkeys(INVALID_KINDS, 0)
    written = records = 0
    buffer = io.StringIO()
    rows = csv.writer(buffer, lineterminator="\n")
    with path.open("w", encoding="utf-8", newline="") as out:
        if file_format == "csv":
            rows.writerow(COLUMNS)
        while written < target_bytes:
            for _ in range(BATCH_ROWS):
                records += 1
                record, kind = make_record(rng, records)
                if kind is not None:
                    counts[kind] += 1
                if file_format == "csv":
                    rows.writerow(csv_row(record))
                else:
                    buffer.write(json_line(record))
                    buffer.write("\n")
            text = buffer.getvalue()
            out.write(text)
            written += len(text.encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    return {"records": records, "invalid_expected": sum(counts.values()),
            "invalid_by_rule_expected": {INVALID_KINDS[k]: n for k, n in counts.items()}}


def generate_all(out_dir: Path, sizes: list[int]) -> list[dict[str, Any]]:
    files = []
    for size in sizes:
        for file_format, suffix in (("csv", "csv"), ("jsonl", "jsonl")):
            path = out_dir / f"orders-{size}mb.{suffix}"
            started = time.perf_counter()
            facts = generate(path, file_format, size * MIB, SEED + size)
            files.append({"format": file_format, "size_mib": size, "path": str(path),
                          "bytes": path.stat().st_size, **facts})
            log(f"generated {path.name}: {facts['records']} records, {facts['invalid_expected']} invalid "
                f"({time.perf_counter() - started:.1f} s)")
    return files


# -- the `orders` contract's shape (contracts/orders.json), for curation -------------------------------------------

ORDERS_COLUMNS = ("order_id", "customer_email", "phone", "amount", "currency", "ordered_at", "sku", "channel",
                  "region", "note")
ORDERS_CURRENCIES = ("EUR", "USD", "GBP")  # the contract's enum
ORDERS_CHANNELS = ("web", "app", "store", "phone")
REGIONS = ("eu", "us", "uk", "apac")
PHONES = ("+44 20 7946 0958", "+1 555 010 2000", "+1-555-010-3000", "+49 30 901820", "+33 1 70 36 39 50")
ORDERS_START = date(2026, 11, 1)


def generate_orders(path: Path, seed: int, *, target_bytes: int | None = None, rows: int | None = None,
                    days: int = 28) -> dict[str, Any]:
    """A processed `orders` CSV (the contract's ten columns, every record valid, as validation leaves it), ordered
    over `days` days from ORDERS_START: written until it reaches `target_bytes`, or exactly `rows` records."""
    if (target_bytes is None) == (rows is None):
        raise ValueError("give target_bytes or rows")
    rng = random.Random(seed)  # noqa: S311 - test data, seeded on purpose
    written = records = 0
    buffer = io.StringIO()
    out_rows = csv.writer(buffer, lineterminator="\n")
    with path.open("w", encoding="utf-8", newline="") as out:
        out_rows.writerow(ORDERS_COLUMNS)
        while (written < target_bytes) if target_bytes is not None else (records < (rows or 0)):
            for _ in range(BATCH_ROWS if rows is None else min(BATCH_ROWS, rows - records)):
                records += 1
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                local = f"{first}.{last}".lower().translate(ASCII).replace("'", "")
                day = ORDERS_START + timedelta(days=rng.randrange(days))
                second = rng.randrange(86_400)
                out_rows.writerow((
                    records, f"{local}{rng.randrange(100)}@{rng.choice(DOMAINS)}",
                    rng.choice(PHONES) if rng.random() < 0.3 else "", f"{rng.uniform(1, 5_000):.2f}",
                    rng.choice(ORDERS_CURRENCIES),
                    f"{day.isoformat()}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z",
                    f"{rng.choice(('AB', 'CD', 'EF', 'GHK'))}-{rng.randrange(1000, 99999)}",
                    rng.choice(ORDERS_CHANNELS), rng.choice(REGIONS), rng.choice(NOTES),
                ))
            text = buffer.getvalue()
            out.write(text)
            written += len(text.encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    return {"records": records, "bytes": path.stat().st_size, "days": days}
