"""Column classification (personal data detection) cost: per value, per column kind, per file, and against
validation's time on a large CSV.

1. Generates seeded files of 1,000 records x 10 columns as CSV text values: "typical" (order id, email, phone in
   70 % of records, amount, currency, timestamp, SKU, IP address, channel, free-text note: three PII columns of ten)
   and "pii-heavy" (email, phone, card number, IBAN, national id, IP address, and four non-PII columns).
2. Times `classify_value` over each column (microseconds per value) and over all of the typical file's values
   (values/s), then `ColumnSampler` (1,000 `add` calls and `classify`) per file: the time classification adds to
   a file, whatever its size, since only the first 1,000 records are sampled. Best and median of --repeat runs.
3. Times the import of the module and its libraries in fresh interpreters (what a cold start pays).
4. Unless --validation-mib 0: generates the validation benchmark's orders CSV of that size and times
   `validate_records` on it once (with the classification of its first records, where validation does it), then
   reports the per-file classification time as a share of it (the target: at most 5 % at 100 MiB).

Prints one JSON object; progress goes to stderr.

    python benchmarks/classification.py [--repeat 5] [--validation-mib 100]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from orders_data import CONTRACT_DOCUMENT, MIB, NOTES, SEED, generate
from stdnum import luhn

from lakebox_layer.classification import SAMPLE_RECORDS, ColumnSampler, PiiClass, classify_value

RECORDS = SAMPLE_RECORDS
TARGET_SHARE_OF_VALIDATION = 0.05
FIRST = ("anna", "ben", "chloe", "david", "elif", "grace", "hiro", "ines", "jose", "lena", "mateo", "priya")
LAST = ("smith", "mueller", "garcia", "rossi", "nguyen", "dubois", "tanaka", "silva", "kim", "patel")
DOMAINS = ("example.com", "mail.example.org", "shop.example.net", "corp.example.co.uk", "example.de")
PHONES = ("+44 20 7946 0958", "+1 415-555-2671", "+49 30 901820", "+33 1 70 36 39 50", "(415) 555-2671",
          "020 7946 0958", "030 12345678", "01 23 45 67 89", "+14155552671", "+1 555 010 2000")
IBANS = ("GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606",
         "NL91ABNA0417164300", "ES9121000418450200051332", "IT60X0542811101000000123456")
NATIONAL_IDS = ("536-90-4399", "AB 12 34 56 C", "54362315K", "X2482300W", "RCCMNL83S18D969H",
                "2 95 10 99 126 111 93", "880320-0016", "131052-308T", "390.533.447-05", "756.9217.0769.85")
CARD_PREFIXES = ("4", "51", "55", "2221", "34", "37", "6011")


def log(message: str) -> None:
    print(f"[classification-bench] {message}", file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------------------------------


def card(rng: random.Random) -> str:
    prefix = rng.choice(CARD_PREFIXES)
    length = 15 if prefix in ("34", "37") else 16
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def ip_address(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(65536):x}"
    return f"{rng.randint(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"


def email(rng: random.Random) -> str:
    tag = f"+{rng.choice(('news', 'shop'))}" if rng.random() < 0.1 else ""
    return f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.randrange(100)}{tag}@{rng.choice(DOMAINS)}"


def non_pii(rng: random.Random) -> dict[str, Callable[[], str]]:
    start = datetime(2026, 1, 1)
    return {
        "order_id": lambda: str(rng.randrange(10**7, 10**10)),
        "amount": lambda: f"{rng.uniform(1, 5000):.2f}",
        "ordered_at": lambda: (start + timedelta(seconds=rng.randrange(10**7))).isoformat() + "Z",
        "note": lambda: rng.choice(NOTES),
    }


def typical_columns(rng: random.Random) -> dict[str, Callable[[], str]]:
    plain = non_pii(rng)
    return {
        "order_id": plain["order_id"],
        "customer_email": lambda: email(rng),
        "phone": lambda: rng.choice(PHONES) if rng.random() < 0.7 else "",
        "amount": plain["amount"],
        "currency": lambda: rng.choice(("EUR", "USD", "GBP")),
        "ordered_at": plain["ordered_at"],
        "sku": lambda: f"{rng.choice(('AB', 'CD', 'GHK'))}-{rng.randrange(1000, 99999)}",
        "client_ip": lambda: ip_address(rng),
        "channel": lambda: rng.choice(("web", "app", "store", "phone")),
        "note": plain["note"],
    }


def pii_heavy_columns(rng: random.Random) -> dict[str, Callable[[], str]]:
    plain = non_pii(rng)
    return {
        "order_id": plain["order_id"],
        "email": lambda: email(rng),
        "phone": lambda: rng.choice(PHONES),
        "card": lambda: card(rng),
        "iban": lambda: rng.choice(IBANS),
        "national_id": lambda: rng.choice(NATIONAL_IDS),
        "client_ip": lambda: ip_address(rng),
        "amount": plain["amount"],
        "ordered_at": plain["ordered_at"],
        "note": plain["note"],
    }


def records_of(columns: dict[str, Callable[[], str]]) -> list[dict[str, str]]:
    return [{name: make() for name, make in columns.items()} for _ in range(RECORDS)]


# -- measurements -----------------------------------------------------------------------------------------------


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def classify_all(values: list[object]) -> None:
    for value in values:
        classify_value(value)


def per_column(records: list[dict[str, str]], repeat: int) -> dict[str, Any]:
    result = {}
    for name in records[0]:
        values: list[object] = [record[name] for record in records]
        best = min(timed(lambda values=values: classify_all(values), repeat))  # type: ignore[misc]
        found = [classify_value(v) for v in values]
        result[name] = {"us_per_value": round(best / len(values) * 1e6, 2),
                        "classified_share": round(sum(f is not None for f in found) / len(values), 3)}
    return result


def sample_file(records: list[dict[str, str]]) -> dict[str, PiiClass]:
    sampler = ColumnSampler()
    for record in records:
        sampler.add(record)
    return sampler.classify()


def per_file(records: list[dict[str, str]], repeat: int) -> dict[str, Any]:
    times = timed(lambda: sample_file(records), repeat)
    return {"records": len(records), "columns": len(records[0]),
            "ms_best": round(min(times) * 1e3, 2), "ms_median": round(statistics.median(times) * 1e3, 2),
            "classified": {name: cls.value for name, cls in sample_file(records).items()}}


def import_seconds(repeat: int) -> dict[str, float]:
    probe = ("import time; started = time.perf_counter(); import lakebox_layer.classification; "
             "print(time.perf_counter() - started)")
    runs = [float(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
                  .stdout.strip()) for _ in range(repeat)]
    return {"ms_best": round(min(runs) * 1e3, 1), "ms_median": round(statistics.median(runs) * 1e3, 1)}


def validation_seconds(size_mib: int) -> dict[str, Any]:
    from lakebox_layer.contracts import parse_contract
    from lakebox_layer.parsing import RecordReader
    from lakebox_layer.records import FileFormat
    from lakebox_layer.validation import validate_records

    with tempfile.TemporaryDirectory(prefix="lakebox-bench-classification-") as scratch:
        path = Path(scratch) / f"orders-{size_mib}mb.csv"
        log(f"generating {path.name}")
        facts = generate(path, "csv", size_mib * MIB, SEED + size_mib)
        contract = parse_contract(CONTRACT_DOCUMENT)
        log(f"validating {facts['records']} records")
        started = time.perf_counter()
        with path.open("rb") as stream:
            outcome = validate_records(RecordReader(stream, FileFormat.CSV), contract, FileFormat.CSV)
        seconds = time.perf_counter() - started
        with path.open("rb") as stream:
            head = []
            for record in RecordReader(stream, FileFormat.CSV):
                if record.fields is not None:
                    head.append(record.fields)
                if len(head) == RECORDS:
                    break
        own = min(timed(lambda: sample_file(head), 5))
    return {"size_mib": size_mib, "records": outcome.records_total, "seconds": round(seconds, 3),
            "its_own_first_1000_records_ms": round(own * 1e3, 2),
            "its_own_classified": {name: cls.value for name, cls in sample_file(head).items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; best and median kept")
    parser.add_argument("--validation-mib", type=int, default=100,
                        help="size of the orders CSV validated for comparison (0: skip)")
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    rng = random.Random(SEED)  # noqa: S311 - test data, seeded on purpose
    typical, heavy = records_of(typical_columns(rng)), records_of(pii_heavy_columns(rng))
    mix: list[object] = [value for record in typical for value in record.values()]
    log("classify_value over each column")
    columns = {"typical": per_column(typical, repeat), "pii_heavy": per_column(heavy, repeat)}
    mix_best = min(timed(lambda: classify_all(mix), repeat))
    log("ColumnSampler per file")
    files = {"typical": per_file(typical, repeat), "pii_heavy": per_file(heavy, repeat)}
    log("imports in fresh interpreters")
    imports = import_seconds(repeat)
    report: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()},
        "seed": SEED,
        "classify_value": {"values": len(mix), "values_per_s": round(len(mix) / mix_best),
                           "us_per_value": round(mix_best / len(mix) * 1e6, 2), "by_column": columns},
        "column_sampler_per_file": files,
        "import": imports,
    }
    if args.validation_mib > 0:
        validation = validation_seconds(args.validation_mib)
        share = {name: round(files[name]["ms_best"] / 1e3 / validation["seconds"], 4) for name in files}
        report["validation"] = validation
        report["targets"] = {"share_of_validation": {
            "target": f"classification adds <= {TARGET_SHARE_OF_VALIDATION:.0%} to validation of a "
                      f"{args.validation_mib} MiB CSV",
            "measured": share,
            "met": all(s <= TARGET_SHARE_OF_VALIDATION for s in share.values()),
        }}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
