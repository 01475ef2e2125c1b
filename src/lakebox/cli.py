"""The `lakebox` command: up, down, ingest, send, status, reconcile, redrive, demo, query, trace, logs, docs.

Only the wiring lives here: each command's options, the call into its module (bringup, files, sending, reconcile, demo,
query), and the choice between JSON and a table (render). Expected failures become one red line and exit code 1.
"""

from __future__ import annotations

import json
import logging
import sys
import webbrowser
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from lakebox import render, render_trace
from lakebox.athena import QUERY_DEADLINE_S
from lakebox.bringup import bring_up, describe
from lakebox.demo import (
    OUTCOMES_DEADLINE_S,
    STREAM_READINGS,
    demo_metrics,
    demo_query,
    next_steps,
    query_curated,
    run_demo,
    stream_demo,
)
from lakebox.docs_site import MAX_FILE_PAGES, build_site
from lakebox.docs_sources import DocsSources
from lakebox.emulator import EmbeddedEmulator
from lakebox.exceptions import UsageError
from lakebox.files import ingest_paths
from lakebox.logs import DEFAULT_SINCE, STAGES, BadDuration, LogLine, LogReader, LogTail, follow, parse_since, since
from lakebox.progress import IngestProgress
from lakebox.query import json_rows, run_query
from lakebox.reconcile import reconcile as reconcile_lake
from lakebox.reconcile import redrive as redrive_lake
from lakebox.render_send import SendWatch, landed_lines, send_json, send_lines
from lakebox.sending import SampleRequest, default_dataset, entries_to_send, send_entries, usage_problem
from lakebox.status import DEFAULT_PAGE_FILES, every_row, page_asked_for
from lakebox.stream_wait import wait_for_landing
from lakebox.target import Target, state_dir
from lakebox.trace import gather
from lakebox.trace_sources import LakeSources
from lakebox.uploads import WAIT_DEADLINE_S
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.records import DEFAULT_DATASET, FileStatus

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="A serverless data lake on your laptop: S3, Lambda, EventBridge, DynamoDB, Glue, CloudWatch.")
# Piped output gets a wide table rather than rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)
T = TypeVar("T")
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
# None means "not given": `up --persist` then restarts on the port its saved state names.
PortOption = Annotated[int | None, typer.Option(
    help="port of the embedded emulator (default 4566, or the saved one with --persist; 0: any free port)")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _say(message: str) -> None:
    # Unwrapped: progress lines name paths and endpoints that should stay whole in a log.
    err.print(message, highlight=False, soft_wrap=True)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="  %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _run(action: Callable[[], T]) -> T:
    """Run a command body, turning expected failures into a clear message and exit code 1."""
    try:
        return action()
    except UsageError as error:
        raise _fail(str(error), code=2) from error
    except (LakeboxError, TimeoutError, FileNotFoundError) as error:
        raise _fail(str(error)) from error
    except (ClientError, BotoCoreError) as error:
        raise _fail(f"AWS call failed: {error}") from error


def _print_json(value: object) -> None:
    out.print_json(json.dumps(value))


def _echo_json(value: object) -> None:
    # What print_json prints, without its highlighting pass: for thousands of status rows that pass takes seconds.
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@app.command()
def up(
    json_output: JsonOption = False,
    port: PortOption = None,
    persist: Annotated[Path | None, typer.Option(
        help="keep the embedded emulator's state (S3 objects included) in this folder across `down` and `up`")] = None,
    strict_iam: Annotated[bool, typer.Option(
        "--strict-iam", help="enforce IAM in the embedded emulator; lakebox then acts as a non-root user")] = False,
) -> None:
    """Start the embedded emulator (unless AWS_ENDPOINT_URL names one), provision, print where everything is."""
    _configure_logging()
    description = _run(lambda: describe(bring_up(port, persist, strict_iam, say=_say)))
    if json_output:
        _print_json(description)
    else:
        out.print(render.description_table(description))


@app.command()
def down() -> None:
    """Stop the embedded emulator that `up` started; nothing else."""
    result = EmbeddedEmulator(state_dir()).stop()
    if result is None:
        out.print("no embedded emulator is running")
    elif not result.stopped:
        out.print(f"forgot the stale record of the embedded emulator (pid {result.state.pid}, port "
                  f"{result.state.port}): {result.reason}; stopped nothing", highlight=False, markup=False)
    else:
        out.print(f"stopped the embedded emulator (pid {result.state.pid}, port {result.state.port})")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to upload")],
    dataset: Annotated[str, typer.Option(help="dataset the files belong to")] = DEFAULT_DATASET,
    wait: Annotated[bool, typer.Option("--wait", help="wait for every file's terminal status")] = False,
    timeout: Annotated[float, typer.Option(
        min=0, help="seconds to wait with --wait; past them, the files still in flight are named and it exits 1")]
    = WAIT_DEADLINE_S,
    json_output: JsonOption = False,
) -> None:
    """Upload files or folders to the raw bucket under input/<dataset>/; with --wait, a live progress bar on a
    terminal."""
    target = Target.resolve()
    # The bar goes to stderr, and only when a person watches: not for --json, not into a pipe or a file.
    progress = IngestProgress(err) if wait and not json_output and out.is_terminal else None

    def upload_and_wait() -> list[dict[str, Any]]:
        # The bar stops before any error is printed, so the error is the last thing on the screen.
        with progress or nullcontext():
            return ingest_paths(target, paths, dataset, wait=wait, deadline_s=timeout,
                                on_progress=progress.update if progress else None)

    results = _run(upload_and_wait)
    if json_output:
        _print_json(results)
        return
    for result in results:
        out.print(f"{result['status']:<12} {result['key']}", highlight=False)
    if wait and any(r["status"] == FileStatus.FAILED.value for r in results):
        raise typer.Exit(1)


