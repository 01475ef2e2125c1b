"""`lakebox send`: JSON records (a JSON Lines file, stdin or a generated sample) to the ingest stream; with --wait,
the raw files they landed in and each file's terminal status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.exceptions import UsageError
from lakebox.ingest.outcomes import WAIT_DEADLINE_S
from lakebox.lake.target import Target
from lakebox.send.entries import SampleRequest, default_dataset, entries_to_send, send_entries, usage_problem
from lakebox.send.landing import wait_for_landing
from lakebox.send.render import SendWatch, landed_lines, send_json, send_lines


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
        raise UsageError(problem)
    name = dataset or default_dataset(request)
    entries, held = entries_to_send(file, request, name, sys.stdin)
    target = Target.resolve()
    watch = SendWatch(common.err if not json_output and common.out.is_terminal else None)
    sent = watch.records(lambda shown: send_entries(target, entries, name, rate=rate, sample=held,
                                                    on_progress=shown))
    if not json_output:
        common.out.print("\n".join(send_lines(sent)), highlight=False, markup=False, soft_wrap=True)
    landed = watch.files(lambda shown: wait_for_landing(target, sent, deadline_s=timeout,
                                                        on_progress=shown)) if wait else None
    if json_output:
        common.echo_json(send_json(sent, landed))
    elif landed is not None:
        common.out.print("\n".join(landed_lines(landed)), highlight=False, markup=False, soft_wrap=True)
    if not sent.report.ok or (landed is not None and landed.failed):
        raise typer.Exit(1)
