"""Burst throughput of the whole pipeline against the bare chain, in one run, on fresh emulators.

Starts an emulator for the bare chain (`bare_chain.py`), drops a burst of small files on it and times the drain;
stops it; starts another for lakebox, provisions it, warms each function with one file, drops a burst of mixed small
files (valid and invalid, CSV, JSON and JSON Lines, three datasets) at once, and times it until every file has its
terminal status and, separately, until every processed file is curated. Prints one JSON object with both rates, the
ratios and, for lakebox, a profile of the burst: CPU seconds per file of each function's workers and of the emulator
itself (from /proc), and how long files waited, on average, in each stage queue (the queues' depths sampled).

    python benchmarks/throughput.py [--files 500] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bare_chain

from lakebox.emulator.embedded import EmbeddedEmulator, EmulatorState
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.registry import Stage
from lakebox_layer.status import FileRow

DEADLINE_S = 600.0
_TICK = os.sysconf("SC_CLK_TCK")


# -- the files ------------------------------------------------------------------------------------------------------

def default_json(n: int, valid: bool) -> bytes:
    record: dict[str, Any] = {"id": str(n), "timestamp": "2026-01-01T00:00:00Z", "data": {"n": n},
                              "email": f"u{n}@example.com"}
    if not valid:
        del record["timestamp"]
    return json.dumps(record).encode()


def orders_csv(n: int, valid: bool) -> bytes:
    rows = ["order_id,customer_email,amount,currency,ordered_at"]
    for i in range(5):
        amount = f"{10 + i}.50" if valid else "-1"
        rows.append(f"{n * 10 + i + 1},c{n}@example.com,{amount},EUR,2026-01-0{1 + i % 3}T10:00:00Z")
    return ("\n".join(rows) + "\n").encode()


def _events(n: int, valid: bool) -> tuple[str, bytes]:
    if valid:
        lines = [json.dumps({"event": "click", "n": n, "i": i, "at": "2026-01-02T00:00:00Z"}) for i in range(5)]
        return "jsonl", ("\n".join(lines) + "\n").encode()
    return "csv", f"a,b,c\n1,2,3\n{n},5\n".encode()  # a short row: structural checks refuse the file


def mixed_file(n: int) -> tuple[str, bytes]:
    """The n-th file of a burst: a key under its dataset and its content, in a cycle of ten kinds."""
    kind = n % 10
    name = f"{uuid.uuid4().hex[:12]}-{n:04d}"
    if kind < 4:
        return f"input/{name}.json", default_json(n, valid=kind != 3)
    if kind < 7:
        return f"input/orders/{name}.csv", orders_csv(n, valid=kind != 6)
    extension, content = _events(n, valid=kind != 9)
    return f"input/events/{name}.{extension}", content


# -- profiling ------------------------------------------------------------------------------------------------------

def _cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process (all its threads) so far; 0 when it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _workers(parent: int) -> dict[int, str]:
    """The emulator's Lambda workers (pid -> function), found by their working directory's name."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        script = next((part.decode() for part in command if b"ministack-lambda-" in part), None)
        if script is not None:
            found[int(entry.name)] = script.split("ministack-lambda-", 1)[1].rsplit("-", 1)[0]
    return found


def cpu_snapshot(emulator_pid: int) -> dict[str, float]:
    """CPU seconds so far of the emulator and of each function's workers (summed over its pool)."""
    cpu = {"emulator": _cpu_s(emulator_pid)}
    for pid, function in _workers(emulator_pid).items():
        cpu[function] = cpu.get(function, 0.0) + _cpu_s(pid)
    return cpu


