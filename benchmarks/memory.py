"""Peak memory of every pipeline function against the size of the file it handles.

For each format (`csv`: the `orders` dataset, record mode under contracts/orders.json; `jsonl`: the `events`
dataset, which has no contract, so structural checks in file mode and curation infers the types; `csv.gz`: the
orders CSV gzipped, its size counted before compression), each size (MiB)
and each way of uploading (`ingest`: `lakebox ingest`'s `upload_file`; `multipart`: a plain multipart PUT in 8 MiB
parts, as the AWS CLI sends it, by `aws s3 cp` where the CLI is installed, else the same three S3 calls through
boto3), one file goes through a FRESH MiniStack: start, provision, upload, wait for the file's terminal status and
its curation record. Every Lambda worker of the emulator is sampled while it runs (VmHWM in /proc, the process's
peak RSS since it started), so each figure is that one file's peak, over every worker of the function.

MiniStack's "Max Memory Used" in REPORT lines is not used: it is the emulator's RUSAGE_CHILDREN peak, the largest
of its children that have exited (warm workers never have), the same figure for every function.

Prints a table (peak MiB per function, format, upload way and size; the ratio of the largest size to the smallest
and whether it is within --max-ratio), or JSON with --json (the table then goes to stderr). Linux only (/proc).

    python benchmarks/memory.py [--sizes 1,10,100] [--formats csv,jsonl] [--ways ingest,multipart] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orders_data import MIB, SEED, generate_orders

from lakebox.emulator.embedded import EmbeddedEmulator
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.ingest.uploads import Upload, raw_key, upload
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.records import RawObject

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

FUNCTIONS = ("ingestion", "validation", "quality", "curation")
DATASETS = {"csv": ("orders", "csv"), "jsonl": ("events", "jsonl"), "csv.gz": ("orders", "csv.gz")}
WAYS = ("ingest", "multipart")
PART_BYTES = 8 * MIB  # the AWS CLI's default multipart chunk size (and threshold)
SAMPLE_S = 0.05
MAX_RATIO = 1.5
PROC = Path("/proc")


def log(message: str) -> None:
    print(f"[memory-bench] {message}", file=sys.stderr, flush=True)


# -- data -----------------------------------------------------------------------------------------------------------


def generate_events(path: Path, seed: int, target_bytes: int) -> dict[str, Any]:
    """JSON Lines events until the file reaches `target_bytes`: scalars of each inferable type, a nested object and
    an array (stored as JSON text), a field present in some records only."""
    rng = random.Random(seed)  # noqa: S311 - test data, seeded on purpose
    start = datetime(2026, 11, 1, tzinfo=UTC)
    written = records = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target_bytes:
            lines = []
            for _ in range(256):
                records += 1
                event: dict[str, Any] = {
                    "id": records,
                    "timestamp": (start + timedelta(seconds=rng.randrange(28 * 86_400))).isoformat(),
                    "kind": rng.choice(("view", "click", "purchase", "refund")),
                    "user": f"user{rng.randrange(100_000)}@example.com",
                    "score": round(rng.uniform(0, 100), 3),
                    "ok": rng.random() < 0.9,
                    "day": (start + timedelta(days=rng.randrange(28))).date().isoformat(),
                    "data": {"page": f"/p/{rng.randrange(500)}", "ms": rng.randrange(5_000)},
                    "tags": rng.sample(("a", "b", "c", "d", "e"), rng.randrange(3)),
                }
                if rng.random() < 0.1:
                    event["note"] = "retry after timeout"
                lines.append(json.dumps(event))
            text = "\n".join(lines) + "\n"
            out.write(text)
            written += len(text)
    return {"records": records, "bytes": path.stat().st_size}


def generate(scratch: Path, file_format: str, size_mib: int) -> tuple[Path, dict[str, Any]]:
    """The file of `size_mib` (before compression, for `csv.gz`), and what it holds."""
    path = scratch / f"{DATASETS[file_format][0]}-{size_mib}mb.{DATASETS[file_format][1]}"
    if file_format == "csv.gz":
        plain, held = generate(scratch, "csv", size_mib)
        with plain.open("rb") as source, gzip.open(path, "wb", compresslevel=1) as target:
            shutil.copyfileobj(source, target, 8 * MIB)
        plain.unlink()
        return path, {**held, "uncompressed_bytes": held["bytes"], "bytes": path.stat().st_size}
    if file_format == "csv":
        return path, generate_orders(path, SEED + size_mib, target_bytes=size_mib * MIB)
    return path, generate_events(path, SEED + size_mib, size_mib * MIB)


# -- the emulator's Lambda workers --------------------------------------------------------------------------------


def descendants(root: int) -> list[int]:
    """Every process under `root` (from each process's parent in /proc/<pid>/stat)."""
    parents: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        for child in parents.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def function_of(pid: int) -> str | None:
    """The Lambda function a worker process runs (its AWS_LAMBDA_FUNCTION_NAME), None for anything else."""
    try:
        environ = (PROC / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for entry in environ:
        if entry.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            return entry.split(b"=", 1)[1].decode() or None
    return None


def worker_folder(pid: int) -> Path | None:
    """The folder a MiniStack worker runs from (its `_worker.py`'s), which the emulator leaves behind when stopped."""
    try:
        arguments = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    scripts = [Path(a.decode()) for a in arguments if a.endswith(b"_worker.py")]
    return next((s.parent for s in scripts if s.parent.name.startswith("ministack-lambda-")), None)


def vm_hwm_kib(pid: int) -> int | None:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakWatch:
    """Samples every Lambda worker under the emulator: the largest VmHWM of each (pid, function) seen while it ran,
    so a worker that exits before the end still counts."""

    def __init__(self, emulator_pid: int) -> None:
        self.root = emulator_pid
        self.peaks: dict[tuple[int, str], int] = {}
        self._functions: dict[int, str | None] = {}  # None: not a worker (yet)
        self.folders: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        for pid in descendants(self.root):
            # Read until found: a worker caught between fork and exec still has the emulator's environment.
            function = self._functions.get(pid) or function_of(pid)
            self._functions[pid] = function
            hwm = vm_hwm_kib(pid) if function else None
            if function and hwm:
                self.peaks[(pid, function)] = max(hwm, self.peaks.get((pid, function), 0))
                if (folder := worker_folder(pid)) is not None:
                    self.folders.add(folder)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sample()

    def __enter__(self) -> PeakWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def by_function(self, names: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Per stage: the peak MiB over its workers, and how many workers it had."""
        found: dict[str, dict[str, Any]] = {}
        for stage, name in names.items():
            peaks = [kib for (_, function), kib in self.peaks.items() if function == name]
            found[stage] = {"peak_mib": round(max(peaks) / 1024, 1) if peaks else None, "workers": len(peaks)}
        return found


# -- uploads --------------------------------------------------------------------------------------------------------


def aws_cli() -> str | None:
    path = shutil.which("aws")
    if path is None:
        return None
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip() if done.returncode == 0 else None


def multipart_put(target: Target, path: Path, key: str, use_cli: bool) -> None:
    """The file as a plain multipart upload in 8 MiB parts: `aws s3 cp`, or its three calls through boto3."""
    bucket = target.settings.raw_bucket
    if use_cli and target.endpoint is not None:
        credentials = target.session.get_credentials()
        if credentials is None:
            raise RuntimeError("the session has no credentials for the emulator")
        env = {**os.environ, "AWS_ACCESS_KEY_ID": credentials.access_key,
               "AWS_SECRET_ACCESS_KEY": credentials.secret_key, "AWS_DEFAULT_REGION": target.region}
        subprocess.run(["aws", "s3", "cp", str(path), f"s3://{bucket}/{key}", "--endpoint-url", target.endpoint,
                        "--only-show-errors"], env=env, check=True)
        return
    s3 = target.clients.s3
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts: list[CompletedPartTypeDef] = []
    with path.open("rb") as stream:
        while chunk := stream.read(PART_BYTES):
            number = len(parts) + 1
            etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk)["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})


def send(target: Target, path: Path, dataset: str, way: str, use_cli: bool) -> Upload:
    relative = f"{uuid.uuid4().hex[:8]}-{path.name}"
    if way == "ingest":
        [done] = upload(target, [(path, relative)], dataset)
        return done
    key = raw_key(relative, dataset)
    multipart_put(target, path, key, use_cli)
    head = target.clients.s3.head_object(Bucket=target.settings.raw_bucket, Key=key)
    return Upload(path, RawObject(target.settings.raw_bucket, key, head["ETag"].strip('"'), head["ContentLength"],
                                  head.get("VersionId")))


# -- one file through a fresh emulator ------------------------------------------------------------------------------


def run_one(scratch: Path, path: Path, dataset: str, way: str, use_cli: bool, deadline_s: float) -> dict[str, Any]:
    state_dir = Path(tempfile.mkdtemp(prefix="emulator-", dir=scratch))
    emulator = EmbeddedEmulator(state_dir)
    state, _ = emulator.start(port=None)
    watch = PeakWatch(state.pid)
    try:
        target = Target.at(state.endpoint, state.region)
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        names = {stage: target.names.function(stage) for stage in FUNCTIONS}
        with watch:
            started = time.perf_counter()
            done = send(target, path, dataset, way, use_cli)
            uploaded_s = time.perf_counter() - started
            [row] = wait_for_outcomes(target, [done.raw], deadline_s=deadline_s, interval_s=0.25).values()
            records: list[dict[str, Any]] = []

            def curated() -> bool:
                nonlocal records
                records = target.metadata.stage_records(done.raw.process_id)
                return {"quality", "curation"} <= {r.get("Stage") for r in records}

            if row.status.value == "processed":
                wait_until(curated, deadline_s=deadline_s, interval_s=0.25, what=f"the curation of {done.raw.key}")
            elapsed = time.perf_counter() - started
        curation = next((r for r in records if r.get("Stage") == "curation"), {})
        return {"status": row.status.value, "records_total": row.records_total, "records_valid": row.records_valid,
                "curation": curation.get("CurationStatus"), "curated_rows": int(curation.get("CuratedRows") or 0),
                "curation_reason": curation.get("Reason"), "upload_s": round(uploaded_s, 1),
                "pipeline_s": round(elapsed, 1), "functions": watch.by_function(names)}
    finally:
        emulator.stop()
        for folder in watch.folders | {state_dir}:  # the workers' extracted code and layers, about 100 MB each
            shutil.rmtree(folder, ignore_errors=True)


# -- report ---------------------------------------------------------------------------------------------------------


def ratios(runs: list[dict[str, Any]], sizes: list[int], max_ratio: float) -> list[dict[str, Any]]:
    """Per function, format and way: the peaks by size and the largest size's peak over the smallest's."""
    found = []
    keys = sorted({(r["format"], r["way"]) for r in runs})
    for stage in FUNCTIONS:
        for file_format, way in keys:
            peaks = {r["size_mib"]: r["functions"][stage]["peak_mib"] for r in runs
                     if (r["format"], r["way"]) == (file_format, way)}
            low, high = peaks.get(sizes[0]), peaks.get(sizes[-1])
            ratio = round(high / low, 2) if low and high and len(sizes) > 1 else None
            found.append({"function": stage, "format": file_format, "way": way,
                          "peak_mib": {str(s): peaks.get(s) for s in sizes}, "ratio": ratio,
                          "within": None if ratio is None else ratio <= max_ratio})
    return found


def table(report: dict[str, Any]) -> str:
    sizes = report["sizes_mib"]
    label = f"{sizes[-1]}/{sizes[0]}"
    lines = [f"peak RSS (MiB) of each function's workers; upload 'multipart' by {report['multipart_by']}",
             f"{'function':<11} {'format':<6} {'way':<9} " + " ".join(f"{f'{s} MB':>8}" for s in sizes)
             + f" {label:>8}  <= {report['max_ratio']}x"]
    for row in report["ratios"]:
        peaks = " ".join(f"{'-' if row['peak_mib'][str(s)] is None else row['peak_mib'][str(s)]:>8}" for s in sizes)
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        verdict = {True: "yes", False: "NO", None: "-"}[row["within"]]
        lines.append(f"{row['function']:<11} {row['format']:<6} {row['way']:<9} {peaks} {ratio:>8}  {verdict}")
    for run in report["runs"]:
        lines.append(f"{run['format']:<5} {run['size_mib']:>4} MB {run['way']:<9} {run['records']:>9} records: "
                     f"{run['status']}, curation {run['curation']} ({run['curated_rows']} rows), upload "
                     f"{run['upload_s']} s, to curated {run['pipeline_s']} s"
                     + (f"; {run['curation_reason']}" if run["curation_reason"] else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="file sizes in MiB, comma-separated")
    parser.add_argument("--formats", default="csv,jsonl", help="csv, jsonl and csv.gz (the orders CSV gzipped)")
    parser.add_argument("--ways", default="ingest,multipart", help="ingest, multipart or both")
    parser.add_argument("--max-ratio", type=float, default=MAX_RATIO, help="the target: largest/smallest peak")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds to wait for one file's outcome")
    parser.add_argument("--json", action="store_true", help="print JSON (the table then goes to stderr)")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    formats = [f for f in args.formats.split(",") if f.strip()]
    ways = [w for w in args.ways.split(",") if w.strip()]
    if not sizes or min(sizes) <= 0 or not set(formats) <= set(DATASETS) or not set(ways) <= set(WAYS):
        parser.error("--sizes needs positive integers, --formats csv/jsonl/csv.gz, --ways ingest/multipart")
    if not (PROC / "self" / "status").is_file():
        parser.error("needs /proc (Linux) to read the workers' peak RSS")
    cli = aws_cli()
    runs = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lakebox-memory-bench-") as scratch:
        for file_format in formats:
            dataset = DATASETS[file_format][0]
            for size in sizes:
                path, facts = generate(Path(scratch), file_format, size)
                for way in ways:
                    run = run_one(Path(scratch), path, dataset, way, cli is not None, args.deadline)
                    run.update(format=file_format, dataset=dataset, size_mib=size, way=way, bytes=facts["bytes"],
                               records=facts["records"])
                    log(f"{file_format} {size} MB {way}: {run['status']}, curation {run['curation']}, "
                        + ", ".join(f"{s} {f['peak_mib']} MiB" for s, f in run["functions"].items()))
                    runs.append(run)
                path.unlink()
    report: dict[str, Any] = {
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()},
        "multipart_by": cli or "boto3 multipart calls (no aws CLI)", "part_bytes": PART_BYTES,
        "sizes_mib": sizes, "max_ratio": args.max_ratio, "seconds": round(time.perf_counter() - started, 1),
        "runs": runs, "ratios": ratios(runs, sizes, args.max_ratio),
    }
    if args.json:
        print(table(report), file=sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print(table(report))


if __name__ == "__main__":
    main()
