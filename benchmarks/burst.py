"""A cold burst from concurrent producers, beside the bare chain in the same run: the headline of the speed figures.

Starts an emulator for the bare chain (`bare_chain.py`) and times its usual burst (warmed, one client uploading back
to back: the emulator's floor the ratios are taken against), then on another a cold burst from `--producers` threads
at once (shown beside it: the bare chain's S3 notifications are invoked on the upload's path, so its uploads are the
limit there). Starts another for lakebox and provisions it; then `--producers` threads upload
`--files` small files (JSON and CSV, every one valid) into one new dataset without a contract, at once, with every
function cold. Times, from the stage records (their `RecordedAt`), upload start to the last file's terminal status
and to the last file curated; profiles the burst (CPU seconds per file of each function's workers and of the emulator,
from /proc; each stage queue's peak depth); then measures `lakebox status --json` over the burst's rows as a user
runs it (the CLI as a process: its CPU seconds, user plus system, and its wall time) beside the floor any command
that reads the lake pays; fills the lake to `--status-rows` files and measures it again. Last, what
`benchmarks/keyboard.py` measures: `lakebox up` first and with nothing to change, and with `--suite` the README's
`pytest`. Every figure of the speed table in one run; prints one JSON object.

    python benchmarks/burst.py [--files 500] [--producers 16] [--status-rows 2000] [--suite]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import bare_chain
import keyboard
from throughput import QueueSampler, cpu_snapshot, default_json, fresh_emulator, orders_csv, put_raw, run_bare

from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.lake.target import Target
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.records import FileStatus
from lakebox_layer.registry import Stage

DEADLINE_S = 900.0


def concurrent_bare(files: int, producers: int) -> dict[str, Any]:
    """The bare chain's drain of a cold burst uploaded by `producers` threads at once."""
    with fresh_emulator() as state:
        chain = bare_chain.deploy(state.endpoint, state.region)
        started = time.perf_counter()
        with ThreadPoolExecutor(producers) as pool:
            list(pool.map(lambda n: chain.put(f"input/burst-{n}.json"), range(files)))
        uploaded = time.perf_counter() - started
        bare_chain.wait_written(chain, files, DEADLINE_S)
        elapsed = time.perf_counter() - started
    return {"files": files, "producers": producers, "upload_s": round(uploaded, 2), "all_done_s": round(elapsed, 2),
            "files_per_s": round(files / elapsed, 1)}


def burst_file(dataset: str, n: int) -> tuple[str, bytes]:
    """The n-th file of the burst: JSON and CSV in turn, in one dataset."""
    name = f"{uuid.uuid4().hex[:8]}-{n:04d}"
    if n % 2:
        return f"input/{dataset}/{name}.csv", orders_csv(n, valid=True)
    return f"input/{dataset}/{name}.json", default_json(n, valid=True)


def _seconds(recorded_at: str) -> float:
    return datetime.fromisoformat(recorded_at).timestamp()


# What any command that reads the lake pays before its first call: the interpreter, typer and boto3 imported, one
# DynamoDB client made. `status --json`'s own cost is what it adds to this.
FLOOR = ("import boto3, typer; boto3.Session(aws_access_key_id='test', aws_secret_access_key='test')"
         ".client('dynamodb', region_name='us-east-1', endpoint_url='http://127.0.0.1:9')")


def status_cost(endpoint: str, runs: int = 5) -> dict[str, Any]:
    """`lakebox status --json` as a user runs it, `runs` times: the CLI process's CPU and wall seconds (medians),
    beside `lakebox --help` (importing the CLI and every command) and the floor any such command pays (FLOOR)."""
    with tempfile.TemporaryDirectory() as state:
        environment = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "LAKEBOX_STATE_DIR": state}

        def measured(*command: str) -> tuple[float, float, bytes]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run(list(command), env=environment, capture_output=True, check=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime), wall, done.stdout

        lakebox = str(Path(sys.executable).with_name("lakebox"))
        measured(lakebox, "status", "--limit", "1")  # the first command at an endpoint asks STS for the account
        status = [measured(lakebox, "status", "--json") for _ in range(runs)]
        help_ = [measured(lakebox, "--help") for _ in range(runs)]
        floor = [measured(sys.executable, "-c", FLOOR) for _ in range(runs)]
    return {"rows": len(json.loads(status[0][2])),
            "status_json_cpu_s": round(statistics.median(cpu for cpu, _, _ in status), 2),
            "status_json_wall_s": round(statistics.median(wall for _, wall, _ in status), 2),
            "help_cpu_s": round(statistics.median(cpu for cpu, _, _ in help_), 2),
            "floor_cpu_s": round(statistics.median(cpu for cpu, _, _ in floor), 2)}


