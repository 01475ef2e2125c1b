"""Per-file cost as the lake fills: does the 2,000th file cost what the first did, and does `lakebox status` still
answer at once?

Starts a fresh embedded emulator, provisions it, warms every function's workers with one wave (not counted), then
pushes the small mixed files of `throughput.py` (valid and invalid, CSV, JSON and JSON Lines, three datasets) in
waves: each wave uploads its files back to back and waits until every one is finished as `lakebox reconcile` means
it (a terminal status, recorded by quality and, for a processed file, by curation). A wave is timed from its first
upload to its last file finished, and the CPU seconds the emulator and the functions' workers spent on it are read
from /proc. Waiting costs the same in every wave: each unfinished file is looked up by its process id (a Query of
one partition), never through the status index, whose reading grows with the lake.

At the end `lakebox status` is timed on the full lake: in this process (the first page, the next page, every file)
and as a user runs it (a new interpreter each time: the default page, `--next`, `--json --limit 50`, `--all`,
`--json`, and `--help` for the interpreter's own start-up). Prints one JSON object.

    python benchmarks/history.py [--files 2000] [--wave 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from throughput import cpu_snapshot, fresh_emulator, mixed_file, put_raw

from lakebox.ingest.uploads import Upload
from lakebox.lake.pages import DEFAULT_PAGE_FILES, PageToken, every_row, read_page
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.status import FileRow, missing, rows_by_process

WAVE_DEADLINE_S = 300.0
POLL_S = 0.25
# A round of polling stops at this many unfinished files: files finish roughly in upload order, so the rest are
# almost surely unfinished too, and asking about them would only load the emulator.
PROBE = 3


def _finished_row(target: Target, process_id: str) -> FileRow | None:
    """The file's status row when it is finished, else None: one Query of its own partition."""
    row = rows_by_process(target.metadata.stage_records(process_id)).get(process_id)
    return row if row is not None and missing(row) is None else None


def wait_finished(target: Target, uploads: list[Upload], deadline_s: float = WAVE_DEADLINE_S) -> dict[str, FileRow]:
    """Wait until every upload is finished; its row by process id."""
    pending = [upload.raw for upload in uploads]
    done: dict[str, FileRow] = {}

    def all_finished() -> bool:
        nonlocal pending
        unfinished = 0
        for raw in list(pending):
            row = _finished_row(target, raw.process_id)
            if row is None:
                unfinished += 1
                if unfinished == PROBE:
                    break
                continue
            done[raw.process_id] = row
            pending.remove(raw)
        return not pending

    wait_until(all_finished, deadline_s=deadline_s, interval_s=POLL_S,
               what=f"{len(uploads)} files finished (terminal, recorded by quality and curation)",
               on_timeout=lambda: f"; {len(pending)} not finished, first {pending[0].key if pending else ''}")
    return done


def run_wave(target: Target, emulator_pid: int, first: int, files: int) -> dict[str, Any]:
    contents = [mixed_file(n) for n in range(first, first + files)]
    before = cpu_snapshot(emulator_pid)
    started = time.perf_counter()
    uploads = [put_raw(target, key, content) for key, content in contents]
    uploaded = time.perf_counter() - started
    rows = wait_finished(target, uploads)
    seconds = time.perf_counter() - started
    after = cpu_snapshot(emulator_pid)
    cpu = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    return {
        "files_before": first, "seconds": round(seconds, 2), "upload_s": round(uploaded, 2),
        "cpu_s": round(sum(cpu.values()), 2), "emulator_cpu_s": round(cpu.get("emulator", 0.0), 2),
        "outcomes": dict(Counter(row.status.value for row in rows.values())),
    }


