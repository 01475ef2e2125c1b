"""The `lakebox` command: up, down, ingest, status, demo."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from lakebox.emulator import DEFAULT_PORT, EmbeddedEmulator, healthy
from lakebox.metrics import QualityFigures
from lakebox.reconcile import reconcile as reconcile_lake
from lakebox.reconcile import redrive as redrive_lake
from lakebox.status import FileRow, fold_status
from lakebox.target import Target, default_region, state_dir
from lakebox.uploads import files_to_upload, upload, wait_for_metrics, wait_for_outcomes
from lakebox_infra import PROJECT_ROOT
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.metrics import AVERAGE_SCORE, NAMESPACE, PROCESSED_RECORDS, SUCCESS_RATE
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.records import DEFAULT_DATASET, FileStatus

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="A serverless data lake on your laptop: S3, Lambda, EventBridge, DynamoDB, Glue, CloudWatch.")
# Piped output gets a wide table rather than rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
SAMPLE_DATA = PROJECT_ROOT / "sample_data"
EXPECTED_OUTCOMES = SAMPLE_DATA / "expected.json"
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="  %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _bring_up(port: int | None, persist: Path | None = None, strict_iam: bool = False) -> Target:
    """Make sure an emulator answers, provision, and return the target."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    region = default_region()
    if endpoint:
        if not healthy(endpoint):
            raise _fail(f"nothing answers at AWS_ENDPOINT_URL={endpoint}; start your emulator or unset it")
        err.print(f"using the emulator at {endpoint} (AWS_ENDPOINT_URL)")
    else:
        emulator = EmbeddedEmulator(state_dir())
        state, started = emulator.start(port=port, region=region, persist_dir=persist, strict_iam=strict_iam)
        endpoint, region = state.endpoint, state.region
        verb = "started" if started else "reusing"
        err.print(f"{verb} the embedded emulator (MiniStack) at {endpoint}, pid {state.pid}, log {state.log_file}")
    target = Target.at(endpoint, region)
    err.print(f"provisioning {target.project} at {endpoint}")
    provisioner = Provisioner(Topology(target.names), target.session, endpoint)
    report = provisioner.apply()
    err.print(f"  {report.summary()}")
    if strict_iam and not os.environ.get("AWS_ENDPOINT_URL"):
        EmbeddedEmulator(state_dir()).record_operator(provisioner.operator_credentials())
        err.print(f"  IAM is enforced: lakebox acts as the user {target.names.operator}")
    return target


def _describe(target: Target) -> dict[str, Any]:
    names = target.names
    return {
        "endpoint": target.endpoint,
        "region": target.region,
        "project": target.project,
        "raw_bucket": names.raw_bucket,
        "processed_bucket": names.processed_bucket,
        "quarantine_bucket": names.quarantine_bucket,
        "metadata_table": names.metadata_table,
        "event_bus": names.event_bus,
        "functions": [names.function(stage) for stage in ("ingestion", "validation", "quality")],
        "layer": names.layer,
        "glue_database": names.glue_database,
        "quality_events_queue": names.quality_events_queue,
        "dead_letter_queue": names.dead_letter_queue,
    }


def _run(action: Any) -> Any:
    """Run a command body, turning expected failures into a clear message and exit code 1."""
    try:
        return action()
    except (LakeboxError, TimeoutError, FileNotFoundError) as error:
        raise _fail(str(error)) from error
    except (ClientError, BotoCoreError) as error:
        raise _fail(f"AWS call failed: {error}") from error


@app.command()
def up(
    json_output: JsonOption = False,
    port: Annotated[int, typer.Option(help="port of the embedded emulator (0: any free port)")] = DEFAULT_PORT,
    persist: Annotated[Path | None, typer.Option(
        help="keep the embedded emulator's state (S3 objects included) in this folder across `down` and `up`")] = None,
    strict_iam: Annotated[bool, typer.Option(
        "--strict-iam", help="enforce IAM in the embedded emulator; lakebox then acts as a non-root user")] = False,
) -> None:
    """Start the embedded emulator (unless AWS_ENDPOINT_URL names one), provision, print where everything is."""
    _configure_logging()
    target = _run(lambda: _bring_up(port or None, persist, strict_iam))
    description = _describe(target)
    if json_output:
        out.print_json(json.dumps(description))
        return
    table = Table(show_header=False, box=None)
    for name, value in description.items():
        table.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    out.print(table)


@app.command()
def down() -> None:
    """Stop the embedded emulator that `up` started; nothing else."""
    stopped = EmbeddedEmulator(state_dir()).stop()
    if stopped is None:
        out.print("no embedded emulator is running")
    else:
        out.print(f"stopped the embedded emulator (pid {stopped.pid}, port {stopped.port})")


