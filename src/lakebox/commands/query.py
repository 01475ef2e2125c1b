"""`lakebox query`: SQL over the curated data through Athena (DuckDB behind it on the embedded emulator)."""

from __future__ import annotations

from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.exceptions import UsageError
from lakebox.lake.athena import QUERY_DEADLINE_S, run_query
from lakebox.lake.render import json_rows, query_csv, query_table
from lakebox.lake.target import Target


def query(
    sql: Annotated[str, typer.Argument(help="the SQL; tables are the Glue tables of the project's database")],
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="print CSV with a header instead of a table")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the query")] = QUERY_DEADLINE_S,
) -> None:
    """Run SQL over the curated data through Athena (DuckDB behind it on the embedded emulator)."""
    if json_output and csv_output:
        raise UsageError("choose one of --json and --csv")
    result = run_query(Target.resolve(), sql, deadline_s=timeout)
    if json_output:
        common.print_json(json_rows(result))
    elif csv_output:
        typer.echo(query_csv(result), nl=False)
    else:
        common.out.print(query_table(result))