class QueueSampler:
    """Samples each stage queue while a burst drains. The mean time a file waits visible in a queue is the integral
    of its visible depth over time divided by the files that went through it (Little's law); a set of stages is done
    when their queues hold nothing, visible or in flight (a stage publishes before its message is deleted)."""

    def __init__(self, target: Target, interval_s: float = 0.1) -> None:
        sqs = target.clients.client("sqs")
        self._sqs = sqs
        self._urls = {stage.value: sqs.get_queue_url(QueueName=target.names.stage_queue(stage.value))["QueueUrl"]
                      for stage in Stage if stage.spec.reads_queue}
        self.interval_s = interval_s
        self.waiting_s: dict[str, float] = dict.fromkeys(self._urls, 0.0)  # visible messages integrated over time
        self.peak: dict[str, int] = dict.fromkeys(self._urls, 0)
        self._held: dict[str, int] = dict.fromkeys(self._urls, -1)
        self._sampled_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.wait(self.interval_s):
            held = {}
            for stage, url in self._urls.items():
                attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
                depth = int(attributes["ApproximateNumberOfMessages"])
                held[stage] = depth + int(attributes["ApproximateNumberOfMessagesNotVisible"])
                self.waiting_s[stage] += depth * (time.perf_counter() - last)
                self.peak[stage] = max(self.peak[stage], depth)
            last = time.perf_counter()
            self._held, self._sampled_at = held, last

    def wait_empty(self, stages: list[Stage], after: float, deadline_s: float) -> float:
        """When a sample taken after `after` first found the stages' queues empty."""
        def empty() -> bool:
            return self._sampled_at > after and all(self._held.get(stage.value, 0) == 0 for stage in stages)

        wait_until(empty, deadline_s=deadline_s, interval_s=self.interval_s / 4,
                   what=f"empty {', '.join(s.value for s in stages)} queues")
        return self._sampled_at

    @contextmanager
    def sampling(self) -> Iterator[QueueSampler]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


# -- the runs -------------------------------------------------------------------------------------------------------

@contextmanager
def fresh_emulator() -> Iterator[EmulatorState]:
    with tempfile.TemporaryDirectory() as state_dir:
        emulator = EmbeddedEmulator(Path(state_dir))
        state, _ = emulator.start(port=None)
        try:
            yield state
        finally:
            emulator.stop()


def run_bare(files: int) -> dict[str, Any]:
    with fresh_emulator() as state:
        return bare_chain.burst(bare_chain.deploy(state.endpoint, state.region), files)


def put_raw(target: Target, key: str, content: bytes) -> Upload:
    response = target.clients.s3.put_object(Bucket=target.settings.raw_bucket, Key=key, Body=content)
    raw = RawObject(target.settings.raw_bucket, key, response["ETag"].strip('"'), len(content),
                    response.get("VersionId"))
    return Upload(Path(key), raw)


def _wait_curated(target: Target, rows: dict[str, FileRow], deadline_s: float) -> None:
    processed = {pid for pid, row in rows.items() if row.status is FileStatus.PROCESSED}

    def curated() -> bool:
        done = {r["ProcessId"] for r in target.metadata.file_records(target.settings.project)
                if str(r["Timestamp"]).endswith(f"-{Stage.CURATION.value}")}
        return processed <= done

    wait_until(curated, deadline_s=deadline_s, interval_s=0.25, what=f"curation of {len(processed)} files")


def _drop(target: Target, contents: list[tuple[str, bytes]]) -> list[Upload]:
    """Upload back to back with one client, as the bare chain's burst is uploaded."""
    return [put_raw(target, key, content) for key, content in contents]


