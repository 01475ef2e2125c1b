"""Validation throughput and memory: the core (parser + rules) in isolation, and the whole pipeline.

1. Generates seeded test data: a 10-column CSV and a JSON Lines file per size (MiB), about 2% of the records
   invalid in one of four ways (bad email, amount out of range, missing required id, bad currency), written as a
   stream.
2. Runs `RecordReader` + `validate_records` on each file in a fresh subprocess with a 5-rule contract (file mode),
   so each run's peak RSS is its own; also a parse-only run (no rules) and a child that only imports the modules
   (the RSS baseline).
3. Unless --skip-pipeline: starts MiniStack on a free port, provisions, publishes the same 5-rule contract for the
   dataset `bench` (as bootstrap would), uploads each CSV to `input/bench/` and times upload start to terminal
   status.
4. Prints one JSON object with every figure and a "targets" section. Progress goes to stderr.

    python benchmarks/validation.py [--sizes 1,10,100] [--repeat 3] [--skip-pipeline] [--out DIR] [--profile]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from orders_data import CONTRACT_DOCUMENT, MIB, SEED, generate_all, log

# -- core, in a child process -----------------------------------------------------------------------------------


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_main(mode: str, path: str | None, file_format: str | None, profile: bool) -> None:
    """Runs in a fresh interpreter; prints one JSON line. Modes: imports, parse (reader only), core (+ rules)."""
    from lakebox_layer.contracts import parse_contract
    from lakebox_layer.parsing import RecordReader
    from lakebox_layer.records import FileFormat
    from lakebox_layer.rules import RecordJudge
    from lakebox_layer.validation import validate_records

    result: dict[str, Any] = {"rss_after_imports_mib": round(max_rss_mib(), 1)}
    if mode == "imports":
        print(json.dumps(result))
        return
    assert path is not None and file_format is not None
    contract = parse_contract(CONTRACT_DOCUMENT)
    judge = RecordJudge(contract, FileFormat(file_format))
    result["rules"] = len(judge.required) + len(judge.checks) + len(judge.unique)
    fmt = FileFormat(file_format)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with Path(path).open("rb") as stream:
        reader = RecordReader(stream, fmt)
        if mode == "parse":
            records = sum(1 for _ in reader)
            outcome = None
        else:
            outcome = validate_records(reader, contract, fmt)
            records = outcome.records_total
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    result.update({
        "records": records,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),
        "records_per_s": round(records / elapsed) if elapsed else None,
        "peak_rss_mib": round(max_rss_mib(), 1),
    })
    if outcome is not None:
        result.update({"records_valid": outcome.records_valid, "rule_counts": outcome.rule_counts,
                       "passed": outcome.passed, "quality_score": outcome.quality_score})
    if profiler is not None:
        import pstats

        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        result["profile"] = text.getvalue()
    print(json.dumps(result))


def run_child(mode: str, path: str | None = None, file_format: str | None = None, profile: bool = False) -> Any:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
    if path is not None:
        command += ["--child-file", path, "--child-format", str(file_format)]
    if profile:
        command.append("--profile")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} {path} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_core(files: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    baseline = [run_child("imports")["rss_after_imports_mib"] for _ in range(3)]
    baseline_rss = statistics.median(baseline)
    log(f"baseline (imports only): {baseline_rss} MiB peak RSS")
    runs = []
    for file in files:
        attempts = [run_child("core", file["path"], file["format"]) for _ in range(repeat)]
        best = max(attempts, key=lambda a: a["records_per_s"])
        parse = max((run_child("parse", file["path"], file["format"]) for _ in range(repeat)),
                    key=lambda a: a["records_per_s"])
        invalid_found = best["records"] - best["records_valid"]
        run = {
            "format": file["format"],
            "size_mib": file["size_mib"],
            "records": best["records"],
            "rules": best["rules"],
            "seconds_best": best["seconds"],
            "seconds_median": statistics.median(a["seconds"] for a in attempts),
            "cpu_seconds_best": best["cpu_seconds"],
            "records_per_s_best": best["records_per_s"],
            "records_per_s_median": round(statistics.median(a["records_per_s"] for a in attempts)),
            "peak_rss_mib": max(a["peak_rss_mib"] for a in attempts),
            "rss_growth_over_baseline_mib": round(max(a["peak_rss_mib"] for a in attempts) - baseline_rss, 1),
            "parse_only_records_per_s_best": parse["records_per_s"],
            "parse_only_peak_rss_mib": parse["peak_rss_mib"],
            "records_valid": best["records_valid"],
            "invalid_found": invalid_found,
            "invalid_expected": file["invalid_expected"],
            "rule_counts": best["rule_counts"],
            "rule_counts_expected": {k: v for k, v in file["invalid_by_rule_expected"].items() if v},
            "counts_match": (best["records"] == file["records"] and invalid_found == file["invalid_expected"]
                             and best["rule_counts"] == {k: v for k, v in file["invalid_by_rule_expected"].items()
                                                         if v}),
            "passed": best["passed"],
            "quality_score": best["quality_score"],
        }
        runs.append(run)
        log(f"core {file['format']:5} {file['size_mib']:>4} MiB: {run['records']} records, "
            f"{run['records_per_s_best']:,} records/s (parse only {run['parse_only_records_per_s_best']:,}), "
            f"peak RSS {run['peak_rss_mib']} MiB, counts match: {run['counts_match']}")
    return {"baseline_rss_mib": baseline_rss, "repeat": repeat, "runs": runs}


# -- pipeline ---------------------------------------------------------------------------------------------------


def measure_pipeline(files: list[dict[str, Any]], out_dir: Path, deadline_s: float) -> dict[str, Any]:
    from lakebox.emulator.embedded import EmbeddedEmulator, log_tail
    from lakebox.ingest.outcomes import wait_for_outcomes
    from lakebox.lake.target import Target
    from lakebox_infra.provision import Provisioner
    from lakebox_infra.topology import Topology
    from lakebox_layer.adapters.contract_store import ContractStore
    from lakebox_layer.contracts import parse_contract
    from lakebox_layer.records import RawObject

    def one(target: Target, path: Path) -> dict[str, Any]:
        s3 = target.clients.s3
        bucket = target.settings.raw_bucket
        key = f"input/bench/{path.stem}.csv"
        wall_start = time.time()
        started = time.perf_counter()
        s3.upload_file(str(path), bucket, key)
        uploaded = time.perf_counter() - started
        head = s3.head_object(Bucket=bucket, Key=key)
        raw = RawObject(bucket, key, head["ETag"].strip('"'), head["ContentLength"], head.get("VersionId"))
        result: dict[str, Any] = {"key": key, "bytes": raw.size, "upload_s": round(uploaded, 3)}
        try:
            row = wait_for_outcomes(target, [raw], deadline_s=deadline_s,
                                    interval_s=0.1)[raw.process_id]
            result.update({"status": row.status.value, "records_total": row.records_total,
                           "records_valid": row.records_valid, "errors": row.errors[:3]})
        except TimeoutError as error:
            result.update({"status": "timeout", "error": str(error)})
        result["terminal_s"] = round(time.perf_counter() - started, 3)
        stages = {}
        for record in target.metadata.stage_records(raw.process_id):
            recorded = record.get("RecordedAt")
            if recorded:
                stages[record["Stage"]] = round(datetime.fromisoformat(recorded).timestamp() - wall_start, 3)
        result["stage_recorded_after_s"] = stages
        return result

    csvs = [f for f in files if f["format"] == "csv"]
    with tempfile.TemporaryDirectory(prefix="lakebox-bench-state-") as state_dir:
        emulator = EmbeddedEmulator(Path(state_dir))
        started = time.perf_counter()
        state, _ = emulator.start(port=None)
        emulator_start = time.perf_counter() - started
        log(f"emulator up at {state.endpoint} ({emulator_start:.1f} s)")
        try:
            target = Target.at(state.endpoint, state.region)
            started = time.perf_counter()
            Provisioner(Topology(target.names), target.session, state.endpoint).apply()
            provision = time.perf_counter() - started
            ContractStore(target.clients.dynamodb, target.settings.metadata_table).publish(
                parse_contract({**CONTRACT_DOCUMENT, "dataset": "bench"}))
            log(f"provisioned ({provision:.1f} s)")
            warmup_path = out_dir / "warmup.csv"
            warmup_path.write_text("id,email\n1,a@example.com\n")
            warmup = one(target, warmup_path)
            log(f"warm-up file: {warmup['status']} in {warmup['terminal_s']} s (cold starts)")
            results = []
            for file in csvs:
                log(f"pipeline: uploading {Path(file['path']).name} ({file['bytes'] / MIB:.1f} MiB)")
                result = one(target, Path(file["path"]))
                result["size_mib"] = file["size_mib"]
                results.append(result)
                log(f"pipeline {file['size_mib']:>4} MiB: {result['status']} in {result['terminal_s']} s "
                    f"(upload {result['upload_s']} s; stages {result['stage_recorded_after_s']})")
                if result["status"] == "timeout":
                    log(f"emulator log tail:\n{log_tail(state.log_file, 40)}")
        finally:
            emulator.stop()
    return {"emulator_start_s": round(emulator_start, 2), "provision_s": round(provision, 2),
            "deadline_s": deadline_s, "warmup": warmup, "runs": results}


# -- targets ----------------------------------------------------------------------------------------------------


def evaluate(core: dict[str, Any], pipeline: dict[str, Any] | None, sizes: list[int]) -> dict[str, Any]:
    runs = core["runs"]
    csv_runs = [r for r in runs if r["format"] == "csv"]
    slowest = min(csv_runs, key=lambda r: r["records_per_s_best"])
    throughput = {
        "target": ">= 100000 records/s, one core, 10-column CSV, 5 rules (slowest CSV size, best of repeats)",
        "measured_records_per_s": slowest["records_per_s_best"],
        "at_size_mib": slowest["size_mib"],
        "by_size": {str(r["size_mib"]): r["records_per_s_best"] for r in csv_runs},
        "ratio_to_target": round(slowest["records_per_s_best"] / 100_000, 3),
        "met": slowest["records_per_s_best"] >= 100_000,
    }
    small, large = min(sizes), max(sizes)
    memory: dict[str, Any] = {"target": f"peak RSS at {large} MiB <= 1.5 x peak RSS at {small} MiB, each format"}
    memory_met = True
    for file_format in ("csv", "jsonl"):
        by_size = {r["size_mib"]: r["peak_rss_mib"] for r in runs if r["format"] == file_format}
        ratio = by_size[large] / by_size[small]
        memory[file_format] = {"small_mib": by_size[small], "large_mib": by_size[large], "ratio": round(ratio, 3),
                               "met": ratio <= 1.5}
        memory_met = memory_met and ratio <= 1.5
    memory["met"] = memory_met
    if small != 1:
        memory["note"] = f"smallest size measured is {small} MiB, not 1 MiB"
    targets: dict[str, Any] = {"core_throughput": throughput, "peak_rss_growth": memory}
    if pipeline is None:
        targets["pipeline_100mb_csv"] = {"target": "100 MiB CSV terminal through the pipeline in < 60 s",
                                         "met": None, "note": "skipped (--skip-pipeline)"}
    else:
        largest = max(pipeline["runs"], key=lambda r: r["size_mib"])
        targets["pipeline_100mb_csv"] = {
            "target": "100 MiB CSV terminal through the pipeline in < 60 s",
            "size_mib": largest["size_mib"],
            "terminal_s": largest["terminal_s"],
            "status": largest["status"],
            "met": largest["status"] not in ("timeout", "in_progress") and largest["terminal_s"] < 60,
        }
        if largest["size_mib"] != 100:
            targets["pipeline_100mb_csv"]["note"] = f"largest size run is {largest['size_mib']} MiB, not 100 MiB"
    targets["all_met"] = all(t["met"] for t in targets.values() if isinstance(t, dict) and t["met"] is not None)
    return targets


# -- main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="file sizes in MiB, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="core runs per file (fresh process each); best kept")
    parser.add_argument("--skip-pipeline", action="store_true", help="measure the core only")
    parser.add_argument("--out", type=Path, help="keep the generated data here (default: a temporary directory)")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds to wait for each pipeline file")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile the core on the largest CSV (top functions to stderr and the JSON)")
    parser.add_argument("--child", choices=("imports", "parse", "core"), help=argparse.SUPPRESS)
    parser.add_argument("--child-file", help=argparse.SUPPRESS)
    parser.add_argument("--child-format", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.child_file, args.child_format, args.profile)
        return
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or min(sizes) <= 0:
        parser.error("--sizes needs positive integers")
    with tempfile.TemporaryDirectory(prefix="lakebox-bench-data-") as scratch:
        out_dir = args.out or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        files = generate_all(out_dir, sizes)
        core = measure_core(files, max(1, args.repeat))
        profile = None
        if args.profile:
            largest = max((f for f in files if f["format"] == "csv"), key=lambda f: f["size_mib"])
            log(f"profiling the core on {Path(largest['path']).name}")
            profiled = run_child("core", largest["path"], "csv", profile=True)
            log(profiled["profile"])
            profile = {"file": Path(largest["path"]).name, "seconds_under_cprofile": profiled["seconds"],
                       "top_by_tottime": profiled["profile"].splitlines()}
        pipeline = None if args.skip_pipeline else measure_pipeline(files, out_dir, args.deadline)
    report: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()},
        "seed": SEED,
        "contract": CONTRACT_DOCUMENT,
        "data": [{k: v for k, v in f.items() if k != "path"} for f in files],
        "core": core,
        "pipeline": pipeline,
        "targets": evaluate(core, pipeline, sizes),
    }
    if profile is not None:
        report["profile"] = profile
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
