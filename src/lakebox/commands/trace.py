"""`lakebox trace`: one raw file's story, every stage, its outputs and its log lines."""

from __future__ import annotations

from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.exceptions import UsageError
from lakebox.lake.target import Target
from lakebox.trace.render import trace_view
from lakebox.trace.sources import LakeSources
from lakebox.trace.story import gather


def trace(
    reference: Annotated[str, typer.Argument(metavar="KEY|PROCESS_ID",
                                             help="a raw key as stored (input/<dataset>/<name>) or a process id")],
    version: Annotated[str | None, typer.Option(help="the raw object version to trace (default: the latest)")]
    = None,
    json_output: JsonOption = False,
) -> None:
    """One file's story: its versions, every stage as a timeline, its events, outputs, lineage and log lines."""
    found = gather(LakeSources.of(Target.resolve()), reference, version)
    if version is not None and found.raw.version_id != version:
        raise UsageError(f"{reference} is a process id of version {found.raw.version_id}: leave out --version")
    if json_output:
        common.echo_json(found.to_json())
    else:
        common.out.print(trace_view(found))
