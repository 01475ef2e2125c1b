"""The Athena calls of `lakebox query`: start a query in the project's workgroup, with its Glue database as the
default schema, wait for it with a deadline, and page through its results. Results are read through the API only: an
emulator may store the result file somewhere other than where it reports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_layer.exceptions import LakeboxError

QUERY_DEADLINE_S = 120.0
POLL_INTERVAL_S = 0.2
FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class QueryFailed(LakeboxError):
    """The engine refused or failed the query; the message is the engine's reason."""


@dataclass(frozen=True)
class QueryResult:
    """A finished query's columns (names and engine types) and rows, every value as text or None (SQL NULL)."""

    query_id: str
    columns: list[str]
    types: list[str]
    rows: list[list[str | None]]


class AthenaQueries:
    """Runs SQL in one workgroup against one Glue database through a ready Athena client."""

    def __init__(self, athena: Any, workgroup: str, database: str, interval_s: float = POLL_INTERVAL_S) -> None:
        self._athena = athena
        self.workgroup = workgroup
        self.database = database
        self.interval_s = interval_s

    def run(self, sql: str, deadline_s: float = QUERY_DEADLINE_S) -> QueryResult:
        """Start `sql`, wait until it finishes, and return its results; raise :class:`QueryFailed` with the engine's
        reason when it fails, TimeoutError (after stopping it) when it outlasts the deadline."""
        query_id = self._athena.start_query_execution(
            QueryString=sql, WorkGroup=self.workgroup, QueryExecutionContext={"Database": self.database},
        )["QueryExecutionId"]
        status = self._wait(query_id, deadline_s)
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason") or f"the query ended {status['State']}"
            raise QueryFailed(f"query {status['State'].lower()}: {reason}")
        return self._results(query_id)

    def _wait(self, query_id: str, deadline_s: float) -> dict[str, Any]:
        status: dict[str, Any] = {}

        def finished() -> bool:
            nonlocal status
            status = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            return status["State"] in FINISHED

        try:
            wait_until(finished, deadline_s=deadline_s, interval_s=self.interval_s,
                       what=f"query {query_id} in workgroup {self.workgroup}",
                       on_timeout=lambda: f"; it is still {status.get('State', 'unknown')} (stopped it)")
        except TimeoutError:
            self._athena.stop_query_execution(QueryExecutionId=query_id)
            raise
        return status

    def _results(self, query_id: str) -> QueryResult:
        columns: list[str] = []
        types: list[str] = []
        rows: list[list[str | None]] = []
        pages = self._athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id)
        for number, page in enumerate(pages):
            result_set = page["ResultSet"]
            page_rows = [[datum.get("VarCharValue") for datum in row.get("Data", [])]
                         for row in result_set.get("Rows", [])]
            if number == 0:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [column["Name"] for column in info]
                types = [column.get("Type", "varchar") for column in info]
                # The first row of the first page is the header (a SELECT's column names), not data.
                if page_rows and columns and page_rows[0] == columns:
                    page_rows = page_rows[1:]
            rows.extend(page_rows)
        return QueryResult(query_id, columns, types, rows)


def run_query(target: Target, sql: str, deadline_s: float = QUERY_DEADLINE_S) -> QueryResult:
    """Run `sql` in the target's workgroup, with the project's Glue database as the default schema."""
    athena = target.clients.client("athena")
    names = target.names
    return AthenaQueries(athena, names.athena_workgroup, names.glue_database).run(sql, deadline_s)
