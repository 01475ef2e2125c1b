"""`lakebox status`: one row per raw file (its latest version), in key order, a page at a time."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.exceptions import UsageError
from lakebox.health.model import TargetCircuits, held_files
from lakebox.lake.pages import DEFAULT_PAGE_FILES, every_row, page_asked_for
from lakebox.lake.target import Target, state_dir
from lakebox_layer.status import status_json


def status(
    json_output: JsonOption = False,
    limit: Annotated[int | None, typer.Option(
        min=1, help=f"files per page (default {DEFAULT_PAGE_FILES}); with --json, print one page")] = None,
    page_token: Annotated[str | None, typer.Option(help="show the page this token names (printed with each page)")]
    = None,
    next_page: Annotated[bool, typer.Option("--next", help="show the page after the one shown last")] = False,
    every: Annotated[bool, typer.Option("--all", help="every file at once")] = False,
) -> None:
    """One row per raw file, in key order, a page at a time: status, quality score, errors, destination, process id,
    and why a file waits when the stage it waits for is paused. --json alone prints every file."""
    if every and (limit is not None or page_token is not None or next_page):
        raise UsageError("--all shows every file: leave out --limit, --page-token and --next")
    if page_token is not None and next_page:
        raise UsageError("choose one of --page-token and --next")
    target = Target.resolve()
    circuits = TargetCircuits(target)
    if every or (json_output and limit is None and page_token is None and not next_page):
        rows = every_row(target.metadata, target.project)
        held = held_files(circuits, rows, time.time())
        if json_output:
            common.echo_json([status_json(row, held) for row in rows])
        else:
            from lakebox.lake.render import outcomes_table  # --json draws no table: rich's tables not imported

            common.out.print(outcomes_table(rows, held=held) if rows else f"no files yet at {target.where}")
        return
    page = page_asked_for(target.metadata, target.where, target.project, state_dir(), limit, page_token, next_page)
    held = held_files(circuits, page.rows, time.time())
    if json_output:
        common.echo_json(page.to_json(held))
    elif not page.rows and page.first == 1:
        common.out.print(f"no files yet at {target.where}")
    else:
        from lakebox.lake.render import outcomes_table, page_line

        if page.rows:
            common.out.print(outcomes_table(page.rows, held=held))
        # Unwrapped: the token on it must stay whole to be copied.
        common.out.print(page_line(page), highlight=False, soft_wrap=True)
