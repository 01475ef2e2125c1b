"""Curation throughput, memory and Parquet size, and `lakebox query` latency over curated Parquet.

1. Generates seeded processed `orders` CSVs (contracts/orders.json's ten columns, every record valid, ordered over
   28 days) of each size, and curates each through `ParquetEngine` as the curation stage does (source, then write
   with the contract's columns, partitioned by its `partition_by`), each run in a fresh child process with
   AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 (the curation function's memory): once with threads=1 (records/s/core)
   and once with the engine's default threads. Each child reports its peak RSS (VmHWM), its RSS after imports and
   DuckDB's memory limit; the threads=1 child also times a parse-only and a parse+cast pass (the profile).
2. Starts MiniStack on a free port in a temporary directory, provisions the project, curates --query-rows orders
   rows, uploads the parts to `curated/orders/dt=<day>/` and registers the partitions as the stage does, then runs
   a group-by through Athena --queries times (the first is a warm-up), as `lakebox query` does (0.2 s polling) and
   with 10 ms polling; the counts must add up to --query-rows. The emulator is stopped at the end, always.

    python benchmarks/curation.py [--sizes 1,10,100] [--query-rows 1000000] [--queries 7] [--json]
"""

# ruff: noqa: S608 - SQL here is built from the benchmark's own column names

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
from orders_data import MIB, SEED, generate_orders

CONTRACT = Path(__file__).resolve().parents[1] / "contracts" / "orders.json"
FUNCTION_MEMORY_MB = "1024"
ARRIVAL_DAY = "2026-11-29"
INGESTED_AT = "2026-11-29T12:00:00Z"
QUERY = "SELECT currency, count(*) AS orders, sum(amount) AS amount FROM orders GROUP BY currency ORDER BY currency"
TARGET_RECORDS_PER_S_PER_CORE = 500_000
TARGET_QUERY_P50_S = 1.0


def log(message: str) -> None:
    print(f"[curation-bench] {message}", file=sys.stderr, flush=True)


def proc_status_kib(field: str) -> int | None:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in lines if line.startswith(field + ":")), None)


