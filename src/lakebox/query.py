"""`lakebox query`'s work: run SQL through Athena in the project's workgroup over its Glue database, and shape the
rows for JSON (numbers and booleans as JSON values, by the engine's column types)."""

from __future__ import annotations

from typing import Any

from lakebox.athena import QUERY_DEADLINE_S, AthenaQueries, QueryResult
from lakebox.target import Target

INTEGER_TYPES = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
FLOAT_TYPES = frozenset({"float", "real", "double"})


def run_query(target: Target, sql: str, deadline_s: float = QUERY_DEADLINE_S) -> QueryResult:
    """Run `sql` in the target's workgroup, with the project's Glue database as the default schema."""
    athena = target.clients.client("athena")
    names = target.names
    return AthenaQueries(athena, names.athena_workgroup, names.glue_database).run(sql, deadline_s)


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