def _rows_table(rows: list[FileRow], expected: dict[str, str] | None = None) -> Table:
    table = Table(title="outcomes")
    for column in ("file", "status", "score", "records", "reason"):
        table.add_column(column)
    if expected is not None:
        table.add_column("expected")
    colours = {FileStatus.PROCESSED: "green", FileStatus.QUARANTINED: "yellow", FileStatus.FAILED: "red",
               FileStatus.IN_PROGRESS: "cyan"}
    for row in rows:
        score = "" if row.quality_score is None else f"{row.quality_score:.1f}"
        records = "" if row.records_total is None else f"{row.records_valid}/{row.records_total}"
        reason = row.errors[0] if row.errors else ""
        if len(row.errors) > 1:
            reason += f" (+{len(row.errors) - 1} more)"
        cells = [row.key, f"[{colours[row.status]}]{row.status.value}[/]", score, records, reason]
        if expected is not None:
            wanted = expected.get(row.key, "?")
            mark = "[green]yes[/]" if wanted == row.status.value else f"[red]no: {wanted}[/]"
            cells.append(mark)
        table.add_row(*cells)
    return table


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to upload")],
    dataset: Annotated[str, typer.Option(help="dataset the files belong to")] = DEFAULT_DATASET,
    wait: Annotated[bool, typer.Option("--wait", help="wait for every file's terminal status")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait with --wait")] = 120.0,
    json_output: JsonOption = False,
) -> None:
    """Upload files or folders to the raw bucket under input/<dataset>/."""
    target = Target.resolve()

    def body() -> list[dict[str, Any]]:
        uploads = upload(target, files_to_upload(paths), dataset)
        if not wait:
            return [{"key": u.raw.key, "process_id": u.raw.process_id, "status": "uploaded"} for u in uploads]
        rows = wait_for_outcomes(target, uploads, deadline_s=timeout)
        return [rows[u.raw.process_id].to_json() for u in uploads]

    results = _run(body)
    if json_output:
        out.print_json(json.dumps(results))
        return
    for result in results:
        out.print(f"{result['status']:<12} {result['key']}", highlight=False)
    if wait and any(r["status"] == FileStatus.FAILED.value for r in results):
        raise typer.Exit(1)


@app.command()
def status(json_output: JsonOption = False) -> None:
    """One row per raw file: status, quality score, errors, destination, process id."""
    target = Target.resolve()
    rows = _run(lambda: fold_status(target.metadata.file_records(target.settings.project)))
    if json_output:
        out.print_json(json.dumps([row.to_json() for row in rows]))
        return
    if not rows:
        out.print(f"no files yet at {target.where}")
        return
    out.print(_rows_table(rows))


@app.command()
def reconcile(json_output: JsonOption = False) -> None:
    """List raw files without a terminal outcome, and outcomes whose raw file is gone."""
    target = Target.resolve()
    found = _run(lambda: reconcile_lake(target))
    if json_output:
        out.print_json(json.dumps(found.to_json()))
        return
    out.print(f"{found.raw_objects} raw object versions at {target.where}: {len(found.unfinished)} without a "
              f"terminal outcome, {len(found.orphaned)} outcomes without a raw object")
    for unfinished in found.unfinished:
        out.print(f"  unfinished  {unfinished.status:<13} {unfinished.key}", highlight=False)
    for orphan in found.orphaned:
        out.print(f"  orphaned    {orphan.status:<13} {orphan.key}", highlight=False)


@app.command()
def redrive(json_output: JsonOption = False) -> None:
    """Resubmit every raw file without a terminal outcome, and drain the dead-letter queue."""
    target = Target.resolve()
    done = _run(lambda: redrive_lake(target))
    if json_output:
        out.print_json(json.dumps(done.to_json()))
        return
    out.print(f"resubmitted {len(done.resubmitted)} raw files; redrove {done.dead_letters_redriven} dead letters"
              + (f"; {len(done.dead_letters_left)} left in the queue (not ours to replay)"
                 if done.dead_letters_left else ""))


def _metrics_table(figures: QualityFigures) -> Table:
    table = Table(title=f"quality metrics of this run ({NAMESPACE})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value, unit in ((SUCCESS_RATE, figures.success_rate, " %"),
                              (AVERAGE_SCORE, figures.average_score, ""),
                              (PROCESSED_RECORDS, figures.records, "")):
        table.add_row(name, "no datapoints" if value is None else f"{value:.1f}{unit}")
    return table


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="port of the embedded emulator (0: any free port)")] = DEFAULT_PORT,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the outcomes")] = 180.0,
) -> None:
    """Bring the pipeline up, ingest sample_data/, wait, and show outcomes and quality metrics."""
    _configure_logging()
    expected_by_name: dict[str, str] = json.loads(EXPECTED_OUTCOMES.read_text())["files"]
    target = _run(lambda: _bring_up(port or None))
    files = [(SAMPLE_DATA / name, name) for name in sorted(expected_by_name)]
    started_at = datetime.now(UTC)
    started = time.monotonic()
    uploads = _run(lambda: upload(target, files, DEFAULT_DATASET))
    err.print(f"uploaded {len(uploads)} sample files; waiting for their outcomes")
    by_process = _run(lambda: wait_for_outcomes(target, uploads, deadline_s=timeout))
    elapsed = time.monotonic() - started
    expected = {u.raw.key: expected_by_name[u.path.relative_to(SAMPLE_DATA).as_posix()] for u in uploads}
    rows = sorted(by_process.values(), key=lambda row: row.key)
    out.print(_rows_table(rows, expected))
    out.print(f"{len(rows)} files reached a terminal status in {elapsed:.1f} s")
    out.print(_metrics_table(_run(lambda: wait_for_metrics(target, started_at, len(uploads)))))
    wrong = [row.key for row in rows if row.status.value != expected[row.key]]
    if wrong:
        raise _fail(f"{len(wrong)} sample file(s) ended in an unexpected state: {', '.join(wrong)}")
    out.print("[green]every sample file ended where sample_data/README.md says it should[/]")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
