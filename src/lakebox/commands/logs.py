"""`lakebox logs`: the functions' JSON log lines, every stage merged in time order, or followed as they come."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.exceptions import UsageError
from lakebox.lake.target import Target
from lakebox.trace.logs import DEFAULT_SINCE, STAGES, LogLine, LogReader, LogTail, follow, parse_since, since
from lakebox.trace.render import log_text


def logs(
    stage: Annotated[str | None, typer.Option(help=f"one stage only: {', '.join(STAGES)}")] = None,
    since_: Annotated[str, typer.Option("--since", help="how far back: 30s, 10m, 2h, 1d")] = DEFAULT_SINCE,
    follow_: Annotated[bool, typer.Option("--follow", help="keep showing new lines until Ctrl-C")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The functions' JSON logs, every stage merged in time order (platform lines START/END/REPORT skipped)."""
    if stage is not None and stage not in STAGES:
        raise UsageError(f"no stage {stage!r}: choose one of {', '.join(STAGES)}")
    start = since(parse_since(since_))
    target = Target.resolve()
    reader = LogReader.of_functions(target.logs, target.names.function, [stage] if stage else list(STAGES))

    def show(line: LogLine) -> None:
        if json_output:
            typer.echo(json.dumps(line.to_json(), ensure_ascii=False))
        else:
            common.out.print(log_text(line), highlight=False, soft_wrap=True)

    if not follow_:
        for line in reader.read(start):
            show(line)
        return
    try:
        follow(LogTail(reader, start), show)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
