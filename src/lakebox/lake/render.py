"""How the commands show their results on a terminal: rich tables and one-line summaries, no AWS calls."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from lakebox.lake.athena import QueryResult
from lakebox.lake.metrics import QualityFigures
from lakebox.lake.pages import StatusPage
from lakebox_layer.adapters.metrics import AVERAGE_SCORE, NAMESPACE, PROCESSED_RECORDS, SUCCESS_RATE
from lakebox_layer.records import FileStatus
from lakebox_layer.status import FileRow

INTEGER_TYPES = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
FLOAT_TYPES = frozenset({"float", "real", "double"})
_COLOURS = {FileStatus.PROCESSED: "green", FileStatus.QUARANTINED: "yellow", FileStatus.FAILED: "red",
            FileStatus.IN_PROGRESS: "cyan"}


def description_table(description: Mapping[str, Any]) -> Table:
    """`lakebox up`: one line per name, lists joined by commas."""
    table = Table(show_header=False, box=None)
    for name, value in description.items():
        table.add_row(name, ", ".join(value) if isinstance(value, list) else str(value))
    return table


def outcomes_table(rows: list[FileRow], expected: Mapping[str, str] | None = None,
                   held: Mapping[str, str] | None = None) -> Table:
    """One row per file: status, score, valid/total records, first reason; with `expected`, whether each status
    is the expected one; with `held` (by process id) and any file in it, why each waits for a held stage."""
    table = Table(title="outcomes")
    for column in ("file", "status", "score", "records", "reason"):
        table.add_column(column)
    if expected is not None:
        table.add_column("expected")
    if held:
        table.add_column("waits on")
    for row in rows:
        score = "" if row.quality_score is None else f"{row.quality_score:.1f}"
        records = "" if row.records_total is None else f"{row.records_valid}/{row.records_total}"
        reason = row.errors[0] if row.errors else ""
        if len(row.errors) > 1:
            reason += f" (+{len(row.errors) - 1} more)"
        cells: list[str | Text] = [row.key, f"[{_COLOURS[row.status]}]{row.status.value}[/]", score, records, reason]
        if expected is not None:
            wanted = expected.get(row.key, "?")
            cells.append("[green]yes[/]" if wanted == row.status.value else f"[red]no: {wanted}[/]")
        if held:
            cells.append(Text(held.get(row.process_id, ""), style="yellow"))
        table.add_row(*cells)
    return table


def page_line(page: StatusPage) -> str:
    """`lakebox status`: which files the page shows, and how to see the next page (or that there is none)."""
    if not page.rows:
        return f"no files after the first {page.first - 1}"
    shown = f"files {page.first}-{page.last} in key order"
    if page.next_token is None:
        return f"{shown}: the last page" if page.first > 1 else f"{shown}: all of them"
    return (f"{shown}; next page: lakebox status --next (or --page-token {page.next_token}); "
            "every file: lakebox status --all")


def metrics_table(figures: QualityFigures) -> Table:
    """The quality metrics CloudWatch aggregated over a run."""
    table = Table(title=f"quality metrics of this run ({NAMESPACE})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value, unit in ((SUCCESS_RATE, figures.success_rate, " %"),
                              (AVERAGE_SCORE, figures.average_score, ""),
                              (PROCESSED_RECORDS, figures.records, "")):
        table.add_row(name, "no datapoints" if value is None else f"{value:.1f}{unit}")
    return table


def query_table(result: QueryResult) -> Table:
    """`lakebox query`: the rows under their column names; SQL NULL shown as a dim `NULL`."""
    table = Table(caption=f"{len(result.rows)} row{'' if len(result.rows) == 1 else 's'}")
    for column in result.columns:
        table.add_column(column, overflow="fold")
    for row in result.rows:
        table.add_row(*(Text("NULL", style="dim") if value is None else Text(value) for value in row))
    return table


def query_csv(result: QueryResult) -> str:
    """`lakebox query --csv`: a header, then one line per row; SQL NULL as an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows([["" if value is None else value for value in row] for row in result.rows])
    return buffer.getvalue()


def json_value(text: str | None, column_type: str) -> Any:
    """One value as JSON shows it: integers, floats and booleans typed; decimals and everything else as text."""
    if text is None:
        return None
    kind = column_type.lower().split("(")[0].strip()
    try:
        if kind in INTEGER_TYPES:
            return int(text)
        if kind in FLOAT_TYPES:
            number = float(text)
            return number if number == number and abs(number) != float("inf") else text  # JSON has no NaN, inf
    except ValueError:
        return text
    if kind == "boolean" and text.lower() in {"true", "false"}:
        return text.lower() == "true"
    return text  # decimals too: exact as the engine wrote them


def json_rows(result: QueryResult) -> list[dict[str, Any]]:
    """One object per row, keyed by column name."""
    typed = list(zip(result.columns, result.types, strict=True))
    return [{column: json_value(value, kind) for (column, kind), value in zip(typed, row, strict=True)}
            for row in result.rows]
