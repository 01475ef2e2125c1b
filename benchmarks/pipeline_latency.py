"""Upload-to-terminal latency of the whole pipeline on the embedded emulator.

Starts MiniStack on a free port in a temporary state directory, provisions the topology, warms the functions, then
measures (1) small files uploaded one at a time, from PutObject to the terminal validation record and to the quality
record, and (2) a burst of files uploaded at once, until all are terminal. Prints one JSON object.

    python benchmarks/pipeline_latency.py [--files 20] [--burst 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from lakebox.emulator.embedded import EmbeddedEmulator
from lakebox.ingest.outcomes import wait_for_outcomes
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.records import RawObject

RECORD = b'{"id": "1", "timestamp": "2026-01-01T00:00:00Z", "data": {"v": 1}, "email": "a@example.com"}'


def put(target: Target, key: str) -> RawObject:
    bucket = target.settings.raw_bucket
    response = target.clients.s3.put_object(Bucket=bucket, Key=key, Body=RECORD)
    return RawObject(bucket, key, response["ETag"].strip('"'), len(RECORD), response.get("VersionId"))


def one_file(target: Target) -> tuple[float, float]:
    """Seconds from upload to the terminal status, and to the quality stage's record."""
    started = time.perf_counter()
    raw = put(target, f"input/bench/{uuid.uuid4().hex}.json")
    wait_for_outcomes(target, [raw], deadline_s=60, interval_s=0.01)
    terminal = time.perf_counter() - started
    wait_until(lambda: any(r["Stage"] == "quality" for r in target.metadata.stage_records(raw.process_id)),
               deadline_s=60, interval_s=0.01, what=f"the quality record of {raw.key}")
    return terminal, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--burst", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state_dir:
        emulator = EmbeddedEmulator(Path(state_dir))
        started = time.perf_counter()
        state, _ = emulator.start(port=None)
        emulator_start = time.perf_counter() - started
        try:
            target = Target.at(state.endpoint, state.region)
            started = time.perf_counter()
            Provisioner(Topology(target.names), target.session, state.endpoint).apply()
            provision = time.perf_counter() - started
            cold_terminal, cold_quality = one_file(target)
            for _ in range(3):
                one_file(target)
            warm = [one_file(target) for _ in range(args.files)]
            terminal = [t for t, _ in warm]
            quality = [q for _, q in warm]
            started = time.perf_counter()
            burst = [put(target, f"input/burst/{uuid.uuid4().hex}.json") for _ in range(args.burst)]
            wait_for_outcomes(target, burst, deadline_s=300, interval_s=0.05)
            burst_s = time.perf_counter() - started
        finally:
            emulator.stop()
    print(json.dumps({
        "emulator_start_s": round(emulator_start, 2),
        "provision_s": round(provision, 2),
        "cold_first_file_terminal_s": round(cold_terminal, 3),
        "cold_first_file_quality_s": round(cold_quality, 3),
        "warm_files": args.files,
        "warm_terminal_p50_s": round(statistics.median(terminal), 3),
        "warm_terminal_p95_s": round(percentile(terminal, 0.95), 3),
        "warm_quality_p50_s": round(statistics.median(quality), 3),
        "warm_quality_p95_s": round(percentile(quality, 0.95), 3),
        "burst_files": args.burst,
        "burst_all_terminal_s": round(burst_s, 2),
        "burst_files_per_s": round(args.burst / burst_s, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
