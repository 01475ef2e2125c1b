"""Curation with personal data protected: what it costs in time, memory and Parquet size.

1. Generates seeded processed `orders` CSVs of each size (contracts/orders.json's ten columns; its `customer_email`
   and `phone` are declared `pii`, so curation protects them as `encrypt`).
2. Curates each in a fresh child process (AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024, DuckDB on one thread) exactly as
   the stage does: the protection plan from the contract, the file rewritten with the planned columns protected
   (`protect_file`), then Parquet with the protected columns. Three ways: `none` (no column protected: the size
   and time without protection), `production` (ciphertext and tokens) and `development` (masks and tokens). The
   keys come from a stand-in of the KMS adapter (random data keys, a fixed token key): KMS's own calls (one
   GenerateDataKey per protected column and one GenerateMac per file) are not in these figures.
3. Prints, per size and way, the seconds (protection, Parquet), protected values per second, peak RSS and the
   Parquet's bytes, and the overhead against `none`. Progress goes to stderr.

    python benchmarks/protected_curation.py [--sizes 1,10,100] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from orders_data import MIB, SEED, generate_orders

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "orders.json"
FUNCTION_MEMORY_MB = "1024"
WAYS = ("none", "production", "development")
INGESTED_AT = "2026-11-29T12:00:00Z"


def log(message: str) -> None:
    print(f"[protected-curation-bench] {message}", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    lines = Path("/proc/self/status").read_text().splitlines()
    return round(next(int(line.split()[1]) for line in lines if line.startswith("VmHWM:")) / 1024, 1)


class StandInKeys:
    """The KMS adapter's port without KMS: a random data key per column, a fixed token key."""

    def data_key(self, dataset: str, column: str) -> Any:
        from lakebox_layer.adapters.keys import DataKey, data_key_context
        from lakebox_layer.protection import key_ref

        wrapped = os.urandom(184)  # about what KMS's CiphertextBlob for a 32-byte key weighs
        return DataKey(os.urandom(32), wrapped, key_ref(wrapped), data_key_context(dataset, column))

    def token_key(self, dataset: str) -> bytes:
        return b"t" * 32

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        raise NotImplementedError


def worker(path: Path, way: str, repeat: int) -> dict[str, Any]:
    from lakebox_layer.columns import contract_columns
    from lakebox_layer.contracts import parse_contract
    from lakebox_layer.parquet import Lineage, ParquetEngine
    from lakebox_layer.privacy import keys_metadata, plan_protection, protect_columns
    from lakebox_layer.protected_files import ColumnProtector, protect_file
    from lakebox_layer.records import FileFormat

    contract = parse_contract(json.loads(CONTRACT.read_text()))
    plans = {} if way == "none" else plan_protection(contract, {})
    runs: list[dict[str, float]] = []
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lakebox-protected-curation-") as scratch:
        for run in range(repeat):
            work = Path(scratch) / f"run-{run}"
            work.mkdir()
            engine = ParquetEngine(work / "duckdb", threads=1)
            started = time.perf_counter()
            source_path, file_format = path, FileFormat.CSV
            protector = ColumnProtector("orders", StandInKeys(), production=way == "production")
            if plans:
                file_format = protect_file(path, FileFormat.CSV, None, work / "protected", plans, protector)
                source_path = work / "protected"
            protected = time.perf_counter()
            source = engine.source(source_path, file_format, None)
            columns = protect_columns(contract_columns(contract) or [], plans)
            lineage = Lineage(uuid.uuid4().hex, f"input/orders/{path.name}", None, contract.version, INGESTED_AT)
            parts = engine.write(source, columns, lineage, partition_by=contract.partition_by,
                                 arrival_day=INGESTED_AT[:10], out_dir=work / "curated", stem=lineage.process_id,
                                 metadata=keys_metadata(protector.data_keys, plans) if plans else None)
            done = time.perf_counter()
            runs.append({"protect_s": protected - started, "parquet_s": done - protected, "total_s": done - started})
            result.update(rows=sum(p.rows for p in parts), parquet_bytes=sum(p.path.stat().st_size for p in parts),
                          protected_columns=sorted(plans))
            engine.close()
    best = min(runs, key=lambda r: r["total_s"])
    result.update({k: round(v, 3) for k, v in best.items()}, peak_rss_mib=peak_rss_mib())
    return result


def run_worker(path: Path, way: str, repeat: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", str(path), "--worker-way", way, "--repeat", str(repeat)]
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": FUNCTION_MEMORY_MB}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(scratch: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    figures = []
    for size in sizes:
        path = scratch / f"orders-{size}mb.csv"
        data = generate_orders(path, SEED + size, target_bytes=size * MIB)
        row: dict[str, Any] = {"size_mib": size, "csv_bytes": data["bytes"], "records": data["records"]}
        for way in WAYS:
            run = run_worker(path, way, repeat)
            if run["rows"] != data["records"]:
                raise RuntimeError(f"{path.name} ({way}): curated {run['rows']} rows of {data['records']}")
            values = data["records"] * len(run["protected_columns"])
            run["protected_values_per_s"] = round(values / run["protect_s"]) if values else None
            row[way] = run
            log(f"{path.name} {way}: {run['total_s']} s (protection {run['protect_s']} s), "
                f"{run['parquet_bytes']:,} B, peak {run['peak_rss_mib']} MiB")
        for way in WAYS[1:]:
            row[way]["size_over_none"] = round(row[way]["parquet_bytes"] / row["none"]["parquet_bytes"], 2)
            row[way]["time_over_none"] = round(row[way]["total_s"] / row["none"]["total_s"], 2)
        path.unlink()
        figures.append(row)
    return figures


def table(figures: list[dict[str, Any]]) -> str:
    lines = [f"{'size':>6} {'way':<12} {'total s':>8} {'protect s':>9} {'values/s':>10} {'parquet B':>12} "
             f"{'size x':>6} {'time x':>6} {'peak MiB':>8}"]
    for row in figures:
        for way in WAYS:
            run = row[way]
            lines.append(f"{row['size_mib']:>4}MB {way:<12} {run['total_s']:>8} {run['protect_s']:>9} "
                         f"{run['protected_values_per_s'] or '-':>10} {run['parquet_bytes']:>12,} "
                         f"{run.get('size_over_none', 1.0):>6} {run.get('time_over_none', 1.0):>6} "
                         f"{run['peak_rss_mib']:>8}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="CSV sizes in MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="curations per child (the fastest is kept)")
    parser.add_argument("--json", action="store_true", help="print JSON (the table then goes to stderr)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-way", choices=WAYS, default="none", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.worker_way, max(1, args.repeat))))
        return
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    with tempfile.TemporaryDirectory(prefix="lakebox-protected-curation-bench-") as scratch:
        figures = measure(Path(scratch), sizes, max(1, args.repeat))
    report = {"machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()}, "seed": SEED,
              "function_memory_mb": int(FUNCTION_MEMORY_MB), "curation": figures}
    if args.json:
        print(table(figures), file=sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print(table(figures))


if __name__ == "__main__":
    main()