@app.command()
def send(
    file: Annotated[Path | None, typer.Argument(metavar="FILE|-", help="JSON Lines file; - or none: stdin")] = None,
    dataset: Annotated[str | None, typer.Option(help="dataset (default: default; --sample: the sample's)")] = None,
    rate: Annotated[float | None, typer.Option(help="records a second at most (default: unpaced)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="wait for the raw files and their terminal status")] = False,
    timeout: Annotated[float, typer.Option(
        min=0, help="seconds to wait with --wait; then what is still awaited is named, exit 1")] = WAIT_DEADLINE_S,
    json_output: JsonOption = False,
    sample: Annotated[str | None, typer.Option(help="send a generated sample instead of FILE: sensors")] = None,
    count: Annotated[int | None, typer.Option(min=0, help="readings in the sample")] = None,
    seed: Annotated[int | None, typer.Option(help="the sample's random seed (default 0)")] = None,
    invalid_every: Annotated[int | None, typer.Option(min=0, help="every K-th reading breaks the contract")] = None,
    poison_every: Annotated[int | None, typer.Option(min=0, help="a poison line after every P-th reading")] = None,
) -> None:
    """Put JSON Lines records (a file, stdin or --sample sensors) to the ingest stream; with --wait, the raw files
    they land in, each file's terminal status and the poison records set aside."""
    request = SampleRequest(sample, count, seed, invalid_every, poison_every)
    if (problem := usage_problem(file, request, rate)) is not None:
        raise _fail(problem, code=2)
    name = dataset or default_dataset(request)
    entries, held = _run(lambda: entries_to_send(file, request, name, sys.stdin))
    target = Target.resolve()
    watch = SendWatch(err if not json_output and out.is_terminal else None)
    sent = _run(lambda: watch.records(lambda shown: send_entries(target, entries, name, rate=rate, sample=held,
                                                                 on_progress=shown)))
    if not json_output:
        out.print("\n".join(send_lines(sent)), highlight=False, markup=False, soft_wrap=True)
    landed = _run(lambda: watch.files(lambda shown: wait_for_landing(target, sent, deadline_s=timeout,
                                                                     on_progress=shown))) if wait else None
    if json_output:
        _echo_json(send_json(sent, landed))
    elif landed is not None:
        out.print("\n".join(landed_lines(landed)), highlight=False, markup=False, soft_wrap=True)
    if not sent.report.ok or (landed is not None and landed.failed):
        raise typer.Exit(1)


@app.command()
def status(
    json_output: JsonOption = False,
    limit: Annotated[int | None, typer.Option(
        min=1, help=f"files per page (default {DEFAULT_PAGE_FILES}); with --json, print one page")] = None,
    page_token: Annotated[str | None, typer.Option(help="show the page this token names (printed with each page)")]
    = None,
    next_page: Annotated[bool, typer.Option("--next", help="show the page after the one shown last")] = False,
    every: Annotated[bool, typer.Option("--all", help="every file at once")] = False,
) -> None:
    """One row per raw file, in key order, a page at a time: status, quality score, errors, destination, process id.
    --json alone prints every file."""
    if every and (limit is not None or page_token is not None or next_page):
        raise _fail("--all shows every file: leave out --limit, --page-token and --next", code=2)
    if page_token is not None and next_page:
        raise _fail("choose one of --page-token and --next", code=2)
    target = Target.resolve()
    if every or (json_output and limit is None and page_token is None and not next_page):
        rows = _run(lambda: every_row(target.metadata, target.project))
        if json_output:
            _echo_json([row.to_json() for row in rows])
        else:
            out.print(render.outcomes_table(rows) if rows else f"no files yet at {target.where}")
        return
    page = _run(lambda: page_asked_for(target.metadata, target.where, target.project, state_dir(), limit, page_token,
                                       next_page))
    if json_output:
        _echo_json(page.to_json())
    elif not page.rows and page.first == 1:
        out.print(f"no files yet at {target.where}")
    else:
        if page.rows:
            out.print(render.outcomes_table(page.rows))
        # Unwrapped: the token on it must stay whole to be copied.
        out.print(render.page_line(page), highlight=False, soft_wrap=True)


@app.command()
def reconcile(json_output: JsonOption = False) -> None:
    """List raw files not yet through every stage, and outcomes whose raw file is gone."""
    target = Target.resolve()
    found = _run(lambda: reconcile_lake(target))
    if json_output:
        _print_json(found.to_json())
        return
    for line in render.reconciliation_lines(found, target.where):
        out.print(line, highlight=False)


@app.command()
def redrive(json_output: JsonOption = False) -> None:
    """Resubmit every raw file not yet through every stage, and drain the dead-letter queue."""
    target = Target.resolve()
    done = _run(lambda: redrive_lake(target))
    if json_output:
        _print_json(done.to_json())
    else:
        out.print(render.redrive_line(done))


@app.command()
def demo(
    port: PortOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the outcomes")] = OUTCOMES_DEADLINE_S,
) -> None:
    """Bring the pipeline up, ingest sample_data/, wait, show outcomes and quality metrics, query the curated
    orders, then stream sensor readings and show where they ended."""
    _configure_logging()
    target = _run(lambda: bring_up(port, say=_say))
    result = _run(lambda: run_demo(target, deadline_s=timeout, say=_say))
    out.print(render.outcomes_table(result.rows, result.expected))
    out.print(f"{len(result.rows)} files reached a terminal status in {result.elapsed_s:.1f} s")
    _say("reading the quality metrics back from CloudWatch")
    out.print(render.metrics_table(_run(lambda: demo_metrics(target, result))))
    if result.unexpected:
        raise _fail(f"{len(result.unexpected)} sample file(s) ended in an unexpected state: "
                    f"{', '.join(result.unexpected)}")
    out.print("[green]every sample file ended where sample_data/README.md says it should[/]")
    _say("querying the curated orders through Athena")
    out.print(f"$ lakebox query \"{demo_query(result)}\"")
    out.print(render.query_table(_run(lambda: query_curated(target, result))))
    _say(f"streaming {STREAM_READINGS} sensor readings to {target.names.ingest_stream} (lakebox send --sample sensors)")
    streamed = _run(lambda: stream_demo(target, deadline_s=timeout))
    out.print("\n".join([streamed.summary(), *landed_lines(streamed.landed)]), highlight=False, markup=False)
    if streamed.unexpected:
        raise _fail(f"the streamed readings did not end as sent: {'; '.join(streamed.unexpected)}")
    for line in next_steps(result):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="the SQL; tables are the Glue tables of the project's database")],
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="print CSV with a header instead of a table")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the query")] = QUERY_DEADLINE_S,
) -> None:
    """Run SQL over the curated data through Athena (DuckDB behind it on the embedded emulator)."""
    if json_output and csv_output:
        raise _fail("choose one of --json and --csv", code=2)
    target = Target.resolve()
    result = _run(lambda: run_query(target, sql, deadline_s=timeout))
    if json_output:
        _print_json(json_rows(result))
    elif csv_output:
        typer.echo(render.query_csv(result), nl=False)
    else:
        out.print(render.query_table(result))


