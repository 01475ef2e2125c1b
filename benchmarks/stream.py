"""Streamed records from `lakebox send` to terminal status, each run on a fresh embedded emulator.

Each run has an emulator of its own (MiniStack rescans every record its stream holds on each PutRecords call, so one
run's history would slow the next). A run provisions lakebox, warms the batcher and the stages with one send of
10,000 readings (full-size raw files: every worker of every function has started and read its contract once),
waits until every stage queue is empty (the warm-up's files curated too), sends
the size's readings (one in ten invalid) the way `lakebox send --sample sensors` does, and polls until every shard's
ledger has committed the last record and every raw file they became has its terminal status. A reading's latency is
the time from the PutRecords call that took it to the moment its file was seen terminal (polled every 0.2 s). Last,
the command itself, `lakebox send --sample sensors --count N --wait --json`, runs as a user would, timed whole.

Prints one JSON object: per size, the median and range of records/s over the runs and each run's figures:
records/s from the first send to the last terminal file, the send alone, when every record was in a raw file, the
raw files written and their sizes, p50/p95/max latency, CPU seconds of the emulator and of each function's workers,
and each function's largest worker peak RSS.

    python benchmarks/stream.py [--sizes 10000 100000] [--runs 3] [--cli-count 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from memory import descendants, function_of, vm_hwm_kib
from throughput import QueueSampler, _cpu_s, fresh_emulator

from lakebox.emulator.embedded import EmulatorState
from lakebox.lake.target import Target
from lakebox.send.entries import sample_entries
from lakebox.send.landing import StreamFile, committed_reader, find_stream_files, hour_folders
from lakebox.send.sensor_sample import sensor_sample
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.registry import Stage
from lakebox_layer.status import rows_by_process
from lakebox_layer.stream_puts import KinesisPutRecords, send_all

DEADLINE_S = 900.0
TARGET_RECORDS_PER_S = 5_000
POLL_S = 0.2
DATASET = "sensors"
FUNCTIONS = ("batcher", "ingestion", "validation", "quality", "curation")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def provisioned() -> Iterator[tuple[EmulatorState, Target]]:
    """A fresh emulator with lakebox provisioned and warmed by one send of 10,000 readings."""
    with fresh_emulator() as state:
        target = Target.at(state.endpoint, state.region)
        log(f"provisioning on {state.endpoint}")
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        log("warming the batcher and the stages with 10000 readings")
        measured_send(target, 10_000, seed=1, emulator_pid=state.pid)
        wait_idle(target)
        yield state, target


def wait_idle(target: Target) -> None:
    """Wait until no stage queue holds a message: the warm-up's files curated too, so a run has the machine."""
    with QueueSampler(target).sampling() as queues:
        queues.wait_empty(list(Stage), time.perf_counter(), DEADLINE_S)


# -- CPU of the emulator and of each function's workers (from /proc) -----------------------------------------------

def cpu_by_process(emulator_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of the emulator and of each function worker, by process, with its owner."""
    found: dict[int, tuple[str, float]] = {}
    for pid in [emulator_pid, *descendants(emulator_pid)]:
        function = function_of(pid)
        owner = "emulator" if pid == emulator_pid else function.rsplit("-", 1)[-1] if function else None
        if owner is not None:
            found[pid] = (owner, _cpu_s(pid))
    return found


def peak_rss_mib(processes: dict[int, tuple[str, float]]) -> dict[str, float]:
    """The largest peak RSS (VmHWM) of each function's workers still running (a worker MiniStack replaced after a
    held batch is gone: figures are a floor)."""
    peaks: dict[str, float] = {}
    for pid, (owner, _) in processes.items():
        kib = vm_hwm_kib(pid)
        if owner != "emulator" and kib is not None:
            peaks[owner] = round(max(peaks.get(owner, 0.0), kib / 1024), 1)
    return dict(sorted(peaks.items()))


def cpu_spent(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds each owner's processes spent between two samples (a worker that exited in between is not
    seen: figures are a floor)."""
    spent = {owner: 0.0 for owner in ("emulator", *FUNCTIONS)}
    for pid, (owner, seconds) in after.items():
        spent[owner] = spent.get(owner, 0.0) + seconds - before.get(pid, (owner, 0.0))[1]
    return {owner: round(seconds, 2) for owner, seconds in spent.items()}


