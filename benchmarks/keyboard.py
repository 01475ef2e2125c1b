"""What a developer waits for at the keyboard: `lakebox up` and the README's `pytest`, each as its command runs.

`lakebox up` is run as a process on a free port with a state directory of its own: first with an empty zip cache
(the packages built, as on a fresh clone), then, once `down`, with the cache it filled (a cold emulator, warm
caches), then again with nothing to change (median of `--runs`). With `--suite`, the README's `pytest` too (its wall
time and what it ran): it takes a minute or two and wants a quiet machine. Before and after, the host's speed
(`yardstick_cpu_s`: the CPU seconds of importing boto3), which every figure follows. Prints one JSON object.

    python benchmarks/keyboard.py [--runs 3] [--suite]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAKEBOX = str(Path(sys.executable).with_name("lakebox"))


def _timed(command: list[str], environment: dict[str, str], cwd: Path = ROOT) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed, done.stdout + done.stderr


def up_times(runs: int) -> dict[str, Any]:
    """`lakebox up` from an empty zip cache, from a warm one on a cold emulator, and with nothing to change."""
    with tempfile.TemporaryDirectory() as scratch:
        environment = {key: value for key, value in os.environ.items() if key != "AWS_ENDPOINT_URL"}
        environment.update(LAKEBOX_STATE_DIR=f"{scratch}/state", LAKEBOX_WHEEL_CACHE=f"{scratch}/cache")
        up = [LAKEBOX, "up", "--port", "0"]
        try:
            empty_cache, _ = _timed(up, environment)
            _timed([LAKEBOX, "down"], environment)
            warm_cache, _ = _timed(up, environment)
            again = []
            for _ in range(runs):
                elapsed, said = _timed(up, environment)
                if "no changes" not in said:
                    raise SystemExit(f"a second `lakebox up` changed something: {said[-500:]}")
                again.append(elapsed)
        finally:
            subprocess.run([LAKEBOX, "down"], env=environment, capture_output=True, check=False)
    return {"first_empty_cache_s": round(empty_cache, 2), "first_warm_cache_s": round(warm_cache, 2),
            "no_change_s": round(statistics.median(again), 2), "no_change_runs_s": [round(t, 2) for t in again]}


def suite_time() -> dict[str, Any]:
    """The README's `pytest`, as a developer runs it from the checkout."""
    environment = {key: value for key, value in os.environ.items() if key != "AWS_ENDPOINT_URL"}
    elapsed, said = _timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], environment)
    summary = next((line for line in reversed(said.splitlines()) if re.search(r"\d+ passed", line)), "")
    return {"wall_s": round(elapsed, 1), "summary": summary.strip("= ")}


# The host's speed at the time of a run: the CPU seconds an interpreter takes to import boto3. A shared machine's
# speed drifts by half and more over a day, and every figure here follows it (0.15 on this machine when quiet).
YARDSTICK = "import boto3"


def yardstick(runs: int = 5) -> float:
    """The median CPU seconds (user plus system) of `python -c YARDSTICK` as a process."""
    spent = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", YARDSTICK], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return round(statistics.median(spent), 3)


def keyboard(runs: int, suite: bool) -> dict[str, Any]:
    figures: dict[str, Any] = {"yardstick_cpu_s": yardstick(), "up": up_times(runs)}
    if suite:
        figures["readme_pytest"] = suite_time()
    figures["yardstick_after_cpu_s"] = yardstick()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--suite", action="store_true", help="also time the README's pytest (a minute or two)")
    args = parser.parse_args()
    print(json.dumps(keyboard(args.runs, args.suite), indent=2))


if __name__ == "__main__":
    main()