def run_lakebox(files: int, producers: int, status_rows: int) -> dict[str, Any]:
    with fresh_emulator() as state:
        target = Target.at(state.endpoint, state.region)
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        dataset = f"burst_{uuid.uuid4().hex[:6]}"
        contents = [burst_file(dataset, n) for n in range(files)]
        before = cpu_snapshot(state.pid)
        with QueueSampler(target, interval_s=0.5).sampling() as queues:
            started_at = time.time()
            started = time.perf_counter()
            with ThreadPoolExecutor(producers) as pool:
                uploads = list(pool.map(lambda item: put_raw(target, *item), contents))
            uploaded = time.perf_counter() - started
            rows = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=DEADLINE_S, interval_s=1.0)
            processed = {pid for pid, row in rows.items() if row.status is FileStatus.PROCESSED}
            queues.wait_empty(list(Stage), started, DEADLINE_S)
        after = cpu_snapshot(state.pid)
        records = target.metadata.file_records(target.settings.project)
        ids = set(rows)

        def last(stage: Stage, among: set[str]) -> float:
            times = [_seconds(str(r["RecordedAt"])) for r in records
                     if r["ProcessId"] in among and str(r["Timestamp"]).endswith(f"-{stage.value}")]
            return max(times) - started_at if len(times) >= len(among) else float("nan")

        terminal = last(Stage.VALIDATION, ids)
        curated = last(Stage.CURATION, processed)
        keyboard = [status_cost(state.endpoint)]
        if status_rows > files:  # more files in the same dataset, uploaded the same way, for a larger status
            more = [burst_file(dataset, n) for n in range(files, status_rows)]
            with ThreadPoolExecutor(producers) as pool:
                added = list(pool.map(lambda item: put_raw(target, *item), more))
            wait_for_outcomes(target, [u.raw for u in added], deadline_s=DEADLINE_S, interval_s=1.0)
            keyboard.append(status_cost(state.endpoint))
    prefix = f"{target.names.project}-"
    cpu = {name.removeprefix(prefix): round((after.get(name, 0.0) - before.get(name, 0.0)) * 1000 / files, 1)
           for name in after}
    return {
        "files": files, "producers": producers, "dataset": dataset, "upload_s": round(uploaded, 2),
        "outcomes": dict(Counter(row.status.value for row in rows.values())), "all_terminal_s": round(terminal, 2),
        "terminal_files_per_s": round(files / terminal, 1),
        "all_curated_s": round(curated, 2), "curated_files_per_s": round(len(processed) / curated, 1),
        "cpu_ms_per_file": cpu, "queue_peak_depth": dict(queues.peak), "status_at_the_keyboard": keyboard,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--producers", type=int, default=16)
    parser.add_argument("--status-rows", type=int, default=2000,
                        help="after the burst, fill the lake to this many files and measure `status --json` again")
    parser.add_argument("--suite", action="store_true", help="also time the README's pytest (a minute or two)")
    args = parser.parse_args()
    bare = run_bare(args.files)
    bare_concurrent = concurrent_bare(args.files, args.producers)
    lakebox = run_lakebox(args.files, args.producers, args.status_rows)
    print(json.dumps({
        "cores": os.cpu_count(), "bare_chain": bare, "bare_chain_concurrent_cold": bare_concurrent, "lakebox": lakebox,
        "ratio_terminal": round(lakebox["terminal_files_per_s"] / bare["files_per_s"], 2),
        "ratio_curated": round(lakebox["curated_files_per_s"] / bare["files_per_s"], 2),
        "keyboard": keyboard.keyboard(runs=3, suite=args.suite),
    }, indent=2))


if __name__ == "__main__":
    main()