@app.command()
def trace(
    reference: Annotated[str, typer.Argument(metavar="KEY|PROCESS_ID",
                                             help="a raw key as stored (input/<dataset>/<name>) or a process id")],
    version: Annotated[str | None, typer.Option(help="the raw object version to trace (default: the latest)")]
    = None,
    json_output: JsonOption = False,
) -> None:
    """One file's story: its versions, every stage as a timeline, its events, outputs, lineage and log lines."""
    target = Target.resolve()
    found = _run(lambda: gather(LakeSources.of(target), reference, version))
    if version is not None and found.raw.version_id != version:
        raise _fail(f"{reference} is a process id of version {found.raw.version_id}: leave out --version", code=2)
    if json_output:
        _echo_json(found.to_json())
    else:
        out.print(render_trace.trace_view(found))


@app.command()
def logs(
    stage: Annotated[str | None, typer.Option(help=f"one stage only: {', '.join(STAGES)}")] = None,
    since_: Annotated[str, typer.Option("--since", help="how far back: 30s, 10m, 2h, 1d")] = DEFAULT_SINCE,
    follow_: Annotated[bool, typer.Option("--follow", help="keep showing new lines until Ctrl-C")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The functions' JSON logs, every stage merged in time order (platform lines START/END/REPORT skipped)."""
    if stage is not None and stage not in STAGES:
        raise _fail(f"no stage {stage!r}: choose one of {', '.join(STAGES)}", code=2)
    try:
        start = since(parse_since(since_))
    except BadDuration as error:
        raise _fail(str(error), code=2) from error
    target = Target.resolve()
    stages = [stage] if stage else list(STAGES)
    reader = LogReader.of_functions(target.logs, target.names.function, stages)

    def show(line: LogLine) -> None:
        if json_output:
            typer.echo(json.dumps(line.to_json(), ensure_ascii=False))
        else:
            out.print(render_trace.log_text(line), highlight=False, soft_wrap=True)

    if not follow_:
        for line in _run(lambda: reader.read(start)):
            show(line)
        return
    try:
        _run(lambda: follow(LogTail(reader, start), show))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def docs(
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="folder to write the site to (default: docs/ in the state folder, .lakebox/docs)")] = None,
    open_: Annotated[bool, typer.Option("--open", help="open the index in a web browser when built")] = False,
    max_file_pages: Annotated[int, typer.Option(min=0, help="latest files per dataset with a page of their own")]
    = MAX_FILE_PAGES,
) -> None:
    """A static data-docs site: datasets, their contracts, quality over time, quarantines, a page per file."""
    target = Target.resolve()
    where = (out_dir or state_dir() / "docs").resolve()
    built = _run(lambda: build_site(DocsSources(target), where, target.where, max_file_pages=max_file_pages))
    out.print(f"wrote {built.pages} pages ({built.dataset_pages} datasets, {built.file_pages} files) to {where}",
              highlight=False, soft_wrap=True)
    out.print(f"open {built.index.as_uri()}", highlight=False, soft_wrap=True)
    if open_:
        webbrowser.open(built.index.as_uri())


def main() -> None:
    """The console script's entry point."""
    app()


if __name__ == "__main__":
    main()