def timed(action: Callable[[], object], repeat: int = 3) -> float:
    """The median seconds of a few runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def status_in_process(target: Target) -> dict[str, Any]:
    pipeline = target.project
    first = read_page(target.metadata, pipeline, DEFAULT_PAGE_FILES)
    assert first.next_token is not None, "a lake this full has a second page"
    token = PageToken.decode(first.next_token)
    return {
        "first_page_s": timed(lambda: read_page(target.metadata, pipeline, DEFAULT_PAGE_FILES)),
        "next_page_s": timed(lambda: read_page(target.metadata, pipeline, DEFAULT_PAGE_FILES, token)),
        "every_file_s": timed(lambda: every_row(target.metadata, pipeline)),
        "files": len(every_row(target.metadata, pipeline)),
    }


def status_as_run(target: Target) -> dict[str, Any]:
    """`lakebox status` in a new interpreter each time, as a user runs it; wall seconds, median of three."""
    assert target.endpoint is not None
    with tempfile.TemporaryDirectory() as state:
        environment = {**os.environ, "AWS_ENDPOINT_URL": target.endpoint, "AWS_REGION": target.region,
                       "LAKEBOX_STATE_DIR": state, "LAKEBOX_PROJECT": target.project}
        outputs: dict[str, str] = {}

        def command(*args: str) -> Callable[[], object]:
            def run() -> None:
                result = subprocess.run([sys.executable, "-m", "lakebox.cli", *args], env=environment,
                                        capture_output=True, text=True, timeout=120, check=False)
                assert result.returncode == 0, result.stderr
                outputs[" ".join(args)] = result.stdout
            return run

        figures = {
            "interpreter_and_imports_s (--help)": timed(command("--help")),
            "status_s": timed(command("status")),
            "status_next_s": timed(command("status", "--next"), repeat=1),
            "status_json_limit_50_s": timed(command("status", "--json", "--limit", "50")),
            "status_all_s": timed(command("status", "--all")),
            "status_json_every_file_s": timed(command("status", "--json")),
        }
    assert "next page: lakebox status --next" in outputs["status"], outputs["status"][-500:]
    assert len(json.loads(outputs["status --json --limit 50"])["files"]) == DEFAULT_PAGE_FILES
    return figures


def fitted_ratio(values: list[float]) -> float:
    """The last wave over the first as a straight line through every wave puts them: one noisy wave moves it
    little, a cost that grows with the lake moves it all the same."""
    fit = statistics.linear_regression(range(len(values)), values)
    return round((fit.intercept + fit.slope * (len(values) - 1)) / fit.intercept, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000, help="files in all, after the warm-up")
    parser.add_argument("--wave", type=int, default=100, help="files per wave")
    args = parser.parse_args()
    if args.files < 2 * args.wave or args.files % args.wave:
        parser.error("--files must be a multiple of --wave, and at least two waves")
    with fresh_emulator() as state:
        target = Target.at(state.endpoint, state.region)
        started = time.perf_counter()
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        provision_s = time.perf_counter() - started
        # A wave first that counts for nothing: every worker of every function starts cold in it (a stage runs up
        # to four at once), so the first counted wave is as warm as the last.
        warm = [put_raw(target, f"input/warm/{n:04d}-{key.rsplit('/', 1)[-1]}", content)
                for n, (key, content) in enumerate(mixed_file(n) for n in range(args.wave))]
        wait_finished(target, warm)
        waves = []
        for first in range(0, args.files, args.wave):
            waves.append(run_wave(target, state.pid, first, args.wave))
            print(json.dumps({"wave": len(waves), **waves[-1]}), file=sys.stderr, flush=True)
        in_process = status_in_process(target)
        as_run = status_as_run(target)
    seconds = [wave["seconds"] for wave in waves]
    cpu = [wave["cpu_s"] for wave in waves]
    three = min(3, len(waves) // 2)
    print(json.dumps({
        "files": args.files, "wave": args.wave, "cores": os.cpu_count(), "provision_s": round(provision_s, 1),
        "wave_seconds": seconds,
        "wave_cpu_s": cpu,
        "last_over_first": round(seconds[-1] / seconds[0], 2),
        "last_over_first_cpu": round(cpu[-1] / cpu[0], 2),
        f"last{three}_over_first{three}_median": round(statistics.median(seconds[-three:]) /
                                                      statistics.median(seconds[:three]), 2),
        f"last{three}_over_first{three}_median_cpu": round(statistics.median(cpu[-three:]) /
                                                          statistics.median(cpu[:three]), 2),
        "fitted_last_over_first": fitted_ratio(seconds),
        "fitted_last_over_first_cpu": fitted_ratio(cpu),
        "waves": waves,
        "status_in_process": in_process,
        "status_as_run": as_run,
    }, indent=2))


if __name__ == "__main__":
    main()