def run_lakebox(files: int) -> dict[str, Any]:
    with fresh_emulator() as state:
        target = Target.at(state.endpoint, state.region)
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        # One file of each kind through every stage first: the functions' cold starts are not the burst's.
        warm = _drop(target, [mixed_file(n) for n in range(10)])
        _wait_curated(target, wait_for_outcomes(target, [u.raw for u in warm], deadline_s=120, interval_s=0.1), 120)
        contents = [mixed_file(n) for n in range(files)]
        before = cpu_snapshot(state.pid)
        with QueueSampler(target).sampling() as queues:
            started = time.perf_counter()
            uploads = _drop(target, contents)
            uploaded = time.perf_counter() - started
            # Timed on the queues, which cost the emulator little to sample; the outcomes are checked after.
            terminal = queues.wait_empty([Stage.INGESTION, Stage.VALIDATION], started, DEADLINE_S) - started
            curated = queues.wait_empty(list(Stage), started, DEADLINE_S) - started
        after = cpu_snapshot(state.pid)
        rows = wait_for_outcomes(target, [u.raw for u in uploads], deadline_s=60, interval_s=0.5)
        _wait_curated(target, rows, 60)
    prefix = f"{target.names.project}-"
    cpu = {name.removeprefix(prefix): round((after.get(name, 0.0) - before.get(name, 0.0)) * 1000 / files, 1)
           for name in after}
    processed = sum(1 for row in rows.values() if row.status is FileStatus.PROCESSED)
    passed = {Stage.INGESTION.value: files, Stage.VALIDATION.value: files, Stage.QUALITY.value: files,
              Stage.CURATION.value: processed}
    return {
        "files": files, "upload_s": round(uploaded, 2),
        "outcomes": dict(Counter(row.status.value for row in rows.values())),
        "all_terminal_s": round(terminal, 2), "terminal_files_per_s": round(files / terminal, 1),
        "all_curated_s": round(curated, 2), "curated_files_per_s": round(files / curated, 1),
        "cpu_ms_per_file": cpu,
        "queue_wait_s_per_file": {stage: round(queues.waiting_s[stage] / max(1, count), 2)
                                  for stage, count in passed.items()},
        "queue_peak_depth": dict(queues.peak),
    }


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "min": round(min(values), 1),
            "max": round(max(values), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=1, help="bare chain then lakebox, this many times")
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    for _ in range(args.runs):
        bare = run_bare(args.files)
        lakebox = run_lakebox(args.files)
        runs.append({
            "bare_chain": bare, "lakebox": lakebox,
            "ratio_terminal": round(lakebox["terminal_files_per_s"] / bare["files_per_s"], 2),
            "ratio_curated": round(lakebox["curated_files_per_s"] / bare["files_per_s"], 2),
        })
    figure: Callable[[str], dict[str, float]] = lambda key: spread([run[key] for run in runs])  # noqa: E731
    summary = {
        "bare_files_per_s": spread([run["bare_chain"]["files_per_s"] for run in runs]),
        "terminal_files_per_s": spread([run["lakebox"]["terminal_files_per_s"] for run in runs]),
        "curated_files_per_s": spread([run["lakebox"]["curated_files_per_s"] for run in runs]),
        "ratio_terminal": figure("ratio_terminal"), "ratio_curated": figure("ratio_curated"),
    }
    print(json.dumps({"files": args.files, "cores": os.cpu_count(), "runs": runs, "summary": summary}, indent=2))
    print(readme_rows(args.files, len(runs), summary), file=sys.stderr)


TIMES = "\N{MULTIPLICATION SIGN}"


def readme_rows(files: int, runs: int, summary: dict[str, dict[str, float]]) -> str:
    """README's throughput rows, from this run's summary (the JSON goes to stdout, these to stderr)."""
    def cell(rate: str, ratio: str) -> str:
        r, q = summary[rate], summary[ratio]
        return (f"{r['median']} files/s ({r['min']}-{r['max']}): {q['median']}{TIMES} the bare chain "
                f"({q['min']}-{q['max']}{TIMES})")
    bare = summary["bare_files_per_s"]
    return "\n".join([
        f"| `benchmarks/throughput.py --runs {runs}`: {files} mixed small files (3 datasets, CSV, JSON, JSON Lines, "
        f"30 % invalid) uploaded back to back, all terminal (median, min-max); the bare chain in the same run "
        f"{bare['median']} files/s ({bare['min']}-{bare['max']}) | {cell('terminal_files_per_s', 'ratio_terminal')} |",
        f"| the same burst, every processed file curated too | {cell('curated_files_per_s', 'ratio_curated')} |",
    ])


if __name__ == "__main__":
    main()