def peak_rss_mib() -> float:
    hwm = proc_status_kib("VmHWM")
    return round((hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def orders_setup() -> tuple[Any, Any]:
    """The orders contract and its declared columns, as the stage reads them."""
    from lakebox_layer.columns import contract_columns
    from lakebox_layer.contracts import parse_contract

    contract = parse_contract(json.loads(CONTRACT.read_text()))
    return contract, contract_columns(contract)


def curate(engine: Any, path: Path, out_dir: Path, process_id: str) -> tuple[list[Any], float, float]:
    """One processed CSV into Parquet parts, exactly as the curation stage calls the engine; with the seconds
    `source` (the header check and CSV sniffing) and `write` took."""
    from lakebox_layer.parquet import Lineage
    from lakebox_layer.records import FileFormat

    contract, columns = orders_setup()
    lineage = Lineage(process_id, f"input/orders/{path.name}", None, contract.version, INGESTED_AT)
    started = time.perf_counter()
    source = engine.source(path, FileFormat.CSV, None)
    sourced = time.perf_counter()
    parts: list[Any] = engine.write(source, columns, lineage, partition_by=contract.partition_by,
                                    arrival_day=ARRIVAL_DAY, out_dir=out_dir, stem=process_id)
    return parts, sourced - started, time.perf_counter() - sourced


# -- one curation, in a fresh child process -----------------------------------------------------------------------


def worker(path: Path, threads: int | None, repeat: int, profile: bool) -> dict[str, Any]:
    from lakebox_layer.parquet import ParquetEngine
    from lakebox_layer.records import FileFormat

    result: dict[str, Any] = {"rss_after_imports_mib": round((proc_status_kib("VmRSS") or 0) / 1024, 1)}
    seconds: list[float] = []
    steps: list[tuple[float, float, float]] = []  # connect, source, write: the fastest run's are profiled
    with tempfile.TemporaryDirectory(prefix="lakebox-curation-bench-") as scratch:
        for run in range(repeat):
            work = Path(scratch) / f"run-{run}"
            started = time.perf_counter()
            engine = ParquetEngine(work, threads=threads)
            connect_s = time.perf_counter() - started
            parts, source_s, write_s = curate(engine, path, work / "curated", uuid.uuid4().hex)
            seconds.append(time.perf_counter() - started)
            steps.append((connect_s, source_s, write_s))
            [(limit, used_threads)] = engine.db.execute(
                "SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()
            result.update(duckdb_memory_limit=limit, threads=int(used_threads), rows=sum(p.rows for p in parts),
                          parts=len(parts), parquet_bytes=sum(p.path.stat().st_size for p in parts))
            if run == repeat - 1 and profile:
                result["peak_rss_mib"] = peak_rss_mib()  # before the profile's passes
                connect_s, source_s, write_s = steps[seconds.index(min(seconds))]
                result["profile_s"] = {"connect": round(connect_s, 3), "source_checks": round(source_s, 3),
                                       **stage_profile(engine, path, FileFormat.CSV, write_s)}
            engine.close()
            shutil.rmtree(work, ignore_errors=True)
    result.setdefault("peak_rss_mib", peak_rss_mib())
    result["seconds"] = [round(s, 3) for s in seconds]
    return result


def stage_profile(engine: Any, path: Path, file_format: Any, write_s: float) -> dict[str, float]:
    """Of `write`'s seconds: parsing the CSV (every column as text), casting (the stage's typed SELECT, lineage and
    partition key included), and the rest (partitioning, Parquet encoding and files, reading the parts' row
    counts back)."""
    contract, columns = orders_setup()
    source = engine.source(path, file_format, None)
    started = time.perf_counter()
    engine.db.execute(f"SELECT {', '.join(f'count({source.text(n)})' for n in source.names)} "
                      f"FROM {source.relation}").fetchall()
    parse = time.perf_counter() - started
    from lakebox_layer.parquet import Lineage

    lineage = Lineage("p", "k", None, contract.version, INGESTED_AT)
    typed = engine._select(source, columns, lineage, contract.partition_by, ARRIVAL_DAY)
    names = [c.name for c in columns] + ["dt"]
    started = time.perf_counter()
    engine.db.execute(f"SELECT {', '.join(f'count({n})' for n in names)} FROM ({typed})").fetchall()
    cast = time.perf_counter() - started
    return {"parse": round(parse, 3), "cast": round(max(0.0, cast - parse), 3),
            "partition_and_parquet_write": round(max(0.0, write_s - cast), 3)}


def run_worker(path: Path, threads: int | None, repeat: int, profile: bool,
               memory_mb: str = FUNCTION_MEMORY_MB) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", str(path), "--worker-threads", str(threads or 0),
               "--worker-repeat", str(repeat)] + (["--worker-profile"] if profile else [])
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory_mb}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"curation worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_curation(scratch: Path, sizes: list[int], repeat: int,
                     probes: list[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    figures, bounded = [], []
    for size in sizes:
        path = scratch / f"orders-{size}mb.csv"
        data = generate_orders(path, SEED + size, target_bytes=size * MIB)
        log(f"generated {path.name}: {data['records']} records")
        row: dict[str, Any] = {"size_mib": size, "csv_bytes": data["bytes"], "records": data["records"]}
        for label, threads in (("one_thread", 1), ("default_threads", None)):
            run = run_worker(path, threads, repeat, profile=threads == 1)
            if run["rows"] != data["records"]:
                raise RuntimeError(f"{path.name}: curated {run['rows']} rows of {data['records']}")
            best = min(run["seconds"])
            run["records_per_s"] = round(data["records"] / best)
            run["records_per_s_per_core"] = round(data["records"] / best / run["threads"])
            row[label] = run
            log(f"{path.name} threads={run['threads']}: {run['records_per_s']:,} records/s, "
                f"peak {run['peak_rss_mib']} MiB")
        row["parquet_bytes"] = row["one_thread"]["parquet_bytes"]
        row["parquet_to_csv"] = round(row["parquet_bytes"] / data["bytes"], 3)
        if size == sizes[-1]:  # the largest file under smaller functions: is the peak bounded by the limit?
            for memory_mb in probes:
                run = run_worker(path, 1, 1, profile=False, memory_mb=str(memory_mb))
                bounded.append({"size_mib": size, "function_memory_mib": memory_mb,
                                "duckdb_memory_limit": run["duckdb_memory_limit"],
                                "peak_rss_mib": run["peak_rss_mib"], "seconds": run["seconds"][0],
                                "fits_function": run["peak_rss_mib"] < memory_mb})
                log(f"{path.name} at {memory_mb} MB: peak {run['peak_rss_mib']} MiB")
        path.unlink()
        figures.append(row)
    return figures, bounded


# -- lakebox query on the emulator --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency(values: list[float]) -> dict[str, float]:
    return {"p50_s": round(statistics.median(values), 3), "p95_s": round(percentile(values, 0.95), 3),
            "max_s": round(max(values), 3)}


def measure_query(scratch: Path, rows: int, queries: int) -> dict[str, Any]:
    from lakebox.emulator.embedded import EmbeddedEmulator
    from lakebox.lake.athena import AthenaQueries, run_query
    from lakebox.lake.target import Target
    from lakebox_infra.provision import Provisioner
    from lakebox_infra.topology import Topology
    from lakebox_layer.adapters.catalog import Catalog
    from lakebox_layer.parquet import ParquetEngine
    from lakebox_layer.routing import curated_key, curated_location

    path = scratch / "orders-query.csv"
    data = generate_orders(path, SEED, rows=rows)
    process_id = uuid.uuid4().hex
    engine = ParquetEngine(scratch / "query-work")
    started = time.perf_counter()
    parts, _, _ = curate(engine, path, scratch / "query-curated", process_id)
    curate_s = time.perf_counter() - started
    engine.close()
    if sum(p.rows for p in parts) != rows:
        raise RuntimeError(f"curated {sum(p.rows for p in parts)} rows of {rows}")
    log(f"curated {rows} rows into {len(parts)} parts in {curate_s:.1f} s")
    local = duckdb.connect()
    files = ", ".join(f"'{p.path}'" for p in parts)
    local_sql = QUERY.replace("FROM orders", f"FROM read_parquet([{files}], hive_partitioning = true)")
    local_s = []
    for _ in range(queries):
        started = time.perf_counter()
        local.execute(local_sql).fetchall()
        local_s.append(time.perf_counter() - started)
    local.close()
    emulator = EmbeddedEmulator(scratch / "emulator")
    try:
        started = time.perf_counter()
        state, _ = emulator.start(port=None)
        emulator_start = time.perf_counter() - started
        target = Target.at(state.endpoint, state.region)
        started = time.perf_counter()
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        provision = time.perf_counter() - started
        log(f"emulator up in {emulator_start:.1f} s, provisioned in {provision:.1f} s")
        settings, s3 = target.settings, target.clients.s3
        for part in parts:
            s3.upload_file(str(part.path), settings.processed_bucket, curated_key("orders", part.dt, process_id),
                           ExtraArgs={"ContentType": "application/vnd.apache.parquet"})
        catalog = Catalog(target.clients.client("glue"), target.names.glue_database)
        table = catalog.table("orders")
        if table is None:
            raise RuntimeError("provisioning made no orders table")
        catalog.add_partitions("orders", [p.dt for p in parts], curated_location(settings, "orders"),
                               [c for c in table.columns if not c.name.startswith("_")])
        athena = target.clients.client("athena")
        fine = AthenaQueries(athena, target.names.athena_workgroup, target.names.glue_database, interval_s=0.01)
        series: dict[str, list[float]] = {"cli": [], "poll_10ms": [], "engine": []}
        for number in range(2 * queries):
            started = time.perf_counter()
            result = run_query(target, QUERY) if number % 2 == 0 else fine.run(QUERY)
            elapsed = time.perf_counter() - started
            counted = sum(int(row[1] or 0) for row in result.rows)
            if counted != rows:
                raise RuntimeError(f"the query counted {counted} orders, not {rows}: {result.rows}")
            if number >= 2:  # the first of each kind is the warm-up
                series["cli" if number % 2 == 0 else "poll_10ms"].append(elapsed)
                stats = athena.get_query_execution(QueryExecutionId=result.query_id)["QueryExecution"]
                series["engine"].append(stats["Statistics"]["EngineExecutionTimeInMillis"] / 1000)
        log(f"query: {result.rows}")
    finally:
        stopped = emulator.stop()
        log(f"emulator stopped: {stopped is not None and stopped.stopped}")
    return {
        "rows": rows, "csv_bytes": data["bytes"], "parts": len(parts), "curate_s": round(curate_s, 2),
        "parquet_bytes": sum(p.path.stat().st_size for p in parts), "sql": QUERY,
        "emulator_start_s": round(emulator_start, 2), "provision_s": round(provision, 2),
        "measured_queries": len(series["cli"]), "result": result.rows,
        "lakebox_query_s": latency(series["cli"]), "poll_10ms_s": latency(series["poll_10ms"]),
        "emulator_engine_s": latency(series["engine"]), "local_duckdb_s": latency(local_s[1:]),
    }


# -- report -------------------------------------------------------------------------------------------------------


def targets(curation: list[dict[str, Any]], query: dict[str, Any] | None) -> dict[str, Any]:
    per_core = {f"{c['size_mib']}MiB": c["one_thread"]["records_per_s_per_core"] for c in curation}
    found: dict[str, Any] = {"records_per_s_per_core": {
        "target": TARGET_RECORDS_PER_S_PER_CORE, "measured": per_core,
        "met": all(v >= TARGET_RECORDS_PER_S_PER_CORE for v in per_core.values()),
        "share_of_target": {k: round(v / TARGET_RECORDS_PER_S_PER_CORE, 2) for k, v in per_core.items()}}}
    if query is not None:
        p50 = query["lakebox_query_s"]["p50_s"]
        found["query_p50_s"] = {"target": TARGET_QUERY_P50_S, "measured": p50, "met": p50 < TARGET_QUERY_P50_S,
                                "times_target": round(p50 / TARGET_QUERY_P50_S, 2)}
    return found


def table(report: dict[str, Any]) -> str:
    lines = [f"cores {report['machine']['cpus']}, duckdb {report['machine']['duckdb']}, "
             f"function memory {FUNCTION_MEMORY_MB} MB",
             f"{'size':>6} {'records':>9} {'thr':>3} {'rec/s':>10} {'rec/s/core':>10} {'peak MiB':>9} "
             f"{'base MiB':>8} {'limit':>10} {'pq/csv':>6}"]
    for c in report["curation"]:
        for run in (c["one_thread"], c["default_threads"]):
            lines.append(f"{c['size_mib']:>4}MB {c['records']:>9} {run['threads']:>3} {run['records_per_s']:>10,} "
                         f"{run['records_per_s_per_core']:>10,} {run['peak_rss_mib']:>9} "
                         f"{run['rss_after_imports_mib']:>8} {run['duckdb_memory_limit']:>10} "
                         f"{c['parquet_to_csv']:>6}")
        lines.append(f"{'':>6} profile (1 thread, s): {c['one_thread']['profile_s']}")
    for probe in report["memory_bound"]:
        lines.append(f"{probe['size_mib']:>4}MB at {probe['function_memory_mib']} MB function memory: limit "
                     f"{probe['duckdb_memory_limit']}, peak {probe['peak_rss_mib']} MiB")
    query = report.get("query")
    if query:
        for name in ("lakebox_query_s", "poll_10ms_s", "emulator_engine_s", "local_duckdb_s"):
            lines.append(f"query {query['rows']} rows {name:<18} {query[name]}")
    lines.append(f"targets: {json.dumps(report['targets'])}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="CSV sizes in MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="curations per child (the fastest is kept)")
    parser.add_argument("--query-rows", type=int, default=1_000_000, help="rows behind the query (0: skip it)")
    parser.add_argument("--queries", type=int, default=7, help="queries per polling kind, the first a warm-up")
    parser.add_argument("--probe-memory", default="256,512",
                        help="function memory sizes (MB) to also curate the largest file under ('' for none)")
    parser.add_argument("--json", action="store_true", help="print JSON (the table then goes to stderr)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--worker-repeat", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker-profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.worker_threads or None, args.worker_repeat, args.worker_profile)))
        return
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or min(sizes) <= 0 or args.queries < 2:
        parser.error("--sizes needs positive integers, --queries at least 2")
    with tempfile.TemporaryDirectory(prefix="lakebox-curation-bench-") as scratch:
        probes = [int(m) for m in args.probe_memory.split(",") if m.strip()]
        curation, bounded = measure_curation(Path(scratch), sizes, max(1, args.repeat), probes)
        query = measure_query(Path(scratch), args.query_rows, args.queries) if args.query_rows > 0 else None
    report: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "duckdb": duckdb.__version__},
        "function_memory_mb": int(FUNCTION_MEMORY_MB), "seed": SEED, "curation": curation, "memory_bound": bounded,
        "query": query,
        "targets": targets(curation, query),
    }
    if args.json:
        print(table(report), file=sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print(table(report))


if __name__ == "__main__":
    main()