# -- one measured send ------------------------------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measured_send(target: Target, count: int, seed: int, emulator_pid: int) -> dict[str, Any]:
    """Send `count` readings, follow them to terminal status, and measure (see the module's docstring)."""
    sample = sensor_sample(count, seed=seed, invalid_every=10)
    entries = sample_entries(sample, DATASET)
    sent_at: list[float] = [0.0] * len(entries)
    done = 0

    def progress(sent: int, _total: int | None) -> None:
        nonlocal done
        now = time.monotonic()
        for position in range(done, sent):
            sent_at[position] = now
        done = sent

    cpu_before = cpu_by_process(emulator_pid)
    started_wall = datetime.now(UTC)
    started = time.monotonic()
    report = send_all(cast(KinesisPutRecords, target.kinesis), target.names.ingest_stream, entries,
                      deadline_s=120.0, on_progress=progress)
    send_s = time.monotonic() - started
    if not report.ok:
        raise SystemExit(f"the stream refused records: {report.to_json()['failed'][:3]}")
    read_committed = committed_reader(target)
    terminal_at: dict[str, float] = {}
    files: dict[str, StreamFile] = {}
    written_at: float | None = None
    deadline = started + DEADLINE_S
    while True:
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"not terminal in {DEADLINE_S} s: {len(terminal_at)} of {len(files)} files")
        written = all(int(read_committed(report.stream, shard) or -1) >= int(last)
                      for shard, (_, last) in report.shards.items())
        if written and written_at is None:
            written_at = now
        hours = hour_folders(started_wall - timedelta(minutes=1), datetime.now(UTC) + timedelta(minutes=1))
        for found in find_stream_files(target.clients.s3, target.settings.raw_bucket, DATASET, report.shards, hours):
            files.setdefault(found.raw.process_id, found)
        for pid in [pid for pid in files if pid not in terminal_at]:
            row = rows_by_process(target.metadata.stage_records(pid)).get(pid)
            if row is not None and row.status.terminal:
                terminal_at[pid] = now
        if written and len(terminal_at) == len(files):
            break
        time.sleep(POLL_S)
    cpu_after = cpu_by_process(emulator_pid)
    peak_mib = peak_rss_mib(cpu_after)

    # Each reading's latency: from the call that took it to its file's terminal status. The sample has no poison
    # lines, so entry n is reading n.
    position_of = {str(r["id"]): n for n, r in enumerate(sample.readings)}
    latencies: list[float] = []
    sizes: list[int] = []
    s3 = target.clients.s3
    for pid, stored in files.items():
        body = s3.get_object(Bucket=stored.raw.bucket, Key=stored.raw.key)["Body"].read()
        lines = body.splitlines()
        sizes.append(len(lines))
        for line in lines:
            latencies.append(terminal_at[pid] - sent_at[position_of[str(json.loads(line)["id"])]])
    total_s = max(terminal_at.values()) - started
    cpu = cpu_spent(cpu_before, cpu_after)
    return {
        "records": count, "send_s": round(send_s, 2), "send_records_per_s": round(count / send_s),
        "all_written_s": round((written_at or now) - started, 2), "all_terminal_s": round(total_s, 2),
        "records_per_s": round(count / total_s),
        "files": len(files), "records_per_file": {"min": min(sizes), "median": statistics.median(sizes),
                                                  "max": max(sizes)},
        "latency_s": {"p50": round(percentile(latencies, 0.5), 2), "p95": round(percentile(latencies, 0.95), 2),
                      "max": round(max(latencies), 2)},
        "in_files": len(latencies), "cpu_s": cpu, "peak_rss_mib": peak_mib,
    }


def cli_send(state: EmulatorState, target: Target, count: int, runs: int) -> dict[str, Any]:
    """`lakebox send --sample sensors --count N --wait --json` as a user runs it, timed whole, `runs` times (the
    pipeline idle before each), next to `lakebox --help`: the interpreter's start and the CLI's imports."""
    environment = {**os.environ, "AWS_ENDPOINT_URL": state.endpoint, "AWS_REGION": state.region}
    started = time.monotonic()
    subprocess.run(["lakebox", "--help"], env=environment, capture_output=True, timeout=60, check=True)
    start_s = time.monotonic() - started
    timings, files = [], []
    for run in range(runs):
        wait_idle(target)
        started = time.monotonic()
        done = subprocess.run(["lakebox", "send", "--sample", "sensors", "--count", str(count), "--seed", str(run),
                               "--invalid-every", "10", "--wait", "--json"], env=environment, capture_output=True,
                              text=True, timeout=DEADLINE_S, check=False)
        timings.append(time.monotonic() - started)
        if done.returncode != 0:
            raise SystemExit(f"lakebox send failed ({done.returncode}): {done.stderr[-2000:]}")
        output = json.loads(done.stdout)
        if {f["status"] for f in output["files"]} != {"processed"}:
            raise SystemExit(f"lakebox send --wait: files not processed: {output['files']}")
        files.append(len(output["files"]))
    median = statistics.median(timings)
    return {"records": count, "command_s": [round(t, 2) for t in timings], "records_per_s": round(count / median),
            "files": files, "interpreter_and_imports_s": round(start_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3, help="sends of each size")
    parser.add_argument("--cli-count", type=int, default=10_000, help="readings for the timed command (0: skip)")
    args = parser.parse_args()
    results: dict[str, Any] = {"sizes": {}}
    for size in args.sizes:
        runs = []
        for run in range(args.runs):
            with provisioned() as (state, target):
                log(f"sending {size} readings, run {run + 1} of {args.runs}")
                runs.append(measured_send(target, size, seed=size + run, emulator_pid=state.pid))
                log(json.dumps(runs[-1]))
            rates = [r["records_per_s"] for r in runs]
            results["sizes"][str(size)] = {"records_per_s": {"median": statistics.median(rates), "min": min(rates),
                                                             "max": max(rates)}, "runs": runs}
    if args.cli_count:
        with provisioned() as (state, target):
            log(f"lakebox send --sample sensors --count {args.cli_count} --wait, {args.runs} times")
            results["command"] = cli_send(state, target, args.cli_count, args.runs)
    results["target_records_per_s"] = TARGET_RECORDS_PER_S
    results["met"] = all(size["records_per_s"]["median"] >= TARGET_RECORDS_PER_S
                         for size in results["sizes"].values())
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
