"""`lakebox query`: SQL over the curated data through Athena (DuckDB behind it on the embedded emulator); with
`--reveal`, its protected values in plain for the steward."""

from __future__ import annotations

from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.exceptions import UsageError
from lakebox.lake.athena import QUERY_DEADLINE_S, run_query
from lakebox.lake.render import json_rows, query_csv, query_table
from lakebox.lake.reveal import refuse_outside_production, reveal
from lakebox.lake.target import Target
from lakebox_layer.adapters.keys import PersonalDataKeys


def query(
    sql: Annotated[str, typer.Argument(help="the SQL; tables are the Glue tables of the project's database")],
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="print CSV with a header instead of a table")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the query")] = QUERY_DEADLINE_S,
    show_plain: Annotated[bool, typer.Option(
        "--reveal", help="decrypt the result's protected values (the steward only, production lakes only)")] = False,
) -> None:
    """Run SQL over the curated data through Athena (DuckDB behind it on the embedded emulator)."""
    if json_output and csv_output:
        raise UsageError("choose one of --json and --csv")
    target = Target.resolve()
    if show_plain:
        refuse_outside_production(target.metadata)  # before the query: a masked lake has nothing to reveal
    result = run_query(target, sql, deadline_s=timeout)
    if show_plain:
        settings = target.settings
        keys = PersonalDataKeys(target.clients.kms, settings.pii_key_alias, settings.pii_token_key_alias)
        revealed = reveal(result, target.metadata, keys, target.names.steward)
        result = revealed.result
        common.say(f"revealed {revealed.values} protected values of {', '.join(revealed.columns)}"
                   if revealed.values else "--reveal: the result holds no protected values")
    if json_output:
        common.print_json(json_rows(result))
    elif csv_output:
        typer.echo(query_csv(result), nl=False)
    else:
        common.out.print(query_table(result))
